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

/// The processing side of one mode (boxed: each keeps its buffers and faces inline, kilobytes
/// apart in size).
pub enum Processor {
    Reenact(Box<Reenactor>),
    Swap(Box<Swapper>),
    Stylize(Box<Stylizer>),
}

impl Processor {
    fn warm_up(&mut self) -> Result<(), PipelineError> {
        match self {
            Processor::Reenact(r) => r.warm_up(),
            Processor::Swap(s) => s.warm_up(),
            Processor::Stylize(s) => s.warm_up(),
        }
    }

    fn process(&mut self, frame: &Frame, tracked: &Tracked) -> Result<bool, PipelineError> {
        let t = frame.t.as_secs_f64();
        match self {
            Processor::Reenact(r) => r.process(&frame.image, tracked, t),
            Processor::Swap(s) => s.process(&frame.image, tracked, t),
            Processor::Stylize(s) => s.process(&frame.image, t),
        }
    }

    fn times(&self) -> StageTimes {
        match self {
            Processor::Reenact(r) => r.times(),
            Processor::Swap(s) => s.times(),
            Processor::Stylize(s) => s.times(),
        }
    }

    pub fn generator(&self) -> &Generator {
        match self {
            Processor::Reenact(r) => r.generator(),
            Processor::Swap(s) => s.generator(),
            Processor::Stylize(s) => s.generator(),
        }
    }

    fn landmarks(&self) -> Option<&Landmarks> {
        match self {
            Processor::Reenact(r) => r.landmarks(),
            Processor::Swap(s) => s.landmarks(),
            Processor::Stylize(_) => None,
        }
    }

    /// What the second and third panels show: the generated frame and the sketch
    /// (reenact), the swapped frame and the generated face (swap), or the stylised frame and
    /// the model's square output (stylise).
    fn panels(&self) -> (&Rgb8, &Rgb8) {
        match self {
            Processor::Reenact(r) => {
                let (sketch, generated) = r.outputs();
                (generated, sketch)
            }
            Processor::Swap(s) => s.outputs(),
            Processor::Stylize(s) => s.outputs(),
        }
    }
}

/// The tracker, the processing side and the composer, run frame after frame; while
/// recording, a second composer holds the recording's view, so the window can change views
/// meanwhile.
pub struct Session {
    /// The face modes' tracker (stylise mode has none); away while [`super::Stages`] runs it.
    tracker: Option<FaceTracker>,
    processor: Processor,
    composer: Composer,
    recording: Option<Composer>,
}

impl Session {
    /// Builds the session and warms the generator up.
    pub fn new(
        tracker: Option<FaceTracker>,
        mut processor: Processor,
        composer: Composer,
    ) -> Result<Session, PipelineError> {
        processor.warm_up()?;
        Ok(Session {
            tracker,
            processor,
            composer,
            recording: None,
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

    /// Tracks, processes and composes one frame; returns whether it showed a face, and its
    /// times.
    pub fn step(&mut self, frame: &Frame) -> Result<(bool, FrameTimes), PipelineError> {
        let tracked = track(self.tracker.as_mut(), &frame.image)?;
        self.finish(frame, &tracked)
    }

    /// Processes and composes one frame already tracked.
    pub fn finish(
        &mut self,
        frame: &Frame,
        tracked: &Tracked,
    ) -> Result<(bool, FrameTimes), PipelineError> {
        let face = self.processor.process(frame, tracked)?;
        let stages = self.processor.times();
        let phases = self.processor.generator().timings();
        let started = Instant::now();
        let (main, side) = self.processor.panels();
        // Without a face, a swap passes the frame through; a reenactment has nothing to show.
        let swap = matches!(self.processor, Processor::Swap(_));
        let main = (face || swap).then_some(main);
        let side = face.then_some(side);
        let landmarks = self.processor.landmarks().filter(|_| face);
        self.composer.compose(&frame.image, main, side, landmarks);
        if let Some(recording) = &mut self.recording {
            if !shares_composite(&self.composer, recording) {
                recording.compose(&frame.image, main, side, None);
            }
        }
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

    /// The composite of the last frame.
    pub fn composite(&self) -> &Rgb8 {
        self.composer.canvas()
    }
}

/// Whether the window's composite serves as the recording's too (same view, no overlay).
fn shares_composite(window: &Composer, recording: &Composer) -> bool {
    recording.view() == window.view() && !window.shows_landmarks()
}

/// The face `tracker` finds in `frame` (nothing to find without a tracker: stylise mode).
pub fn track(tracker: Option<&mut FaceTracker>, frame: &Rgb8) -> Result<Tracked, PipelineError> {
    match tracker {
        Some(tracker) => Tracked::by(tracker, frame),
        None => Ok(Tracked::default()),
    }
}
