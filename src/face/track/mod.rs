//! Following faces through a stream cheaply: the detector runs only every few frames or when
//! a face is lost; in between, each face's 68 landmarks are predicted inside a box carried over
//! from the previous frame, moved on by the face's motion. A cut to another shot detects at
//! once. One face by default; several, each with a [`Role`] saying whose it is, with
//! [`FaceTracker::cast`]: one detection serves them all, and each face is followed on its own.
//!
//! On a 512×512 frame here a detection costs about 20 ms (MTCNN; HOG's 30) and a followed
//! frame about 2 ms, so this is most of what keeps face analysis within a live frame's budget.
//! Detecting on a scaled-down frame was tried and dropped: its boxes differ enough to double the
//! landmarks' disagreement with per-frame detection (NME 0.004 → 0.009 on d9, with HOG).
//!
//! The face followed between detections is in `follow.rs`, the detection thread in
//! `background.rs`, who is whose in `cast.rs`.

mod background;
mod cast;
mod follow;

use std::time::{Duration, Instant};

use serde::Serialize;

pub use self::cast::Role;

use self::background::Background;
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

/// One face of a stream (the largest, or the one `face_index` picks), or several, each with
/// its role ([`Self::cast`]), frame after frame.
pub struct FaceTracker {
    analyzer: FaceAnalyzer,
    options: TrackOptions,
    /// The faces followed: whose each is, and where it was in the last frame.
    slots: Vec<Slot>,
    since_detection: u32,
    /// A detection beside the frames let go of a face: the next frame detects.
    let_go: bool,
    background: Option<Background>,
    detection_time: Option<Duration>,
    stats: TrackStats,
    changes: ChangeCheck,
    change: FrameChange,
}

/// One face the tracker follows: whose it is, and where it was last (none when it is not in
/// view).
struct Slot {
    role: Role,
    previous: Option<Followed>,
}

impl Slot {
    fn new(role: Role) -> Slot {
        Slot {
            role,
            previous: None,
        }
    }
}

impl FaceTracker {
    /// A tracker; with `options.background`, its detection thread starts here.
    pub fn new(analyzer: FaceAnalyzer, options: TrackOptions) -> Result<FaceTracker, FaceError> {
        let background = match options.background {
            true => Some(Background::start(analyzer.twin()?)),
            false => None,
        };
        Ok(FaceTracker {
            analyzer,
            slots: vec![Slot::new(Role::BySize(options.face_index))],
            options,
            since_detection: 0,
            let_go: false,
            background,
            detection_time: None,
            stats: TrackStats::default(),
            changes: ChangeCheck::new(),
            change: FrameChange::New,
        })
    }

    /// Follows only the person `filter` recognises: whenever the face is detected in a frame,
    /// the face within the filter's threshold of its reference (the nearest, if several) is
    /// the one followed, and none when nobody matches; a detection beside the frames keeps to
    /// the face where the followed one is. The analyzer needs its descriptor network.
    pub fn only(self, filter: IdentityFilter) -> FaceTracker {
        self.cast(vec![Role::Person(filter)])
    }

    /// Follows one face for each role, in that order ([`Self::track_all`]): at each detection
    /// the people named are recognised first (the analyzer needs its descriptor network),
    /// then each face kept by where it was, then new faces largest first; a detection beside
    /// the frames only refreshes where each face is. No roles: one face, the largest.
    pub fn cast(mut self, roles: Vec<Role>) -> FaceTracker {
        self.slots = roles.into_iter().map(Slot::new).collect();
        if self.slots.is_empty() {
            self.slots.push(Slot::new(Role::BySize(0)));
        }
        self
    }

    /// How many faces the tracker follows (the roles it was cast with).
    pub fn roles(&self) -> usize {
        self.slots.len()
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

    /// The landmarks of the (first) face in the last frame tracked, if it showed one.
    pub fn landmarks(&self) -> Option<&Landmarks> {
        self.slots[0].previous.as_ref().map(|f| &f.landmarks)
    }

    pub fn analyzer(&self) -> &FaceAnalyzer {
        &self.analyzer
    }

    /// Frames start again from a new source (a camera reopened): the face followed and the
    /// frame before are forgotten, and the next frame detects afresh.
    pub fn restart(&mut self) {
        self.let_go_of_all();
        self.changes = ChangeCheck::new();
        self.change = FrameChange::New;
    }

    /// The main face in `frame`, if there is one (the first role's, when there are several).
    pub fn track(&mut self, frame: &Rgb8) -> Result<Option<Face>, FaceError> {
        Ok(self.track_all(frame)?.into_iter().next().flatten())
    }

    /// Each role's face in `frame`, in the order of the roles (none where it is not in view).
    pub fn track_all(&mut self, frame: &Rgb8) -> Result<Vec<Option<Face>>, FaceError> {
        self.stats.frames += 1;
        self.absorb_background();
        // A repeat is tracked all the same: fitting the landmarks again to the same picture
        // brings them closer to where detection puts them (on d12, NME 0.014 against 0.019 when
        // a repeat took the last frame's face as it was).
        self.see_change(frame);
        let due = self.since_detection + 1 >= self.options.detect_every.max(1);
        let followed = self.slots.iter().filter(|s| s.previous.is_some()).count();
        let rushing = self
            .slots
            .iter()
            .any(|s| s.previous.as_ref().is_some_and(fast));
        // A face to find (a role without one) waits for a detection in the frame.
        let beside = self.background.is_some() && !rushing && followed == self.slots.len();
        let follows = followed > 0 && !self.let_go && (beside || !due);
        let faces = match follows {
            true => match self.follow_all(frame)? {
                Some(faces) if due => {
                    self.detect_beside(frame);
                    faces
                }
                Some(faces) => faces,
                None => self.detect(frame)?,
            },
            false => self.detect(frame)?,
        };
        self.stats.frames_with_face += u64::from(faces.iter().any(Option::is_some));
        Ok(faces)
    }

    /// Each followed face in `frame`; `None` when one of them was lost (the frame detects).
    fn follow_all(&mut self, frame: &Rgb8) -> Result<Option<Vec<Option<Face>>>, FaceError> {
        let mut faces = Vec::with_capacity(self.slots.len());
        for i in 0..self.slots.len() {
            let Some(previous) = self.slots[i].previous.take() else {
                faces.push(None);
                continue;
            };
            let Some((face, followed)) = self.follow(frame, previous)? else {
                return Ok(None);
            };
            self.slots[i].previous = Some(followed);
            faces.push(Some(face));
        }
        self.since_detection += 1;
        Ok(Some(faces))
    }

    fn let_go_of_all(&mut self) {
        for slot in &mut self.slots {
            slot.previous = None;
        }
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
                self.let_go_of_all();
                if let Some(background) = &mut self.background {
                    background.forget();
                }
            }
        }
    }

    /// Detects the faces in `frame` and gives each role its own (see [`Self::cast`]).
    fn detect(&mut self, frame: &Rgb8) -> Result<Vec<Option<Face>>, FaceError> {
        self.stats.detections += 1;
        self.since_detection = 0;
        self.let_go = false;
        let started = Instant::now();
        let found = match self.slots.iter().any(|s| matches!(s.role, Role::Person(_))) {
            true => self.analyzer.faces_with_descriptors(frame)?,
            false => self
                .analyzer
                .faces(frame)?
                .into_iter()
                .map(|f| (f, None))
                .collect(),
        };
        let roles: Vec<Role> = self.slots.iter().map(|s| s.role.clone()).collect();
        let was: Vec<Option<&Landmarks>> = self
            .slots
            .iter()
            .map(|s| s.previous.as_ref().map(|f| &f.landmarks))
            .collect();
        let faces = cast::assign(&roles, &was, found);
        self.detection_time = Some(started.elapsed());
        for (slot, face) in self.slots.iter_mut().zip(&faces) {
            slot.previous = face
                .as_ref()
                .map(|f| Followed::new(f.landmarks.clone(), BoxFit::learn(&f.bbox, &f.landmarks)));
        }
        Ok(faces)
    }

    /// Hands this frame to the detection thread, unless it is still busy with an earlier one.
    fn detect_beside(&mut self, frame: &Rgb8) {
        let Some(background) = &mut self.background else {
            return;
        };
        if self.since_detection == 0 {
            return; // the faces were just detected in this frame
        }
        let followed = self
            .slots
            .iter()
            .map(|s| s.previous.as_ref().map(|f| f.landmarks.clone()))
            .collect();
        if background.send(frame, followed) {
            self.stats.detections += 1;
            self.since_detection = 0;
        }
    }

    /// Takes in a detection finished beside the frames. The face each followed one became
    /// refreshes its box fit; if the tracker had drifted from it on that frame, or the
    /// detector saw no face there, the tracker lets go, and this frame detects afresh.
    fn absorb_background(&mut self) {
        let Some(finished) = self.background.as_mut().and_then(Background::finished) else {
            return;
        };
        self.detection_time = Some(finished.took);
        let roles: Vec<Role> = self.slots.iter().map(|s| s.role.clone()).collect();
        let found = cast::refresh(&roles, &finished.followed, &finished.faces);
        for ((slot, followed), found) in self.slots.iter_mut().zip(&finished.followed).zip(found) {
            let (Some(previous), Some(followed)) = (&mut slot.previous, followed) else {
                continue;
            };
            match found {
                Some(face) if face.landmarks.nme(followed) <= DRIFTED => {
                    previous.fit = BoxFit::learn(&face.bbox, &face.landmarks);
                }
                _ => {
                    slot.previous = None;
                    self.let_go = true;
                }
            }
        }
    }

    /// Starts following `face`, found in `frame` by a detection made elsewhere (the
    /// extraction's own, which also checks who it is).
    pub fn follow_from(&mut self, frame: &Rgb8, face: &Face) {
        self.see_change(frame);
        let fit = BoxFit::learn(&face.bbox, &face.landmarks);
        self.slots[0].previous = Some(Followed::new(face.landmarks.clone(), fit));
        self.since_detection = 0;
    }

    /// The followed face in `frame`, without detecting: `None` when there is none to follow, it
    /// was lost, or the frame cuts to another shot (the caller detects).
    pub fn follow_only(&mut self, frame: &Rgb8) -> Result<Option<Face>, FaceError> {
        self.stats.frames += 1;
        self.see_change(frame);
        let Some(previous) = self.slots[0].previous.take() else {
            return Ok(None);
        };
        let Some((face, followed)) = self.follow(frame, previous)? else {
            return Ok(None);
        };
        self.slots[0].previous = Some(followed);
        self.since_detection += 1;
        self.stats.frames_with_face += 1;
        Ok(Some(face))
    }

    /// Landmarks inside the box carried over from the previous frame (moved on by the face's
    /// motion), and the face followed so far; `None` when the face was lost (its eyes and
    /// nose left the frame, or the prediction would not settle).
    fn follow(
        &self,
        frame: &Rgb8,
        previous: Followed,
    ) -> Result<Option<(Face, Followed)>, FaceError> {
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
        let velocity = motion(&previous.landmarks, &landmarks);
        let face = Face {
            bbox: fit.apply(&landmarks),
            landmarks: landmarks.clone(),
            points: None,
        };
        let followed = Followed {
            landmarks,
            fit,
            velocity,
        };
        Ok(Some((face, followed)))
    }
}
