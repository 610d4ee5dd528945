//! Retargeting a driver's expression onto the target's face (issue 7, the book's first limit):
//! landmarks are compared in a canonical frame, similarity-normalised on the points that do
//! not move with expression (eye corners, nose bridge), so where the driver sits, how far from
//! the camera and how their head is tilted in the picture no longer matter. The driver's
//! offset from their own neutral shape is added to the target's neutral shape, scaled by a
//! gain, and drawn back at the target's framing.

use serde::{Deserialize, Serialize};

use crate::face::{Landmarks, LANDMARK_COUNT, TEMPLATE};
use crate::geometry::{quantile, FaceBox, Point, Similarity};

/// The landmarks that stay put when the face moves its features: the nose bridge (27–30) and
/// the inner and outer eye corners (36, 39, 42, 45).
pub const STABLE: [usize; 8] = [27, 28, 29, 30, 36, 39, 42, 45];

/// Where the stable points sit in the canonical frame: the mean-face template's positions
/// (the template starts at landmark 17).
pub fn canonical_anchor() -> [Point; STABLE.len()] {
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
    Similarity::estimate(&stable_points(landmarks), &canonical_anchor())
}

/// The landmarks' shape in the canonical frame.
pub fn shape_of(landmarks: &Landmarks) -> Option<Shape> {
    let to = to_canonical(landmarks)?;
    Some(Shape(landmarks.points().map(|p| to.apply(p))))
}

/// The point-wise median of several shapes: a neutral face from frames of one.
pub fn median_shape(shapes: &[Shape]) -> Option<Shape> {
    let sets: Vec<[Point; LANDMARK_COUNT]> = shapes.iter().map(|s| s.0).collect();
    median_points(&sets).map(Shape)
}

/// The point-wise median of sets of points (the upper median of an even count); `None` for
/// no sets.
fn median_points<const N: usize>(sets: &[[Point; N]]) -> Option<[Point; N]> {
    if sets.is_empty() {
        return None;
    }
    let median = |v: Vec<f32>| quantile(v, 0.5);
    Some(std::array::from_fn(|i| {
        Point::new(
            median(sets.iter().map(|s| s[i].x).collect()),
            median(sets.iter().map(|s| s[i].y).collect()),
        )
    }))
}

/// How far the head moved from where it sat at rest, as a similarity of the canonical frame
/// (identity at rest): leaning in, turning in the picture, moving across it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadMotion(Similarity);

impl HeadMotion {
    /// The motion from `rest` to `now`, both picture → canonical transforms.
    pub fn between(rest: &Similarity, now: &Similarity) -> HeadMotion {
        HeadMotion(rest.after(&now.inverse()))
    }

    /// Its parts about the face's centre: scale change, turn (degrees) and shift (canonical
    /// units).
    fn parts(&self) -> (f32, f32, Point) {
        let c = face_centre();
        let moved = self.0.apply(c);
        let angle = self.0.b.atan2(self.0.a).to_degrees();
        (
            self.0.scale(),
            angle,
            Point::new(moved.x - c.x, moved.y - c.y),
        )
    }

    /// The same motion held within `range`.
    pub fn within(&self, range: &MotionRange) -> HeadMotion {
        let (scale, angle, shift) = self.parts();
        let hold = |v: f32, [low, high]: [f32; 2]| v.clamp(low, high);
        let scale = hold(scale.ln(), range.scale).exp();
        let angle = hold(angle, range.angle).to_radians();
        let shift = Point::new(hold(shift.x, range.across), hold(shift.y, range.down));
        let c = face_centre();
        let (a, b) = (scale * angle.cos(), scale * angle.sin());
        // Scale and turn about the centre, then shift: p ↦ R(p − c) + c + shift.
        HeadMotion(Similarity {
            a,
            b,
            tx: c.x - (a * c.x - b * c.y) + shift.x,
            ty: c.y - (b * c.x + a * c.y) + shift.y,
        })
    }

    pub fn apply(&self, p: Point) -> Point {
        self.0.apply(p)
    }
}

/// The middle of the stable points in the canonical frame, which head motion turns about.
fn face_centre() -> Point {
    let anchor = canonical_anchor();
    let n = anchor.len() as f32;
    Point::new(
        anchor.iter().map(|p| p.x).sum::<f32>() / n,
        anchor.iter().map(|p| p.y).sum::<f32>() / n,
    )
}

/// How far a head moves from its rest, each way: the target's usual range, which a driver's
/// motion is held within so the generator is only asked for framings it saw. Each is a
/// `[lowest, highest]` pair; all zero, the target's face stays at its neutral place (cards
/// written before head motion was carried).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct MotionRange {
    /// ln(scale): leaning away (below 0) or in.
    pub scale: [f32; 2],
    /// Turn in the picture, degrees.
    pub angle: [f32; 2],
    /// Shift of the face's centre across and down the picture, canonical units.
    pub across: [f32; 2],
    pub down: [f32; 2],
}

/// The share of a target's frames whose motion [`MotionRange`] covers, the same share left out
/// at either end: a few outlying frames (a detection that slipped) do not widen it.
const MOTION_COVERAGE: f32 = 0.96;

impl MotionRange {
    /// The range that covers most of `motions`.
    fn covering(motions: &[HeadMotion]) -> MotionRange {
        let parts: Vec<_> = motions.iter().map(HeadMotion::parts).collect();
        let tail = (1.0 - MOTION_COVERAGE) / 2.0;
        let covering = |f: &dyn Fn(&(f32, f32, Point)) -> f32| {
            let values: Vec<f32> = parts.iter().map(f).collect();
            [
                quantile(values.clone(), tail).min(0.0),
                quantile(values, 1.0 - tail).max(0.0),
            ]
        };
        MotionRange {
            scale: covering(&|p| p.0.ln()),
            angle: covering(&|p| p.1),
            across: covering(&|p| p.2.x),
            down: covering(&|p| p.2.y),
        }
    }
}

/// The target's side: its neutral shape, where that shape sits in the model's input, and how
/// far the target's head moved around it in training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TargetNeutral {
    pub shape: Shape,
    /// Canonical frame → model input pixels, at the target's usual framing.
    pub placement: Similarity,
    #[serde(default)]
    pub motion: MotionRange,
    /// The target's usual framing in model input pixels: the box each of whose edges holds the
    /// landmarks of [`FRAMING_COVERAGE`] of its training frames, grown by [`FRAMING_MARGIN`].
    /// Absent in cards written before it was.
    #[serde(default)]
    pub framing: Option<FaceBox>,
    /// How far its features moved in training; absent in cards written before it was.
    #[serde(default)]
    pub expression: Option<ExpressionRange>,
}

/// The share of the target's frames each edge of its usual framing holds, and each point's
/// expression range covers (the rest, at the far end, are left out as outliers).
const FRAMING_COVERAGE: f32 = 0.98;
/// The usual framing is grown by this share of its width: landmarks found in generated frames
/// wobble.
const FRAMING_MARGIN: f32 = 0.05;

/// The box that holds the landmarks of most of `frames`.
fn usual_framing(frames: &[Landmarks]) -> FaceBox {
    let boxes: Vec<FaceBox> = frames.iter().map(Landmarks::bounds).collect();
    let low = 1.0 - FRAMING_COVERAGE;
    let b = FaceBox {
        left: quantile(boxes.iter().map(|b| b.left).collect(), low),
        top: quantile(boxes.iter().map(|b| b.top).collect(), low),
        right: quantile(boxes.iter().map(|b| b.right).collect(), FRAMING_COVERAGE),
        bottom: quantile(boxes.iter().map(|b| b.bottom).collect(), FRAMING_COVERAGE),
    };
    let grow = FRAMING_MARGIN * b.width();
    FaceBox {
        left: b.left - grow,
        top: b.top - grow,
        right: b.right + grow,
        bottom: b.bottom + grow,
    }
}

impl TargetNeutral {
    /// The target's neutral from its training landmarks (model input pixels): the median shape,
    /// placed by the median landmarks' own pose, with the range of motion around it.
    pub fn from_frames(frames: &[Landmarks]) -> Option<TargetNeutral> {
        let shapes: Vec<Shape> = frames.iter().filter_map(shape_of).collect();
        let shape = median_shape(&shapes)?;
        let rest = rest_pose(frames)?;
        let motions: Vec<HeadMotion> = frames
            .iter()
            .filter_map(to_canonical)
            .map(|now| HeadMotion::between(&rest, &now))
            .collect();
        Some(TargetNeutral {
            shape,
            placement: rest.inverse(),
            motion: MotionRange::covering(&motions),
            framing: Some(usual_framing(frames)),
            expression: Some(ExpressionRange::covering(&shapes, &shape)),
        })
    }
}

/// Where a head sits at rest: picture → canonical for the point-wise median of its landmarks.
pub fn rest_pose(frames: &[Landmarks]) -> Option<Similarity> {
    rest_from(&frames.iter().map(stable_points).collect::<Vec<_>>())
}

/// How far the target follows the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Follow {
    /// The driver's head motion and expression, each held within what the target showed in
    /// training: the generator is only asked for faces like those it saw.
    #[default]
    Target,
    /// The driver's head motion and expression as they are, however far they go.
    Free,
    /// The target's head stays at its neutral place; the expression is followed as with
    /// `target`.
    Still,
}

impl Follow {
    /// The part of `motion` the target's face follows.
    fn motion(self, motion: HeadMotion, range: &MotionRange) -> HeadMotion {
        match self {
            Follow::Target => motion.within(range),
            Follow::Free => motion,
            Follow::Still => HeadMotion(Similarity::IDENTITY),
        }
    }
}

/// How far each point of the target's face moved from its neutral in training (canonical
/// frame): the lowest and highest offsets along x and y, the outlying 2 % at either end
/// ([`FRAMING_COVERAGE`]) left out.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExpressionRange {
    pub low: Shape,
    pub high: Shape,
}

impl ExpressionRange {
    fn covering(shapes: &[Shape], neutral: &Shape) -> ExpressionRange {
        let low = 1.0 - FRAMING_COVERAGE;
        let offsets = |i: usize, axis: fn(&Point) -> f32| -> Vec<f32> {
            shapes
                .iter()
                .map(|s| axis(&s.0[i]) - axis(&neutral.0[i]))
                .collect()
        };
        let bound = |share: f32| {
            Shape(std::array::from_fn(|i| {
                Point::new(
                    quantile(offsets(i, |p| p.x), share),
                    quantile(offsets(i, |p| p.y), share),
                )
            }))
        };
        ExpressionRange {
            low: bound(low),
            high: bound(FRAMING_COVERAGE),
        }
    }

    /// Point `i`, an offset from the neutral, held within the range.
    fn hold(&self, i: usize, offset: Point) -> Point {
        let (low, high) = (self.low.0[i], self.high.0[i]);
        Point::new(
            offset.x.clamp(low.x.min(0.0), high.x.max(0.0)),
            offset.y.clamp(low.y.min(0.0), high.y.max(0.0)),
        )
    }
}

/// The driver's side: their neutral shape and where their head sat at rest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriverNeutral {
    pub shape: Shape,
    /// Picture → canonical at rest.
    pub rest: Similarity,
}

/// Carries a driver's expression and head motion onto the target.
#[derive(Debug, Clone, Copy)]
pub struct Retarget {
    pub driver: DriverNeutral,
    pub target: TargetNeutral,
    /// How strongly the driver's expression shows (1: as much as the driver's).
    pub gain: f32,
    pub follow: Follow,
}

impl Retarget {
    /// The target's landmarks (model input pixels) for the driver's landmarks in a frame: the
    /// target's neutral plus the driver's expression, moved as the driver's head moved from
    /// rest, as far as `follow` says, at the target's framing.
    pub fn apply(&self, driver: &Landmarks) -> Option<Landmarks> {
        let to = to_canonical(driver)?;
        let motion = self.follow.motion(
            HeadMotion::between(&self.driver.rest, &to),
            &self.target.motion,
        );
        let held = match self.follow {
            Follow::Free => None,
            Follow::Target | Follow::Still => self.target.expression.as_ref(),
        };
        let points = std::array::from_fn(|i| {
            let now = to.apply(driver.points()[i]);
            let (d, t) = (self.driver.shape.0[i], self.target.shape.0[i]);
            let offset = Point::new(self.gain * (now.x - d.x), self.gain * (now.y - d.y));
            let offset = held.map_or(offset, |range| range.hold(i, offset));
            let moved = Point::new(t.x + offset.x, t.y + offset.y);
            self.target.placement.apply(motion.apply(moved))
        });
        Some(Landmarks::new(points))
    }
}

/// Faces the automatic neutral is taken from: about a second and a half at 30 fps.
pub const AUTO_FRAMES: usize = 45;

/// The driver's neutral: the median shape (unless a calibration profile gave it) and the
/// median rest pose of the first [`AUTO_FRAMES`] faces of a session, and until then of those
/// seen so far; or one fixed in advance.
#[derive(Debug, Clone, Default)]
pub struct AutoNeutral {
    profile: Option<Shape>,
    shapes: Vec<Shape>,
    stable: Vec<[Point; STABLE.len()]>,
    neutral: Option<DriverNeutral>,
    fixed: bool,
}

impl AutoNeutral {
    /// A neutral whose shape comes from a calibration profile; only the rest pose (where the
    /// driver sits in this session) is gathered.
    pub fn with_profile(shape: Shape) -> AutoNeutral {
        AutoNeutral {
            profile: Some(shape),
            ..AutoNeutral::default()
        }
    }

    /// A neutral known in advance: nothing is gathered.
    pub fn fixed(neutral: DriverNeutral) -> AutoNeutral {
        AutoNeutral {
            neutral: Some(neutral),
            fixed: true,
            ..AutoNeutral::default()
        }
    }

    /// The calibration profile's shape, if one was given.
    pub fn profile(&self) -> Option<Shape> {
        self.profile
    }

    /// Takes in this frame's landmarks while gathering; returns the neutral to retarget against.
    pub fn observe(&mut self, landmarks: &Landmarks) -> Option<DriverNeutral> {
        if !self.fixed && self.stable.len() < AUTO_FRAMES {
            self.shapes.extend(shape_of(landmarks));
            self.stable.push(stable_points(landmarks));
            let shape = self.profile.or_else(|| median_shape(&self.shapes));
            if let (Some(shape), Some(rest)) = (shape, rest_from(&self.stable)) {
                self.neutral = Some(DriverNeutral { shape, rest });
            }
        }
        self.neutral
    }

    /// Starts gathering again (the `c` key: look at the camera with a neutral face): the rest
    /// pose, and the shape unless a calibration profile gave it.
    pub fn restart(&mut self) {
        *self = AutoNeutral {
            profile: self.profile,
            ..AutoNeutral::default()
        };
    }
}

fn stable_points(landmarks: &Landmarks) -> [Point; STABLE.len()] {
    STABLE.map(|i| landmarks.points()[i])
}

/// Picture → canonical for the point-wise median of the stable points.
fn rest_from(stable: &[[Point; STABLE.len()]]) -> Option<Similarity> {
    Similarity::estimate(&median_points(stable)?, &canonical_anchor())
}

/// Shapes as lists of `[x, y]` pairs in TOML and JSON.
mod points {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{Point, LANDMARK_COUNT};

    pub fn serialize<S: Serializer>(p: &[Point; LANDMARK_COUNT], s: S) -> Result<S::Ok, S::Error> {
        // Five decimals of a face's width: far finer than landmarks are, and readable.
        let round = |v: f32| (f64::from(v) * 1e5).round() / 1e5;
        p.iter()
            .map(|p| [round(p.x), round(p.y)])
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
