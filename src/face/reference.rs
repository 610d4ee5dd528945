//! The target's reference pictures: a few real frames of the target (keyframes) with their
//! landmarks, any of which can be moved onto other landmarks by the face mesh
//! ([`crate::face::mesh`]). A reenactment generator of the `warp` architecture gets, beside the
//! sketch, the keyframe closest to the sketch's face moved onto it, and over the mouth the
//! keyframe whose lips are shaped most alike: the hair, glasses and background come for free
//! and sharp, and so do the eyelids, teeth and creases, so the network spends itself only on
//! what the moved picture still gets wrong. Training, evaluation and the live loop all build
//! this input here.
//!
//! The landmark detector is never exact, and warping a keyframe by its noise bends a face
//! that did not move. So a keyframe is moved by the head's motion (a similarity fitted over
//! the points) and by each point's own motion beyond the detector's noise ([`NOISE`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::face::mesh::{control_points, CONTROL_POINTS};
use crate::face::{parts, FaceRegion, Landmarks, Mesh, LANDMARK_COUNT};
use crate::frame::{read_image, Rgb8};
use crate::geometry::{FaceBox, Point, Similarity};

#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("cannot read the model's reference picture '{path}': {reason}; it is written beside the model by `mimic train` (train again, or copy it back)")]
    Read { path: PathBuf, reason: String },
    #[error("the model's reference picture '{path}' is {width}×{height} but the model takes {size}×{size} keyframes side by side: use the picture written with this model")]
    Size {
        path: PathBuf,
        width: u32,
        height: u32,
        size: u32,
    },
    #[error("the model takes the target's reference picture as a second input but its card names none: use the card written with the model")]
    NotInCard,
    #[error("the model card's reference has {points} landmarks for {keyframes} keyframe(s) instead of 68 each: use the card written with the model, or train again")]
    Landmarks { points: usize, keyframes: usize },
}

/// What a card says of a model's reference: the input it goes into, the picture (a file beside
/// the model: the keyframes side by side, each the model's size) and their landmarks in
/// model pixels, 68 per keyframe in the keyframes' order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceSpec {
    /// The name of the model's second input.
    pub input: String,
    /// The picture's file name, beside the model.
    pub image: String,
    pub landmarks: Vec<Point>,
}

/// One real frame of the target, ready to be moved onto any landmarks.
#[derive(Debug, Clone)]
struct Keyframe {
    image: Rgb8,
    landmarks: Landmarks,
    from: [Point; CONTROL_POINTS],
    mesh: Mesh,
}

/// The target's keyframes. The first is the target at rest.
#[derive(Debug, Clone)]
pub struct Reference {
    keyframes: Vec<Keyframe>,
}

/// A keyframe in use is kept until another lies closer by this share of its squared distance,
/// so that on a face between two keyframes the reference does not flicker from one to the
/// other frame by frame.
const KEEP: f32 = 0.9;
/// A point's motion against its keyframe, after the head's, that is taken for the detector's
/// noise, in inter-ocular distances: twice the raw jitter measured on the still clips d0, d3
/// and d9 (0.006–0.008, `mimic track`). Larger motions are shortened by as much. On d0's
/// held-out frames (sitting still), its nearest keyframe moved this way (sampled bilinearly)
/// scores 33.8 dB in the face and 32.7 in the mouth, against 32.4 and 34.6 moved by the raw
/// points: lip motions under the threshold are lost, but the face is no longer bent.
const NOISE: f32 = 0.015;

impl Reference {
    /// A reference from square pictures of one size and their landmarks (in their pixels);
    /// `None` when there are none.
    pub fn new(keyframes: Vec<(Rgb8, Landmarks)>) -> Option<Reference> {
        let keyframes: Vec<Keyframe> = keyframes
            .into_iter()
            .map(|(image, landmarks)| {
                let from = control_points(&landmarks, image.width());
                Keyframe {
                    mesh: Mesh::delaunay(&from),
                    image,
                    landmarks,
                    from,
                }
            })
            .collect();
        (!keyframes.is_empty()).then_some(Reference { keyframes })
    }

    /// Loads the reference a card names, for a model at `model` taking `size` pixels.
    pub fn load(
        spec: &ReferenceSpec,
        model: &Path,
        size: u32,
    ) -> Result<Reference, ReferenceError> {
        Reference::load_strip(&spec.image, &spec.landmarks, model, size)
    }

    /// Loads keyframes of `size` pixels from the strip `image` beside `model`, with
    /// `landmarks` (68 per keyframe, in order).
    pub fn load_strip(
        image: &str,
        landmarks: &[Point],
        model: &Path,
        size: u32,
    ) -> Result<Reference, ReferenceError> {
        let path = model.with_file_name(image);
        let strip = read_image(&path).map_err(|e| ReferenceError::Read {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let (width, height) = strip.dimensions();
        if height != size || width == 0 || width % size != 0 {
            return Err(ReferenceError::Size {
                path,
                width,
                height,
                size,
            });
        }
        let count = (width / size) as usize;
        if landmarks.len() != count * LANDMARK_COUNT {
            return Err(ReferenceError::Landmarks {
                points: landmarks.len(),
                keyframes: count,
            });
        }
        let keyframes = landmarks
            .chunks(LANDMARK_COUNT)
            .enumerate()
            .filter_map(|(i, points)| {
                let image = image::imageops::crop_imm(&strip, i as u32 * size, 0, size, size);
                Some((image.to_image(), Landmarks::from_slice(points)?))
            })
            .collect();
        Reference::new(keyframes).ok_or(ReferenceError::Landmarks {
            points: 0,
            keyframes: count,
        })
    }

    /// How many keyframes there are.
    pub fn len(&self) -> usize {
        self.keyframes.len()
    }

    /// Never: a reference has at least one keyframe.
    pub fn is_empty(&self) -> bool {
        self.keyframes.is_empty()
    }

    /// The keyframes side by side, as the model's reference picture is written.
    pub fn strip(&self) -> Rgb8 {
        let side = self.keyframes[0].image.width();
        let mut strip = Rgb8::new(side * self.keyframes.len() as u32, side);
        for (i, keyframe) in self.keyframes.iter().enumerate() {
            image::imageops::replace(&mut strip, &keyframe.image, i as i64 * side as i64, 0);
        }
        strip
    }

    /// Every keyframe's landmarks in order, as a card keeps them.
    pub fn landmarks(&self) -> Vec<Point> {
        self.keyframes
            .iter()
            .flat_map(|k| k.landmarks.points().iter().copied())
            .collect()
    }

    /// The keyframes to draw a face with `landmarks` from, among those `allowed` lets through:
    /// for the face the one closest as a whole ([`distance`]: where the head is, how it is
    /// turned, its expression), for the mouth the one whose lips are shaped most alike
    /// ([`mouth_unlike`]); `None` when `allowed` lets none through.
    pub fn pick(&self, landmarks: &Landmarks, allowed: impl Fn(usize) -> bool) -> Option<Pick> {
        Some(Pick {
            face: self.closest(landmarks, &allowed, distance)?,
            mouth: self.closest(landmarks, &allowed, mouth_unlike)?,
        })
    }

    fn closest(
        &self,
        landmarks: &Landmarks,
        allowed: impl Fn(usize) -> bool,
        measure: fn(&Landmarks, &Landmarks) -> f32,
    ) -> Option<usize> {
        self.keyframes
            .iter()
            .enumerate()
            .filter(|(i, _)| allowed(*i))
            .map(|(i, k)| (i, measure(&k.landmarks, landmarks)))
            .min_by(|(_, a), (_, b)| a.total_cmp(b))
            .map(|(i, _)| i)
    }

    /// Draws the keyframes `pick` names into `out` (the keyframes' size) moved onto
    /// `landmarks`: the face's keyframe, and over the mouth and the skin around it the mouth's,
    /// faded in over [`MOUTH_FEATHER`].
    pub fn warp_into(&self, pick: Pick, landmarks: &Landmarks, out: &mut Rgb8) {
        let last = self.keyframes.len() - 1;
        let face = &self.keyframes[pick.face.min(last)];
        if out.dimensions() != face.image.dimensions() {
            *out = Rgb8::new(face.image.width(), face.image.height());
        }
        face.move_into(landmarks, out);
        if pick.mouth == pick.face {
            return;
        }
        let mut mouth = Rgb8::new(out.width(), out.height());
        let area = MouthArea::of(landmarks, out.dimensions());
        self.keyframes[pick.mouth.min(last)].move_within(landmarks, &mut mouth, area.rect);
        area.blend(&mouth, out);
    }

    /// The keyframes `pick` names, moved onto `landmarks`.
    pub fn warped(&self, pick: Pick, landmarks: &Landmarks) -> Rgb8 {
        let mut out = Rgb8::new(0, 0);
        self.warp_into(pick, landmarks, &mut out);
        out
    }
}

/// Which keyframes a face is drawn from: one for the face, one for the mouth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pick {
    pub face: usize,
    pub mouth: usize,
}

impl Pick {
    /// One keyframe for all of the face.
    pub fn only(keyframe: usize) -> Pick {
        Pick {
            face: keyframe,
            mouth: keyframe,
        }
    }
}

/// The mouth's keyframe covers the outer lips' hull grown by this share of the mouth's width
/// (the chin and the folds beside the lips move with it)…
const MOUTH_MARGIN: f32 = 0.3;
/// …and fades into the face's keyframe over this share.
const MOUTH_FEATHER: f32 = 0.25;

/// Where the mouth's keyframe shows: the outer lips' hull grown and feathered, and the
/// rectangle around it.
struct MouthArea {
    region: FaceRegion,
    margin: f32,
    feather: f32,
    /// `[x0, y0, x1, y1)` in pixels.
    rect: [u32; 4],
}

impl MouthArea {
    /// The mouth area of `landmarks` in a picture of `(w, h)` pixels.
    fn of(landmarks: &Landmarks, (w, h): (u32, u32)) -> MouthArea {
        let lips = landmarks.part(parts::OUTER_LIP);
        let width = lips[0].distance(lips[6]).max(1.0);
        let (margin, feather) = (MOUTH_MARGIN * width, MOUTH_FEATHER * width);
        let reach = FaceBox::around(lips);
        let grow = margin + feather;
        let clamp = |v: f32, max: u32| v.clamp(0.0, max as f32) as u32;
        MouthArea {
            region: FaceRegion::around(lips),
            margin,
            feather,
            rect: [
                clamp((reach.left - grow).floor(), w),
                clamp((reach.top - grow).floor(), h),
                clamp((reach.right + grow).ceil(), w),
                clamp((reach.bottom + grow).ceil(), h),
            ],
        }
    }

    /// Lays `mouth` over `out` in the area.
    fn blend(&self, mouth: &Rgb8, out: &mut Rgb8) {
        let [x0, y0, x1, y1] = self.rect;
        for y in y0..y1 {
            for x in x0..x1 {
                let depth = self.region.depth(Point::new(x as f32, y as f32));
                let weight = ((depth + self.margin) / self.feather).clamp(0.0, 1.0);
                if weight <= 0.0 {
                    continue;
                }
                let from = mouth.get_pixel(x, y).0;
                let to = &mut out.get_pixel_mut(x, y).0;
                for (t, f) in to.iter_mut().zip(from) {
                    *t = (f32::from(*t) * (1.0 - weight) + f32::from(f) * weight).round() as u8;
                }
            }
        }
    }
}

impl Keyframe {
    /// Draws the keyframe into `out` (its size) moved onto `landmarks`.
    fn move_into(&self, landmarks: &Landmarks, out: &mut Rgb8) {
        let (w, h) = out.dimensions();
        self.move_within(landmarks, out, [0, 0, w, h]);
    }

    /// [`Self::move_into`] for the rectangle `[x0, y0, x1, y1)` of `out` only.
    fn move_within(&self, landmarks: &Landmarks, out: &mut Rgb8, rect: [u32; 4]) {
        let to = control_points(&self.motion_to(landmarks), self.image.width());
        self.mesh
            .warp_within(&self.image, &self.from, &to, out, rect);
    }

    /// Where the keyframe's points go for a face with `landmarks`: the head's motion, and each
    /// point's own motion beyond the detector's noise.
    fn motion_to(&self, landmarks: &Landmarks) -> Landmarks {
        let own = self.landmarks.points();
        let Some(head) = Similarity::estimate(own, landmarks.points()) else {
            return landmarks.clone();
        };
        let noise = NOISE * self.landmarks.inter_ocular();
        Landmarks::new(std::array::from_fn(|i| {
            let carried = head.apply(own[i]);
            let seen = landmarks.points()[i];
            let (dx, dy) = (seen.x - carried.x, seen.y - carried.y);
            let shorten = (1.0 - noise / dx.hypot(dy).max(f32::EPSILON)).max(0.0);
            Point::new(carried.x + dx * shorten, carried.y + dy * shorten)
        }))
    }
}

/// The keyframes shown frame after frame: the nearest ones, each held until another is
/// clearly nearer ([`KEEP`]).
#[derive(Debug, Clone, Default)]
pub struct KeyframeChoice {
    current: Option<Pick>,
}

impl KeyframeChoice {
    /// The keyframes of `reference` to move onto `landmarks`.
    pub fn choose(&mut self, reference: &Reference, landmarks: &Landmarks) -> Pick {
        let nearest = reference.pick(landmarks, |_| true).unwrap_or(Pick::only(0));
        let hold = |current: usize, nearest: usize, measure: fn(&Landmarks, &Landmarks) -> f32| {
            let of = |k: usize| measure(&reference.keyframes[k].landmarks, landmarks);
            match current < reference.len() && of(nearest) >= KEEP * of(current) {
                true => current,
                false => nearest,
            }
        };
        let chosen = match self.current {
            Some(current) => Pick {
                face: hold(current.face, nearest.face, distance),
                mouth: hold(current.mouth, nearest.mouth, mouth_unlike),
            },
            None => nearest,
        };
        self.current = Some(chosen);
        chosen
    }
}

/// How unlike the mouths of two faces are: the mean squared distance between their lips once
/// `a` is laid onto `b` by a similarity over all the points (where the head is, its size and
/// its roll, which the warp moves for free, taken out). What a warp cannot make is an open
/// mouth from a closed one, or teeth: chosen by the whole face's distance, d3's open mouths
/// were given keyframes with closed lips at the same head position, stretched into a smear.
fn mouth_unlike(a: &Landmarks, b: &Landmarks) -> f32 {
    let Some(onto) = Similarity::estimate(a.points(), b.points()) else {
        return distance(a, b);
    };
    let lips = parts::OUTER_LIP.start..parts::INNER_LIP.end;
    let (a, b) = (&a.points()[lips.clone()], &b.points()[lips]);
    let sum: f32 = a
        .iter()
        .zip(b)
        .map(|(p, q)| {
            let p = onto.apply(*p);
            (p.x - q.x).powi(2) + (p.y - q.y).powi(2)
        })
        .sum();
    sum / a.len() as f32
}

/// Mean squared distance between the points of two faces.
fn distance(a: &Landmarks, b: &Landmarks) -> f32 {
    let (a, b) = (a.points(), b.points());
    let sum: f32 = a
        .iter()
        .zip(b)
        .map(|(p, q)| (p.x - q.x).powi(2) + (p.y - q.y).powi(2))
        .sum();
    sum / a.len().max(1) as f32
}

/// The frame whose landmarks lie closest to `face`; `None` for no frames.
pub fn closest_to(frames: &[Landmarks], face: &Landmarks) -> Option<usize> {
    frames
        .iter()
        .enumerate()
        .min_by(|(_, a), (_, b)| distance(a, face).total_cmp(&distance(b, face)))
        .map(|(i, _)| i)
}

/// Up to `count` frames that cover the faces of `frames`, starting with `first`: each next
/// one the frame least like those already chosen, as a whole and in the mouth (farthest-point
/// sampling), so the keyframes span the poses and mouths the target showed rather than repeat
/// its most common one.
pub fn spread_from(frames: &[Landmarks], first: usize, count: usize) -> Vec<usize> {
    if frames.is_empty() || count == 0 {
        return Vec::new();
    }
    let first = first.min(frames.len() - 1);
    let mut chosen = vec![first];
    let unlike = |a: &Landmarks, b: &Landmarks| distance(a, b) + mouth_unlike(a, b);
    let mut gap: Vec<f32> = frames.iter().map(|f| unlike(f, &frames[first])).collect();
    while chosen.len() < count.min(frames.len()) {
        let Some((next, _)) = gap
            .iter()
            .enumerate()
            .max_by(|(_, a), (_, b)| a.total_cmp(b))
            .filter(|(_, g)| **g > 0.0)
        else {
            break;
        };
        chosen.push(next);
        for (g, f) in gap.iter_mut().zip(frames) {
            *g = g.min(unlike(f, &frames[next]));
        }
    }
    chosen
}
