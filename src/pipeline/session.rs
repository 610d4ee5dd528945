//! One frame through the whole frame path, timed stage by stage: tracking, then the
//! processing side and the composer. What `mimic live` and `mimic bench` both run, so the
//! benchmark measures the live loop itself; tracking can be taken to a thread of its own
//! ([`super::Stages`]).

use std::time::{Duration, Instant};

use super::{PipelineError, Reenactor, StageTimes, Stylizer, Swapper, Tracked};
use crate::face::track::FaceTracker;
use crate::face::Landmarks;
use crate::frame::{Frame, Rgb8};
use crate::infer::Generator;
use crate::output::compose::{Composer, View};

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
    /// The driver's steadied landmarks in the last frame (frame pixels), if it showed a face.
    fn landmarks(&self) -> Option<&Landmarks> {
        None
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
}

/// The processing side of one mode (boxed: each keeps its buffers and faces inline, kilobytes
/// apart in size); commands reach the mode's own controls through it.
pub enum Processor {
    Reenact(Box<Reenactor>),
    Swap(Box<Swapper>),
    Stylize(Box<Stylizer>),
}

impl Processor {
    fn process_side(&self) -> &dyn Process {
        match self {
            Processor::Reenact(r) => r.as_ref(),
            Processor::Swap(s) => s.as_ref(),
            Processor::Stylize(s) => s.as_ref(),
        }
    }

    fn process_side_mut(&mut self) -> &mut dyn Process {
        match self {
            Processor::Reenact(r) => r.as_mut(),
            Processor::Swap(s) => s.as_mut(),
            Processor::Stylize(s) => s.as_mut(),
        }
    }

    pub fn generator(&self) -> &Generator {
        self.process_side().generator()
    }
}

/// The tracker, the processing side and the composer, run frame after frame; while
/// recording or streaming, composers of their own hold the recording's and the live outputs'
/// views, so the window can change views meanwhile.
pub struct Session {
    /// The face modes' tracker (stylise mode has none); away while [`super::Stages`] runs it.
    tracker: Option<FaceTracker>,
    processor: Processor,
    composer: Composer,
    recording: Option<Composer>,
    streaming: Option<Composer>,
}

impl Session {
    /// Builds the session and warms the generator up.
    pub fn new(
        tracker: Option<FaceTracker>,
        mut processor: Processor,
        composer: Composer,
    ) -> Result<Session, PipelineError> {
        processor.process_side_mut().warm_up()?;
        Ok(Session {
            tracker,
            processor,
            composer,
            recording: None,
            streaming: None,
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

    pub fn processor(&self) -> &Processor {
        &self.processor
    }

    pub fn processor_mut(&mut self) -> &mut Processor {
        &mut self.processor
    }

    pub fn composer(&self) -> &Composer {
        &self.composer
    }

    pub fn composer_mut(&mut self) -> &mut Composer {
        &mut self.composer
    }

    /// Composes recording frames in `view` from now on (`None`: no recording).
    pub fn record_view(&mut self, view: Option<View>) {
        self.recording = view.map(|v| self.composer.for_view(v));
    }

    /// The size of a recording frame for a live frame of this size.
    pub fn recording_size_for(&self, width: u32, height: u32) -> (u32, u32) {
        self.recording
            .as_ref()
            .unwrap_or(&self.composer)
            .size_for(width, height)
    }

    /// The last frame for the recording: its own composite, or the window's when they match.
    pub fn recording(&self) -> &Rgb8 {
        match &self.recording {
            Some(r) if !shares_composite(&self.composer, r) => r.canvas(),
            _ => self.composer.canvas(),
        }
    }

    /// Composes frames for the live outputs in `view` from now on (`None`: no outputs).
    pub fn stream_view(&mut self, view: Option<View>) {
        self.streaming = view.map(|v| self.composer.for_view(v));
    }

    /// The size of a live output's frame for a live frame of this size.
    pub fn streaming_size_for(&self, width: u32, height: u32) -> (u32, u32) {
        self.streaming
            .as_ref()
            .unwrap_or(&self.composer)
            .size_for(width, height)
    }

    /// The last frame for the live outputs: their own composite, or the recording's or the
    /// window's when they match.
    pub fn streamed(&self) -> &Rgb8 {
        match (&self.streaming, &self.recording) {
            (Some(s), Some(r)) if s.view() == r.view() => self.recording(),
            (Some(s), _) if !shares_composite(&self.composer, s) => s.canvas(),
            _ => self.composer.canvas(),
        }
    }

    /// Tracks, processes and composes one frame; returns whether it showed a face, and its
    /// times.
    pub fn step(&mut self, frame: &Frame) -> Result<(bool, FrameTimes), PipelineError> {
        let tracked = track(self.tracker.as_mut(), &frame.image);
        self.finish(frame, &tracked)
    }

    /// Processes and composes one frame already tracked.
    pub fn finish(
        &mut self,
        frame: &Frame,
        tracked: &Tracked,
    ) -> Result<(bool, FrameTimes), PipelineError> {
        let t = frame.t.as_secs_f64();
        let face = self
            .processor
            .process_side_mut()
            .process(&frame.image, tracked, t)?;
        let side = self.processor.process_side();
        let (stages, phases) = (side.times(), side.generator().timings());
        let started = Instant::now();
        let (main, second) = side.panels();
        let main = (face || side.shows_frames_without_a_face()).then_some(main);
        let second = face.then_some(second);
        let landmarks = side.landmarks().filter(|_| face);
        self.composer.compose(&frame.image, main, second, landmarks);
        compose_beside(
            &self.composer,
            &mut self.recording,
            &mut self.streaming,
            (&frame.image, main, second),
        );
        let times = FrameTimes {
            detection: stages.detection,
            landmarks: stages.landmarks,
            prepare: stages.prepare,
            preprocess: if face {
                phases.preprocess
            } else {
                Duration::ZERO
            },
            generator: if face { phases.run } else { Duration::ZERO },
            postprocess: if face {
                phases.postprocess
            } else {
                Duration::ZERO
            },
            blend: stages.blend,
            compose: started.elapsed(),
            latency: frame.captured_at.elapsed(),
        };
        Ok((face, times))
    }

    /// Composes `frame` as it came, without the model's output (a frame that failed to
    /// process: the loop shows it and goes on).
    pub fn show_unprocessed(&mut self, frame: &Frame) {
        self.composer.compose(&frame.image, None, None, None);
        compose_beside(
            &self.composer,
            &mut self.recording,
            &mut self.streaming,
            (&frame.image, None, None),
        );
    }

    /// Frames start again from a new source (a camera reopened): the face followed so far and
    /// its motion are forgotten. The tracker, when the caller holds it, restarts apart.
    pub fn restart(&mut self) {
        self.processor.process_side_mut().restart();
        if let Some(tracker) = &mut self.tracker {
            tracker.restart();
        }
    }

    /// The composite of the last frame.
    pub fn composite(&self) -> &Rgb8 {
        self.composer.canvas()
    }
}

/// The live frame and the panels beside it.
type Panels<'a> = (&'a Rgb8, Option<&'a Rgb8>, Option<&'a Rgb8>);

/// Composes the recording's and the live outputs' frames where the window's does not serve
/// (and the outputs' where the recording's does not).
fn compose_beside(
    window: &Composer,
    recording: &mut Option<Composer>,
    streaming: &mut Option<Composer>,
    (live, main, second): Panels,
) {
    if let Some(recording) = recording.as_mut() {
        if !shares_composite(window, recording) {
            recording.compose(live, main, second, None);
        }
    }
    let by_recording = matches!(
        (&*streaming, &*recording),
        (Some(s), Some(r)) if s.view() == r.view()
    );
    if let Some(streaming) = streaming.as_mut() {
        if !by_recording && !shares_composite(window, streaming) {
            streaming.compose(live, main, second, None);
        }
    }
}

/// Whether the window's composite serves as the recording's too (same view, no overlay).
fn shares_composite(window: &Composer, recording: &Composer) -> bool {
    recording.view() == window.view() && !window.shows_landmarks()
}

/// The face `tracker` finds in `frame` (nothing to find without a tracker: stylise mode).
pub fn track(tracker: Option<&mut FaceTracker>, frame: &Rgb8) -> Tracked {
    match tracker {
        Some(tracker) => Tracked::by(tracker, frame),
        None => Tracked::default(),
    }
}
