//! The face as the tracker follows it between detections: where the detector's box sits
//! relative to the face's eyes and nose ([`BoxFit`]), the last landmarks and their motion
//! ([`Followed`]), and whether a face is still in view.

use crate::face::Landmarks;
use crate::frame::Rgb8;
use crate::geometry::{FaceBox, Point};

/// A face whose eyes and nose moved by more than this fraction of its box in one frame moves
/// fast: its due detection runs inside the frame even when detections run beside the frames.
const FAST: f32 = 0.03;

/// The mean of the nose and eye points (27–47), which keep their shape when the mouth and jaw
/// move.
fn anchor(landmarks: &Landmarks) -> Point {
    let points = landmarks.part(27..48);
    let n = points.len() as f32;
    let (x, y) = points
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p.x, y + p.y));
    Point::new(x / n, y / n)
}

/// Whether the face moved so fast in the last frame that a due detection cannot wait for the
/// detection thread: following fails mostly in fast motion.
pub(super) fn fast(followed: &Followed) -> bool {
    followed.velocity.x.hypot(followed.velocity.y) > FAST * followed.fit.width
}

/// How far the anchor of `to` lies from that of `from`.
pub(super) fn motion(from: &Landmarks, to: &Landmarks) -> Point {
    let (a, b) = (anchor(from), anchor(to));
    Point::new(b.x - a.x, b.y - a.y)
}

/// Where the detector's box sits relative to the face, learnt at each detection: its size, and
/// its centre's offset from the anchor. Carried over, it looks to the shape predictor
/// like the box the detector would have given.
#[derive(Debug, Clone, Copy)]
pub(super) struct BoxFit {
    pub(super) width: f32,
    height: f32,
    dx: f32,
    dy: f32,
}

impl BoxFit {
    pub(super) fn learn(bbox: &FaceBox, landmarks: &Landmarks) -> BoxFit {
        let a = anchor(landmarks);
        let c = bbox.center();
        BoxFit {
            width: bbox.width(),
            height: bbox.height(),
            dx: c.x - a.x,
            dy: c.y - a.y,
        }
    }

    pub(super) fn apply(&self, landmarks: &Landmarks) -> FaceBox {
        let a = anchor(landmarks);
        let (cx, cy) = (a.x + self.dx, a.y + self.dy);
        let (hw, hh) = (self.width / 2.0, self.height / 2.0);
        FaceBox {
            left: cx - hw,
            top: cy - hh,
            right: cx + hw,
            bottom: cy + hh,
        }
    }
}

/// The face as last followed: its landmarks, its box fit, and how far its anchor moved since the
/// frame before, so the next box is placed where the face is heading (constant velocity).
#[derive(Debug, Clone)]
pub(super) struct Followed {
    pub(super) landmarks: Landmarks,
    pub(super) fit: BoxFit,
    pub(super) velocity: Point,
}

impl Followed {
    pub(super) fn new(landmarks: Landmarks, fit: BoxFit) -> Followed {
        Followed {
            landmarks,
            fit,
            velocity: Point::new(0.0, 0.0),
        }
    }

    /// The previous landmarks moved on by one frame's motion: where the next search starts.
    pub(super) fn predicted(&self) -> Landmarks {
        let v = self.velocity;
        self.landmarks.map(|p| Point::new(p.x + v.x, p.y + v.y))
    }
}

/// Whether the face is still in view: its eyes and nose inside the frame. The chin or an ear
/// past the edge is normal when someone sits close, and the predictor still follows the face.
pub(super) fn in_view(landmarks: &Landmarks, frame: &Rgb8) -> bool {
    let (w, h) = (frame.width() as f32, frame.height() as f32);
    let spread = landmarks.bounds();
    spread.width() > 4.0
        && spread.height() > 4.0
        && landmarks
            .part(27..48)
            .iter()
            .all(|p| p.x >= 0.0 && p.y >= 0.0 && p.x < w && p.y < h)
}
