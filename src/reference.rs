//! The target's reference pictures: a few real frames of the target (keyframes) with their
//! landmarks, any of which can be moved onto other landmarks by the face mesh
//! ([`crate::face::mesh`]). A reenactment generator of the `warp` architecture gets, beside the
//! sketch, the keyframe whose landmarks lie closest to the sketch's, moved onto them: the hair,
//! glasses and background come for free and sharp, and so do the eyelids, teeth and creases
//! of the keyframe's expression, so the network spends itself only on what the moved picture
//! still gets wrong. Training, evaluation and the live loop all build this input here.
//!
//! The landmark detector is never exact, and warping a keyframe by its noise bends a face
//! that did not move. So a keyframe is moved by the head's motion (a similarity fitted over
//! the points) and by each point's own motion beyond the detector's noise ([`NOISE`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::face::mesh::{control_points, CONTROL_POINTS};
use crate::face::{Landmarks, Mesh, Point, Similarity, LANDMARK_COUNT};
use crate::frame::{read_image, Rgb8};

#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("cannot read the model's reference picture '{path}': {reason}; it is written beside the model by `mimic train pix2pix` (train again, or copy it back)")]
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
/// held-out frames, its nearest keyframe moved this way scores 33.8 dB in the face and
/// 31.9 in the mouth against 31.3 and 33.7 moved by the raw points (σ of 0.5 px at 128 px).
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
        let path = model.with_file_name(&spec.image);
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
        if spec.landmarks.len() != count * LANDMARK_COUNT {
            return Err(ReferenceError::Landmarks {
                points: spec.landmarks.len(),
                keyframes: count,
            });
        }
        let keyframes = spec
            .landmarks
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

    /// The keyframe whose landmarks lie closest to `landmarks` among those `allowed` lets
    /// through; `None` when it lets none through.
    pub fn nearest(&self, landmarks: &Landmarks, allowed: impl Fn(usize) -> bool) -> Option<usize> {
        self.keyframes
            .iter()
            .enumerate()
            .filter(|(i, _)| allowed(*i))
            .map(|(i, k)| (i, distance(&k.landmarks, landmarks)))
            .min_by(|(_, a), (_, b)| a.total_cmp(b))
            .map(|(i, _)| i)
    }

    /// Draws keyframe `keyframe` into `out` (the keyframes' size) moved onto `landmarks`.
    pub fn warp_into(&self, keyframe: usize, landmarks: &Landmarks, out: &mut Rgb8) {
        let keyframe = &self.keyframes[keyframe.min(self.keyframes.len() - 1)];
        if out.dimensions() != keyframe.image.dimensions() {
            *out = Rgb8::new(keyframe.image.width(), keyframe.image.height());
        }
        let moved = keyframe.motion_to(landmarks);
        let to = control_points(&moved, keyframe.image.width());
        keyframe
            .mesh
            .warp(&keyframe.image, &keyframe.from, &to, out);
    }

    /// Keyframe `keyframe` moved onto `landmarks`.
    pub fn warped(&self, keyframe: usize, landmarks: &Landmarks) -> Rgb8 {
        let mut out = Rgb8::new(0, 0);
        self.warp_into(keyframe, landmarks, &mut out);
        out
    }
}

impl Keyframe {
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

/// The keyframe shown frame after frame: the nearest one, held until another is clearly
/// nearer ([`KEEP`]).
#[derive(Debug, Clone, Default)]
pub struct KeyframeChoice {
    current: Option<usize>,
}

impl KeyframeChoice {
    /// The keyframe of `reference` to move onto `landmarks`.
    pub fn choose(&mut self, reference: &Reference, landmarks: &Landmarks) -> usize {
        let nearest = reference.nearest(landmarks, |_| true).unwrap_or(0);
        let chosen = match self.current {
            Some(current) if current < reference.len() => {
                let held = distance(&reference.keyframes[current].landmarks, landmarks);
                let best = distance(&reference.keyframes[nearest].landmarks, landmarks);
                if best < KEEP * held {
                    nearest
                } else {
                    current
                }
            }
            _ => nearest,
        };
        self.current = Some(chosen);
        chosen
    }
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
/// one the frame farthest from those already chosen (farthest-point sampling), so the
/// keyframes span the expressions and poses the target showed rather than repeat its most
/// common one.
pub fn spread_from(frames: &[Landmarks], first: usize, count: usize) -> Vec<usize> {
    if frames.is_empty() || count == 0 {
        return Vec::new();
    }
    let first = first.min(frames.len() - 1);
    let mut chosen = vec![first];
    let mut gap: Vec<f32> = frames.iter().map(|f| distance(f, &frames[first])).collect();
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
            *g = g.min(distance(f, &frames[next]));
        }
    }
    chosen
}
