//! One frame through the whole processing side, timed stage by stage: what `mimic live` and
//! `mimic bench` both run, so the benchmark measures the live loop itself.

use std::time::{Duration, Instant};

use super::reenact::{ReenactError, Reenactor};
use crate::compose::Composer;
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

/// The reenactment path and the composer, run frame after frame.
pub struct Session {
    reenactor: Reenactor,
    composer: Composer,
}

impl Session {
    /// Builds the session and warms the generator up.
    pub fn new(mut reenactor: Reenactor, composer: Composer) -> Result<Session, ReenactError> {
        reenactor.warm_up()?;
        Ok(Session {
            reenactor,
            composer,
        })
    }

    pub fn reenactor(&self) -> &Reenactor {
        &self.reenactor
    }

    pub fn composer_mut(&mut self) -> &mut Composer {
        &mut self.composer
    }

    /// Processes and composes one frame; returns whether it showed a face, and its times.
    pub fn step(&mut self, frame: &Frame) -> Result<(bool, FrameTimes), ReenactError> {
        let face = self.reenactor.process(&frame.image)?;
        let stages = self.reenactor.times();
        let phases = self.reenactor.generator().timings();
        let started = Instant::now();
        let (sketch, generated) = self.reenactor.outputs();
        let landmarks = self.reenactor.landmarks();
        if face {
            self.composer
                .compose(&frame.image, Some(generated), Some(sketch), landmarks);
        } else {
            self.composer.compose(&frame.image, None, None, None);
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
