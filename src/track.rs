//! Following one face through a stream cheaply: full detection (on a downscaled frame) only
//! every few frames or when the face is lost; in between, the 68 landmarks are predicted inside
//! a box carried over from the previous frame's landmarks.
//!
//! The shape predictor costs about 1 ms and detection 8–25 ms on a 512-pixel frame here, so
//! this is most of what keeps face analysis within a live frame's budget.

use serde::Serialize;

use crate::face::{Face, FaceAnalyzer, FaceBox, FaceError, Landmarks};
use crate::frame::Rgb8;

/// A followed face whose landmarks moved less than this (NME) from the previous frame is
/// settled after one prediction; one that moved more gets a second prediction from the box
/// fitted to the first, so fast motion is followed too.
const SETTLED: f32 = 0.02;

/// When the second prediction still moves the landmarks by more than this (NME), the face moved
/// faster than the tracker followed: detect again on this frame. Measured on d12.mp4 (large
/// head motion), every tracking failure moved by more than this; good frames mostly by less
/// than 0.05.
const LOST_SHIFT: f32 = 0.08;

/// How often to detect.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackOptions {
    /// Run the detector on every N-th frame (1 = every frame).
    pub detect_every: u32,
}

impl Default for TrackOptions {
    fn default() -> Self {
        Self { detect_every: 4 }
    }
}

/// Where the detector's box sits relative to the face, learnt at each detection: its size, and
/// its centre's offset from the centre of the eyes and nose (points 27–47, which keep their
/// shape when the mouth and jaw move). Carried over, it looks to the shape predictor like the
/// box the detector would have given.
#[derive(Debug, Clone, Copy)]
struct BoxFit {
    width: f32,
    height: f32,
    dx: f32,
    dy: f32,
}

/// The mean of the nose and eye points.
fn anchor(landmarks: &Landmarks) -> crate::face::Point {
    let points = landmarks.part(27..48);
    let n = points.len() as f32;
    let (x, y) = points
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p.x, y + p.y));
    crate::face::Point::new(x / n, y / n)
}

impl BoxFit {
    fn learn(bbox: &FaceBox, landmarks: &Landmarks) -> BoxFit {
        let a = anchor(landmarks);
        let c = bbox.center();
        BoxFit {
            width: bbox.width(),
            height: bbox.height(),
            dx: c.x - a.x,
            dy: c.y - a.y,
        }
    }

    fn apply(&self, landmarks: &Landmarks) -> FaceBox {
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

/// Counts of what the tracker did.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct TrackStats {
    pub frames: u64,
    pub detections: u64,
    pub frames_with_face: u64,
}

/// The main face of a stream, frame after frame.
pub struct FaceTracker {
    analyzer: FaceAnalyzer,
    options: TrackOptions,
    previous: Option<(Landmarks, BoxFit)>,
    since_detection: u32,
    stats: TrackStats,
}

impl FaceTracker {
    pub fn new(analyzer: FaceAnalyzer, options: TrackOptions) -> FaceTracker {
        FaceTracker {
            analyzer,
            options,
            previous: None,
            since_detection: 0,
            stats: TrackStats::default(),
        }
    }

    pub fn stats(&self) -> TrackStats {
        self.stats
    }

    /// The landmarks of the face in the last frame tracked, if it showed one.
    pub fn landmarks(&self) -> Option<&Landmarks> {
        self.previous.as_ref().map(|(landmarks, _)| landmarks)
    }

    pub fn analyzer(&self) -> &FaceAnalyzer {
        &self.analyzer
    }

    /// The main face in `frame`, if there is one.
    pub fn track(&mut self, frame: &Rgb8) -> Result<Option<Face>, FaceError> {
        self.stats.frames += 1;
        let due = self.since_detection + 1 >= self.options.detect_every.max(1);
        let face = match (&self.previous, due) {
            (Some((landmarks, fit)), false) => self.follow(frame, landmarks.clone(), *fit)?,
            _ => self.detect(frame)?,
        };
        self.stats.frames_with_face += u64::from(face.is_some());
        Ok(face)
    }

    fn detect(&mut self, frame: &Rgb8) -> Result<Option<Face>, FaceError> {
        self.stats.detections += 1;
        self.since_detection = 0;
        let face = self.analyzer.faces(frame)?.into_iter().next();
        self.previous = face
            .as_ref()
            .map(|f| (f.landmarks.clone(), BoxFit::learn(&f.bbox, &f.landmarks)));
        Ok(face)
    }

    /// Landmarks inside the box carried over from the previous frame; a face that drifted out
    /// of the frame counts as lost and is detected again at once.
    fn follow(
        &mut self,
        frame: &Rgb8,
        previous: Landmarks,
        fit: BoxFit,
    ) -> Result<Option<Face>, FaceError> {
        let patch = self.analyzer.patch(frame, &fit.apply(&previous))?;
        let predict = |from: &Landmarks| self.analyzer.landmarks_in_patch(&patch, &fit.apply(from));
        let Some(first) = predict(&previous) else {
            return self.detect(frame);
        };
        // A face that barely moved is done; one that moved is predicted again from where it
        // is now, and if that still moves it a lot, the tracker has lost it.
        let landmarks = if first.nme(&previous) < SETTLED {
            first
        } else {
            let Some(second) = predict(&first) else {
                return self.detect(frame);
            };
            if second.nme(&first) > LOST_SHIFT {
                return self.detect(frame);
            }
            second
        };
        if !inside(&landmarks.bounds(), frame) {
            return self.detect(frame);
        }
        self.since_detection += 1;
        self.previous = Some((landmarks.clone(), fit));
        Ok(Some(Face {
            bbox: fit.apply(&landmarks),
            landmarks,
        }))
    }
}

fn inside(b: &FaceBox, frame: &Rgb8) -> bool {
    let (w, h) = (frame.width() as f32, frame.height() as f32);
    b.left >= 0.0
        && b.top >= 0.0
        && b.right < w
        && b.bottom < h
        && b.width() > 4.0
        && b.height() > 4.0
}
