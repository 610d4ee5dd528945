//! The live loop (DESIGN §2), whole: frames from a [`Source`] go through a [`Session`] into
//! the [`Sinks`], one [`FrameOutput`] a frame, until the source ends, the user stops, or a
//! camera is lost (and, when asked, comes back). `mimic live`, `bench` and `demo` all run this
//! one loop, built from one plain [`LiveConfig`]; what each does with the frames beyond it
//! (the benchmark's samples, the messages people read) comes through an [`Observer`].
//!
//! While one frame is generated the next is tracked on a thread of its own
//! ([`crate::pipeline::Stages`]), so a frame costs the slower of the two, not their sum.

pub mod bench;
pub mod int8;
mod report;
mod run;

pub use bench::{Bench, BenchReport};
pub use report::{Ending, LiveReport};
pub use run::{Live, LiveError};

use std::time::Duration;

use crate::capture::Source;
use crate::output::SinkOptions;
use crate::pipeline::{FrameOutput, Session, SessionConfig};

/// Everything the loop is built from, besides its source.
#[derive(Debug, Clone, Default)]
pub struct LiveConfig {
    pub session: SessionConfig,
    pub sinks: SinkOptions,
    /// Stop after this many frames.
    pub max_frames: Option<u64>,
    /// When the camera stops delivering, finish the recording and wait for it to come back,
    /// then go on, instead of ending the run.
    pub reconnect: bool,
    /// Look for faces beside the frames, keeping the frames' pace (default: when the source
    /// is live); inside the frames, a file gives the same result every time.
    pub background_detection: Option<bool>,
    /// What the window's overlay says after the frame rate and latency (default: where the
    /// generator runs).
    pub label: Option<String>,
}

impl LiveConfig {
    /// What can be refused before anything is opened: an existing recording or output file
    /// not to be replaced, an output into a pipe.
    pub fn check(&self) -> Result<(), LiveError> {
        Ok(self.sinks.check()?)
    }
}

/// The loop's own times for one frame, beside the session's.
#[derive(Debug, Clone, Copy, Default)]
pub struct LoopTimes {
    /// Taking the frame from the source (decoding it, for a file) and handing it to tracking.
    pub decode: Duration,
    /// Composing (in another view) and handing the frame to the recorder.
    pub record: Option<Duration>,
}

/// Hears what the loop does: each frame, and what people should be told.
pub trait Observer {
    /// One frame went through the loop.
    fn frame(&mut self, _output: &FrameOutput, _times: &LoopTimes) {}
    /// Something people should know, in a sentence (a frame failed, a recording started, the
    /// camera is lost).
    fn say(&mut self, message: &str);
}

/// Says everything on stderr, as `mimic: …`.
pub struct Stderr;

impl Observer for Stderr {
    fn say(&mut self, message: &str) {
        eprintln!("mimic: {message}");
    }
}

/// Opens a session for `source` as `config` says: faces looked for beside the frames when
/// the source is live, unless the configuration says otherwise.
fn open_session(config: &LiveConfig, source: &Source) -> Result<Session, LiveError> {
    let background = config.background_detection.unwrap_or(source.is_live());
    Ok(Session::open(&config.session, background)?)
}
