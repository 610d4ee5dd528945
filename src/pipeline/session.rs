//! One frame through the whole processing side, timed stage by stage: what `mimic live` and
//! `mimic bench` both run, so the benchmark measures the live loop itself.

use std::time::{Duration, Instant};

use super::reenact::{ReenactError, Reenactor};
use crate::compose::{Composer, View};
use crate::frame::{Frame, Rgb8};

/// Time spent in each stage of one frame, and from capture to the composed frame.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameTimes {
    /// A face detection that finished with this frame (inside it, or beside the frames).
    pub detection: Option<Duration>,
    pub landmarks: Duration,
    pub sketch: Duration,
    pub preprocess: Duration,
    pub generator: Duration,
    pub postprocess: Duration,
    pub compose: Duration,
    /// From the frame's capture (or decode) to its composite being ready.
    pub latency: Duration,
}

/// The reenactment path and the composer, run frame after frame; while recording, a second
/// composer holds the recording's view, so the window can change views meanwhile.
pub struct Session {
    reenactor: Reenactor,
    composer: Composer,
    recording: Option<Composer>,
}

impl Session {
    /// Builds the session and warms the generator up.
    pub fn new(mut reenactor: Reenactor, composer: Composer) -> Result<Session, ReenactError> {
        reenactor.warm_up()?;
        Ok(Session {
            reenactor,
            composer,
            recording: None,
        })
    }

    pub fn reenactor(&self) -> &Reenactor {
        &self.reenactor
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

    /// Processes and composes one frame; returns whether it showed a face, and its times.
    pub fn step(&mut self, frame: &Frame) -> Result<(bool, FrameTimes), ReenactError> {
        let face = self.reenactor.process(&frame.image)?;
        let stages = self.reenactor.times();
        let phases = self.reenactor.generator().timings();
        let started = Instant::now();
        let (sketch, generated) = self.reenactor.outputs();
        let (generated, sketch) = if face {
            (Some(generated), Some(sketch))
        } else {
            (None, None)
        };
        let landmarks = self.reenactor.landmarks().filter(|_| face);
        self.composer
            .compose(&frame.image, generated, sketch, landmarks);
        if let Some(recording) = &mut self.recording {
            if !shares_composite(&self.composer, recording) {
                recording.compose(&frame.image, generated, sketch, None);
            }
        }
        let times = FrameTimes {
            detection: stages.detection,
            landmarks: stages.landmarks,
            sketch: stages.sketch,
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
