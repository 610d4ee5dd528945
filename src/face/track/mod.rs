//! Following one face through a stream cheaply: the detector runs only every few frames or when
//! the face is lost; in between, the 68 landmarks are predicted inside a box carried over from
//! the previous frame, moved on by the face's motion. A cut to another shot detects at once.
//!
//! On a 512×512 frame here a detection costs about 20 ms (MTCNN; HOG's 30) and a followed
//! frame about 2 ms, so this is most of what keeps face analysis within a live frame's budget.
//! Detecting on a scaled-down frame was tried and dropped: its boxes differ enough to double the
//! landmarks' disagreement with per-frame detection (NME 0.004 → 0.009 on d9, with HOG).
//!
//! The face followed between detections is in `follow.rs`, the detection thread in
//! `background.rs`.

mod background;
mod follow;

use std::time::{Duration, Instant};

use serde::Serialize;

use self::background::{Background, Pick};
use self::follow::{fast, in_view, motion, BoxFit, Followed};
use crate::face::{Face, FaceAnalyzer, FaceError, IdentityFilter, Landmarks};
use crate::frame::change::{ChangeCheck, FrameChange};
use crate::frame::Rgb8;

/// A prediction whose eyes and nose land within this fraction of the face box of where its box
/// put them is settled: the box it was predicted in is where the detector would have put it.
/// Otherwise it is predicted again from the box fitted to the first prediction, so fast motion
/// is followed too. Measured on d9, d3 and d12: a second prediction from a box this close moves
/// the landmarks by about as much as frame-to-frame noise.
const SETTLED: f32 = 0.03;

/// When the second prediction still moves the landmarks by more than this (NME), the face moved
/// faster than the tracker followed: detect again on this frame. Measured on d12.mp4 (large
/// head motion), every tracking failure moved by more than this; good frames mostly by less
/// than 0.05.
const LOST_SHIFT: f32 = 0.08;

/// A background detection whose landmarks differ from those followed on the same frame by more
/// than this (NME) shows the tracker drifted: it detects again in the frame at hand. On d12.mp4
/// (fast head motion) this keeps the track within 2 % of per-frame detection.
const DRIFTED: f32 = 0.03;

/// How often, and where, to detect.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackOptions {
    /// Run the detector on every N-th frame (1 = every frame).
    pub detect_every: u32,
    /// Run the periodic detections on a thread of their own while the frames go on (the live
    /// loop), rather than inside the frame that is due (reproducible, for `mimic track`). Only
    /// a face that is lost is detected inside the frame either way.
    pub background: bool,
    /// Which face to follow, by size: 0 the largest, 1 the next, and so on.
    pub face_index: usize,
}

impl Default for TrackOptions {
    fn default() -> Self {
        Self {
            detect_every: 4,
            background: false,
            face_index: 0,
        }
    }
}

/// Counts of what the tracker did.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct TrackStats {
    pub frames: u64,
    pub detections: u64,
    pub frames_with_face: u64,
    /// Frames that repeated the one before.
    pub repeats: u64,
    /// Cuts to another shot (each detected at once).
    pub cuts: u64,
}

/// One face of a stream (the largest, or the one `face_index` picks), frame after frame.
pub struct FaceTracker {
    analyzer: FaceAnalyzer,
    options: TrackOptions,
    previous: Option<Followed>,
    since_detection: u32,
    background: Option<Background>,
    detection_time: Option<Duration>,
    stats: TrackStats,
    changes: ChangeCheck,
    change: FrameChange,
    /// Follow only this person (see [`Self::only`]).
    only: Option<IdentityFilter>,
}

impl FaceTracker {
    /// A tracker; with `options.background`, its detection thread starts here.
    pub fn new(analyzer: FaceAnalyzer, options: TrackOptions) -> Result<FaceTracker, FaceError> {
        let background = match options.background {
            true => Some(Background::start(
                analyzer.twin()?,
                Pick::Index(options.face_index),
            )),
            false => None,
        };
        Ok(FaceTracker {
            analyzer,
            options,
            previous: None,
            since_detection: 0,
            background,
            detection_time: None,
            stats: TrackStats::default(),
            changes: ChangeCheck::new(),
            change: FrameChange::New,
            only: None,
        })
    }

    /// Follows only the person `filter` recognises: whenever the face is detected in a frame,
    /// the face within the filter's threshold of its reference (the nearest, if several) is
    /// the one followed, and none when nobody matches; a detection beside the frames keeps to
    /// the face where the followed one is. The analyzer needs its descriptor network.
    pub fn only(mut self, filter: IdentityFilter) -> Result<FaceTracker, FaceError> {
        if self.background.is_some() {
            self.background = Some(Background::start(self.analyzer.twin()?, Pick::Nearest));
        }
        self.only = Some(filter);
        Ok(self)
    }

    /// How long the last detection that finished took (in the frame or beside it), once.
    pub fn take_detection_time(&mut self) -> Option<Duration> {
        self.detection_time.take()
    }

    pub fn stats(&self) -> TrackStats {
        self.stats
    }

    /// How the last frame tracked differed from the one before it: a repeat's face is where it
    /// was a frame ago, not a new sighting of where it is; after a cut it is another face.
    pub fn change(&self) -> FrameChange {
        self.change
    }

    /// The landmarks of the face in the last frame tracked, if it showed one.
    pub fn landmarks(&self) -> Option<&Landmarks> {
        self.previous.as_ref().map(|f| &f.landmarks)
    }

    pub fn analyzer(&self) -> &FaceAnalyzer {
        &self.analyzer
    }

    /// Frames start again from a new source (a camera reopened): the face followed and the
    /// frame before are forgotten, and the next frame detects afresh.
    pub fn restart(&mut self) {
        self.previous = None;
        self.changes = ChangeCheck::new();
        self.change = FrameChange::New;
    }

    /// The main face in `frame`, if there is one.
    pub fn track(&mut self, frame: &Rgb8) -> Result<Option<Face>, FaceError> {
        self.stats.frames += 1;
        self.absorb_background();
        // A repeat is tracked all the same: fitting the landmarks again to the same picture
        // brings them closer to where detection puts them (on d12, NME 0.014 against 0.019 when
        // a repeat took the last frame's face as it was).
        self.see_change(frame);
        let due = self.since_detection + 1 >= self.options.detect_every.max(1);
        let beside = self.background.is_some() && !self.previous.as_ref().is_some_and(fast);
        let face = match (self.previous.take(), due, beside) {
            (Some(followed), false, _) => self.follow_or_detect(frame, followed)?,
            (Some(followed), true, true) => {
                let face = self.follow_or_detect(frame, followed)?;
                self.detect_beside(frame, face.as_ref());
                face
            }
            _ => self.detect(frame)?,
        };
        self.stats.frames_with_face += u64::from(face.is_some());
        Ok(face)
    }

    /// Tells how `frame` differs from the one before; after a cut nothing of the face before
    /// holds, not even a detection still running on the old shot.
    fn see_change(&mut self, frame: &Rgb8) {
        self.change = self.changes.change(frame);
        match self.change {
            FrameChange::New => {}
            FrameChange::Repeat => self.stats.repeats += 1,
            FrameChange::Cut => {
                self.stats.cuts += 1;
                self.previous = None;
                if let Some(background) = &mut self.background {
                    background.forget();
                }
            }
        }
    }

    fn detect(&mut self, frame: &Rgb8) -> Result<Option<Face>, FaceError> {
        self.stats.detections += 1;
        self.since_detection = 0;
        let started = Instant::now();
        let face = match &self.only {
            Some(filter) => self.recognised(frame, filter)?,
            None => self
                .analyzer
                .faces(frame)?
                .into_iter()
                .nth(self.options.face_index),
        };
        self.detection_time = Some(started.elapsed());
        self.previous = face
            .as_ref()
            .map(|f| Followed::new(f.landmarks.clone(), BoxFit::learn(&f.bbox, &f.landmarks)));
        Ok(face)
    }

    /// The face in `frame` that `filter` recognises, the nearest to its reference if several.
    fn recognised(&self, frame: &Rgb8, filter: &IdentityFilter) -> Result<Option<Face>, FaceError> {
        let distances = self
            .analyzer
            .faces_with_descriptors(frame)?
            .into_iter()
            .filter_map(|(face, descriptor)| Some((filter.distance(&descriptor?), face)))
            .filter(|(distance, _)| *distance <= filter.threshold());
        Ok(distances
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, face)| face))
    }

    /// Hands this frame to the detection thread, unless it is still busy with an earlier one.
    fn detect_beside(&mut self, frame: &Rgb8, face: Option<&Face>) {
        let (Some(background), Some(face)) = (&mut self.background, face) else {
            return;
        };
        if self.since_detection == 0 {
            return; // the face was just detected in this frame
        }
        if background.send(frame, &face.landmarks) {
            self.stats.detections += 1;
            self.since_detection = 0;
        }
    }

    /// Takes in a detection finished beside the frames. The face it found refreshes the box
    /// fit; if the tracker had drifted from it on that frame, or the detector saw no face
    /// there, the tracker lets go, and this frame detects afresh.
    fn absorb_background(&mut self) {
        let Some(finished) = self.background.as_mut().and_then(Background::finished) else {
            return;
        };
        self.detection_time = Some(finished.took);
        let Some(previous) = &mut self.previous else {
            return;
        };
        match finished.face {
            Some(found) if found.landmarks.nme(&finished.followed) <= DRIFTED => {
                previous.fit = BoxFit::learn(&found.bbox, &found.landmarks);
            }
            _ => self.previous = None,
        }
    }

    /// Starts following `face`, found in `frame` by a detection made elsewhere (the
    /// extraction's own, which also checks who it is).
    pub fn follow_from(&mut self, frame: &Rgb8, face: &Face) {
        self.see_change(frame);
        let fit = BoxFit::learn(&face.bbox, &face.landmarks);
        self.previous = Some(Followed::new(face.landmarks.clone(), fit));
        self.since_detection = 0;
    }

    /// The followed face in `frame`, without detecting: `None` when there is none to follow, it
    /// was lost, or the frame cuts to another shot (the caller detects).
    pub fn follow_only(&mut self, frame: &Rgb8) -> Result<Option<Face>, FaceError> {
        self.stats.frames += 1;
        self.see_change(frame);
        let Some(previous) = self.previous.take() else {
            return Ok(None);
        };
        let face = self.follow(frame, previous)?;
        self.stats.frames_with_face += u64::from(face.is_some());
        Ok(face)
    }

    fn follow_or_detect(
        &mut self,
        frame: &Rgb8,
        previous: Followed,
    ) -> Result<Option<Face>, FaceError> {
        match self.follow(frame, previous)? {
            Some(face) => Ok(Some(face)),
            None => self.detect(frame),
        }
    }

    /// Landmarks inside the box carried over from the previous frame (moved on by the face's
    /// motion); `None` when the face was lost (its eyes and nose left the frame, or the
    /// prediction would not settle).
    fn follow(&mut self, frame: &Rgb8, previous: Followed) -> Result<Option<Face>, FaceError> {
        let fit = previous.fit;
        let start = previous.predicted();
        // A box the face cannot be cut from (it left the frame) is a lost face.
        let Ok(patch) = self.analyzer.patch(frame, &fit.apply(&start)) else {
            return Ok(None);
        };
        let predict = |from: &Landmarks| self.analyzer.landmarks_in_patch(&patch, &fit.apply(from));
        let Some(first) = predict(&start) else {
            return Ok(None);
        };
        // A prediction that stayed where its box put the face is done; one that moved is
        // predicted again from where it is now, and if that still moves a lot, the tracker has
        // lost the face.
        let shift = motion(&start, &first);
        let landmarks = if shift.x.hypot(shift.y) < SETTLED * fit.width {
            first
        } else {
            let Some(second) = predict(&first) else {
                return Ok(None);
            };
            if second.nme(&first) > LOST_SHIFT {
                return Ok(None);
            }
            second
        };
        if !in_view(&landmarks, frame) {
            return Ok(None);
        }
        self.since_detection += 1;
        let velocity = motion(&previous.landmarks, &landmarks);
        self.previous = Some(Followed {
            landmarks: landmarks.clone(),
            fit,
            velocity,
        });
        Ok(Some(Face {
            bbox: fit.apply(&landmarks),
            landmarks,
            points: None,
        }))
    }
}
