//! One frame through the session (DESIGN §2): detect/track → landmarks → smooth →
//! (retarget) → sketch (reenact) or alignment (swap) → generator → blend → compose, handed
//! back as one [`FrameOutput`]; in stylise mode the whole frame goes to the generator.
//!
//! Tracking comes first and gives the [`Tracked`] faces (one, unless a swap follows several);
//! the processing side of the model's mode ([`Process`]) follows: [`Reenactor`] (framing →
//! [`Target`]: sketch and reference → generator), [`Swapper`] (each face: align → its
//! generator → blend back) or [`Stylizer`] (letterbox → generator → back to the frame's size). [`Session`] runs them and the composer, built from
//! a plain [`SessionConfig`]; [`Stages`] runs tracking on a thread of its own, a frame ahead.
//! Where frames come from is [`crate::capture`], where they go [`crate::output`], and the
//! loop that joins the three is the `live` module, above this one.

pub mod config;
pub mod reenact;
pub mod session;
pub mod stages;
pub mod stylize;
pub mod swap;
pub mod target;

use std::path::PathBuf;
use std::time::Duration;

pub use config::{FaceMap, RetargetConfig, RetargetMode, SessionConfig, SmoothTweaks, MAX_FACES};
pub use reenact::{Reenactor, Retargeting};
pub use session::{Fault, FrameOutput, FrameTimes, Process, Session};
pub use stages::Stages;
pub use stylize::Stylizer;
pub use swap::Swapper;
pub use target::{Target, TargetTimes};

use crate::face::smooth::SteadyLandmarks;
use crate::face::track::FaceTracker;
use crate::face::{Face, FaceError, Landmarks};
use crate::frame::change::FrameChange;
use crate::frame::Rgb8;
use crate::infer::{InferError, ModelKind};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Face(#[from] FaceError),
    #[error(transparent)]
    Infer(#[from] InferError),
    #[error(transparent)]
    Reference(#[from] crate::face::reference::ReferenceError),
    #[error(transparent)]
    Profile(#[from] crate::reenact::calibrate::ProfileError),
    #[error("{0} faces asked for: give --faces from 1 to {max}", max = config::MAX_FACES)]
    Faces(usize),
    #[error("several faces (--faces, --map) are swapped, and this is a {} model: give a swap model (`mimic train swap`), or leave them out to drive with one face", .0.name())]
    ManyFacesNeedSwap(ModelKind),
    #[error("one person (--swap-only) and several faces (--faces, --map) were both asked for: give one of them")]
    OnlyAndMany,
    #[error("face '{face}' is mapped to a model that is not among the {models} loaded")]
    Cast { face: String, models: usize },
    #[error("the frame path's threads failed: {0}")]
    Thread(String),
    #[error("'{}' has no target neutral in its card (a model trained before retargeting): train it again with `mimic train pix2pix` on its dataset, which writes one (re-extract the dataset first with `mimic extract reenact` if it has no landmarks.json), or run it with --retarget none", .0.display())]
    NoNeutral(PathBuf),
    #[error("'{}' is a {kind:?} model, not a {mode:?} model: give --mode {} or a {mode:?} model (reenact: `mimic train pix2pix`; swap: `mimic train swap`)", model.display(), kind.name())]
    WrongMode {
        model: PathBuf,
        kind: ModelKind,
        mode: ModelKind,
    },
    #[error("'{}' takes the target's reference picture beside its input: it is a reenactment model, and runs with its card beside it ({})", model.display(), card.display())]
    TakesReference { model: PathBuf, card: PathBuf },
}

/// What the tracking stage found in one frame, and how long it took.
#[derive(Debug, Clone, Default)]
pub struct Tracked {
    /// Each face the tracker follows, in the order of its roles (none where it is not in
    /// view); one unless the session follows several.
    pub faces: Vec<Option<Face>>,
    /// How the frame differed from the one before (a repeat's `face` shows where the face was
    /// a frame ago; after a cut it is another face).
    pub change: FrameChange,
    /// Why tracking failed on this frame, when it did (the face counts as lost).
    pub fault: Option<String>,
    /// Finding the face's landmarks, a detection inside the frame included.
    pub landmarks: Duration,
    /// A face detection that finished with this frame (inside it, or beside the frames).
    pub detection: Option<Duration>,
}

impl Tracked {
    /// The faces `tracker` follows into `frame`. A frame the tracker fails on is a frame
    /// without a face (the tracker detects afresh on the next), with the failure in `fault`.
    pub fn by(tracker: &mut FaceTracker, frame: &Rgb8) -> Tracked {
        let started = std::time::Instant::now();
        let (faces, fault) = match tracker.track_all(frame) {
            Ok(faces) => (faces, None),
            Err(error) => (Vec::new(), Some(error.to_string())),
        };
        Tracked {
            faces,
            change: tracker.change(),
            fault,
            landmarks: started.elapsed(),
            detection: tracker.take_detection_time(),
        }
    }

    /// The face of the tracker's `role`-th role in this frame, if it is in view.
    pub fn face(&self, role: usize) -> Option<&Face> {
        self.faces.get(role).and_then(Option::as_ref)
    }

    /// The `role`-th face in this frame and its landmarks as `steady` steadies them;
    /// `steady` forgets the face when the frame does not show it.
    pub fn steadied<'a>(
        &'a self,
        role: usize,
        steady: &'a mut SteadyLandmarks,
        t: f64,
    ) -> Option<(&'a Face, &'a Landmarks)> {
        let face = self.face(role);
        let landmarks = steady.update(face.map(|f| &f.landmarks), t, self.change);
        face.zip(landmarks)
    }
}

/// Time spent in each stage of one frame.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageTimes {
    /// A face detection that finished with this frame (inside it, or beside the frames).
    pub detection: Option<Duration>,
    /// Finding the face's landmarks in this frame, a detection inside it included.
    pub landmarks: Duration,
    /// Drawing the sketch (reenact), cutting out the aligned face (swap) or letterboxing the
    /// frame (stylise).
    pub prepare: Duration,
    pub generator: Duration,
    /// Mask, colour match and blend back into the frame (swap), or scaling the output back
    /// to the frame (stylise).
    pub blend: Duration,
    /// The faces processed (prepared, generated and blended): the times above are their sums.
    pub faces: u32,
}

impl StageTimes {
    /// Takes the tracking stage's times for this frame.
    pub fn tracked(&mut self, found: &Tracked) {
        self.landmarks = found.landmarks;
        self.detection = found.detection;
    }
}
