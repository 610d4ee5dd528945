//! One frame through the whole frame path, timed stage by stage: tracking, then the
//! processing side of the model's mode and the composer, handing back one [`FrameOutput`].
//! What the live loop runs for `mimic live`, `bench` and `demo` alike; tracking can be taken
//! to a thread of its own ([`super::Stages`]).

use std::time::{Duration, Instant};

use super::{PipelineError, StageTimes, Tracked};
use crate::face::track::FaceTracker;
use crate::face::Landmarks;
use crate::frame::{Frame, Rgb8};
use crate::infer::{Generator, GeneratorTimings, ModelKind};
use crate::output::compose::{Composer, Label, Overlay, Panels, Picture};
use crate::output::Control;

/// Time spent in each stage of one frame, and from capture to the composed frame.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameTimes {
    /// A face detection that finished with this frame (inside it, or beside the frames).
    pub detection: Option<Duration>,
    pub landmarks: Duration,
    /// The sketch (reenact), the aligned face (swap) or the letterboxed frame (stylise).
    pub prepare: Duration,
    pub preprocess: Duration,
    pub generator: Duration,
    pub postprocess: Duration,
    /// Mask, colour match and blend back into the frame (swap), or the output scaled back
    /// to the frame (stylise).
    pub blend: Duration,
    /// The faces processed (swapped; one in reenactment and stylise): the stages from
    /// `prepare` to `blend` are their sums.
    pub faces: u32,
    pub compose: Duration,
    /// From the frame's capture (or decode) to its composite being ready.
    pub latency: Duration,
}

/// What the session asks of each mode's processing side (reenact, swap, stylise), so it asks
/// without knowing the mode.
pub trait Process {
    /// Runs the generator once before the first frame.
    fn warm_up(&mut self) -> Result<(), PipelineError>;
    /// Processes one frame, taken at `t` seconds, and the face tracked in it; whether it
    /// showed what the mode needs (a face; stylise always does).
    fn process(&mut self, frame: &Rgb8, tracked: &Tracked, t: f64) -> Result<bool, PipelineError>;
    /// The stage times of the last frame.
    fn times(&self) -> StageTimes;
    fn generator(&self) -> &Generator;
    /// The generator's phases in the last frame (summed over its faces).
    fn phases(&self) -> GeneratorTimings {
        self.generator().timings()
    }
    /// The driver's steadied landmarks in the last frame (frame pixels), if it showed a face.
    fn landmarks(&self) -> Option<&Landmarks> {
        None
    }
    /// The faces in view with their names, for the window to show who is whom (none when
    /// the session follows one face it has no name for).
    fn labels(&self) -> Vec<Label<'_>> {
        Vec::new()
    }
    /// What the second and third panels show.
    fn panels(&self) -> (&Rgb8, &Rgb8);
    /// Whether a frame without a face still shows the second panel (a swap passes the frame
    /// through; a reenactment has nothing to show).
    fn shows_frames_without_a_face(&self) -> bool {
        false
    }
    /// The frames start again from a new source (a camera reopened): forget the face's
    /// motion so far, so it is not carried across the break.
    fn restart(&mut self) {}
    /// Acts on a control meant for this mode (the swap's mask and colours, the reenactment's
    /// neutral face); what changed, for people.
    fn control(&mut self, _control: Control) -> Option<String> {
        None
    }
}

/// Why a frame went on without the model's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Finding the face failed (the face counts as lost; the tracker detects afresh).
    Tracking(String),
    /// The processing side failed (the generator, the blend).
    Processing(String),
}

impl Fault {
    /// What failed, in a word: "tracking" or "processing".
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Tracking(_) => "tracking",
            Fault::Processing(_) => "processing",
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Tracking(why) | Fault::Processing(why) => f.write_str(why),
        }
    }
}

/// One frame through the session: the composite and what it was made of, the driver's
/// landmarks, each stage's time, and what happened.
pub struct FrameOutput<'a> {
    /// The composite in the session's view, with the panels for any other view.
    pub picture: Picture<'a>,
    /// The driver's steadied landmarks (frame pixels), when the frame showed a face.
    pub landmarks: Option<&'a Landmarks>,
    pub times: FrameTimes,
    /// Whether the frame showed what the mode needs (a face; stylise always does).
    pub face: bool,
    /// Why the frame went on without the model's output, when it did: it is shown as it came.
    pub fault: Option<Fault>,
}

/// The tracker, the processing side of the model's mode and the composer, run frame after
/// frame.
pub struct Session {
    /// The face modes' tracker (stylise mode has none); away while [`super::Stages`] runs it.
    tracker: Option<FaceTracker>,
    processor: Box<dyn Process>,
    composer: Composer,
    mode: ModelKind,
    /// What the user should know about how the session runs (a card-less model's defaults).
    pub(super) note: Option<String>,
}

impl Session {
    /// Builds the session and warms the generator up.
    pub fn new(
        tracker: Option<FaceTracker>,
        mut processor: Box<dyn Process>,
        composer: Composer,
        mode: ModelKind,
    ) -> Result<Session, PipelineError> {
        processor.warm_up()?;
        Ok(Session {
            tracker,
            processor,
            composer,
            mode,
            note: None,
        })
    }

    /// The face tracker (none in stylise mode, or while tracking runs on its own thread).
    pub fn tracker(&self) -> Option<&FaceTracker> {
        self.tracker.as_ref()
    }

    /// Takes the tracker out, for a tracking stage of its own.
    pub fn take_tracker(&mut self) -> Option<FaceTracker> {
        self.tracker.take()
    }

    /// Puts the tracker back after its stage.
    pub fn restore_tracker(&mut self, tracker: Option<FaceTracker>) {
        self.tracker = tracker;
    }

    pub fn generator(&self) -> &Generator {
        self.processor.generator()
    }

    /// The mode the session runs in.
    pub fn mode(&self) -> ModelKind {
        self.mode
    }

    /// What the user should know about how the session runs, if anything.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    pub fn composer(&self) -> &Composer {
        &self.composer
    }

    /// Tracks, processes and composes one frame, on the caller's thread.
    pub fn process<'a>(&'a mut self, frame: &'a Frame) -> FrameOutput<'a> {
        let tracked = track(self.tracker.as_mut(), &frame.image);
        self.process_tracked(frame, &tracked)
    }

    /// Processes and composes one frame already tracked. A frame that fails is a frame, not
    /// the end of the run: it is composed as it came, and the output says why.
    pub fn process_tracked<'a>(
        &'a mut self,
        frame: &'a Frame,
        tracked: &Tracked,
    ) -> FrameOutput<'a> {
        let t = frame.t.as_secs_f64();
        let (face, fault) = match self.processor.process(&frame.image, tracked, t) {
            Ok(face) => (face, tracked.fault.clone().map(Fault::Tracking)),
            Err(error) => (false, Some(Fault::Processing(error.to_string()))),
        };
        let processed = !matches!(fault, Some(Fault::Processing(_)));
        let side = self.processor.as_ref();
        let (stages, phases) = (side.times(), side.phases());
        let started = Instant::now();
        let (main, second) = side.panels();
        let panels = Panels {
            live: &frame.image,
            generated: (processed && (face || side.shows_frames_without_a_face())).then_some(main),
            sketch: face.then_some(second),
        };
        let landmarks = side.landmarks().filter(|_| face);
        let labels = side.labels();
        let overlay = Overlay {
            landmarks,
            labels: &labels,
        };
        let overlaid = self.composer.overlays(&overlay);
        self.composer
            .compose(panels.live, panels.generated, panels.sketch, overlay);
        let ran = |d: Duration| if face { d } else { Duration::ZERO };
        let times = FrameTimes {
            detection: stages.detection,
            landmarks: stages.landmarks,
            prepare: stages.prepare,
            preprocess: ran(phases.preprocess),
            generator: ran(phases.run),
            postprocess: ran(phases.postprocess),
            blend: stages.blend,
            faces: stages.faces,
            compose: started.elapsed(),
            latency: frame.captured_at.elapsed(),
        };
        FrameOutput {
            picture: Picture {
                index: frame.index,
                t: frame.t,
                composite: self.composer.canvas(),
                view: self.composer.view(),
                overlaid,
                panels,
            },
            landmarks,
            times,
            face,
            fault,
        }
    }

    /// Acts on a control that concerns the picture (the view, the overlay, the mode's own
    /// settings); what changed, for people, if anything did.
    pub fn control(&mut self, control: Control) -> Option<String> {
        match control {
            Control::CycleView => {
                let next = self.composer.view().next();
                self.composer.set_view(next);
                None
            }
            Control::ToggleLandmarks => {
                self.composer.toggle_landmarks();
                None
            }
            other => self.processor.control(other),
        }
    }

    /// Frames start again from a new source (a camera reopened): the face followed so far and
    /// its motion are forgotten. The tracker, when the caller holds it, restarts apart.
    pub fn restart(&mut self) {
        self.processor.restart();
        if let Some(tracker) = &mut self.tracker {
            tracker.restart();
        }
    }
}

/// The face `tracker` finds in `frame` (nothing to find without a tracker: stylise mode).
pub fn track(tracker: Option<&mut FaceTracker>, frame: &Rgb8) -> Tracked {
    match tracker {
        Some(tracker) => Tracked::by(tracker, frame),
        None => Tracked::default(),
    }
}
