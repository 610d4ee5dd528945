//! Retargeting a driver's expression onto the target's face (issue 7, the book's first limit):
//! landmarks are compared in a canonical frame, similarity-normalised on the points that do
//! not move with expression (eye corners, nose bridge), so where the driver sits, how far from
//! the camera and how their head is tilted in the picture no longer matter. The driver's
//! offset from their own neutral shape is added to the target's neutral shape, scaled by a
//! gain, and drawn back at the target's framing.

use serde::{Deserialize, Serialize};

use crate::face::{Landmarks, Point, Similarity, LANDMARK_COUNT, TEMPLATE};

/// The landmarks that stay put when the face moves its features: the nose bridge (27–30) and
/// the inner and outer eye corners (36, 39, 42, 45).
pub const STABLE: [usize; 8] = [27, 28, 29, 30, 36, 39, 42, 45];

/// Where the stable points sit in the canonical frame: the mean-face template's positions
/// (the template starts at landmark 17).
fn canonical_anchor() -> [Point; STABLE.len()] {
    STABLE.map(|i| {
        let [x, y] = TEMPLATE[i - 17];
        Point::new(x, y)
    })
}

/// A face's 68 points in the canonical frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Shape(#[serde(with = "points")] pub [Point; LANDMARK_COUNT]);

/// The transform from picture pixels to the canonical frame for these landmarks; `None` for a
/// degenerate face.
pub fn to_canonical(landmarks: &Landmarks) -> Option<Similarity> {
    let p = landmarks.points();
    let stable: Vec<Point> = STABLE.iter().map(|&i| p[i]).collect();
    Similarity::estimate(&stable, &canonical_anchor())
}

/// The landmarks' shape in the canonical frame.
pub fn shape_of(landmarks: &Landmarks) -> Option<Shape> {
    let to = to_canonical(landmarks)?;
    Some(Shape(landmarks.points().map(|p| to.apply(p))))
}

/// The point-wise median of several shapes: a neutral face from frames of one.
pub fn median_shape(shapes: &[Shape]) -> Option<Shape> {
    if shapes.is_empty() {
        return None;
    }
    let median = |mut v: Vec<f32>| {
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    };
    Some(Shape(std::array::from_fn(|i| {
        Point::new(
            median(shapes.iter().map(|s| s.0[i].x).collect()),
            median(shapes.iter().map(|s| s.0[i].y).collect()),
        )
    })))
}

/// The target's side: its neutral shape and where that shape sits in the model's input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TargetNeutral {
    pub shape: Shape,
    /// Canonical frame → model input pixels, at the target's usual framing.
    pub placement: Similarity,
}

impl TargetNeutral {
    /// The target's neutral from its training landmarks (model input pixels): the median shape,
    /// placed by the median landmarks' own pose.
    pub fn from_frames(frames: &[Landmarks]) -> Option<TargetNeutral> {
        let shapes: Vec<Shape> = frames.iter().filter_map(shape_of).collect();
        let shape = median_shape(&shapes)?;
        let median = median_shape(
            &frames
                .iter()
                .map(|l| Shape(*l.points()))
                .collect::<Vec<_>>(),
        )?;
        let placement = to_canonical(&Landmarks::new(median.0))?.inverse();
        Some(TargetNeutral { shape, placement })
    }
}

/// Carries a driver's expression onto the target.
#[derive(Debug, Clone, Copy)]
pub struct Retarget {
    pub driver: Shape,
    pub target: TargetNeutral,
    /// How strongly the driver's expression shows (1: as much as the driver's).
    pub gain: f32,
}

impl Retarget {
    /// The target's landmarks (model input pixels) for the driver's landmarks in a frame.
    pub fn apply(&self, driver: &Landmarks) -> Option<Landmarks> {
        let now = shape_of(driver)?;
        let points = std::array::from_fn(|i| {
            let (n, d, t) = (now.0[i], self.driver.0[i], self.target.shape.0[i]);
            let moved = Point::new(t.x + self.gain * (n.x - d.x), t.y + self.gain * (n.y - d.y));
            self.target.placement.apply(moved)
        });
        Some(Landmarks::new(points))
    }
}

/// Faces the automatic neutral is taken from: about a second and a half at 30 fps.
pub const AUTO_FRAMES: usize = 45;

/// The driver's neutral built from the first faces of a session (`--retarget auto`): the
/// median shape of the first [`AUTO_FRAMES`] faces, and until then of those seen so far.
#[derive(Debug, Clone, Default)]
pub struct AutoNeutral {
    shapes: Vec<Shape>,
    neutral: Option<Shape>,
}

impl AutoNeutral {
    /// Takes in this frame's shape while gathering; returns the neutral to retarget against.
    pub fn observe(&mut self, shape: Shape) -> Shape {
        if self.shapes.len() < AUTO_FRAMES {
            self.shapes.push(shape);
            self.neutral = median_shape(&self.shapes);
        }
        self.neutral.unwrap_or(shape)
    }

    /// Starts gathering again (the `c` key: look at the camera with a neutral face).
    pub fn restart(&mut self) {
        *self = AutoNeutral::default();
    }
}

/// Shapes as lists of `[x, y]` pairs in TOML and JSON.
mod points {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{Point, LANDMARK_COUNT};

    pub fn serialize<S: Serializer>(p: &[Point; LANDMARK_COUNT], s: S) -> Result<S::Ok, S::Error> {
        p.iter()
            .map(|p| [p.x, p.y])
            .collect::<Vec<_>>()
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<[Point; LANDMARK_COUNT], D::Error> {
        let pairs: Vec<[f32; 2]> = Vec::deserialize(d)?;
        let points: Vec<Point> = pairs.iter().map(|[x, y]| Point::new(*x, *y)).collect();
        points
            .try_into()
            .map_err(|v: Vec<Point>| serde::de::Error::invalid_length(v.len(), &"68 points"))
    }
}
