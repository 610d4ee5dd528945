//! What a run of the live loop did: frames, faces, failures, recordings, outputs, and how it
//! ended.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::output::stream::OutputReport;
use crate::pipeline::Fault;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    InputEnded,
    MaxFrames,
    /// Ctrl-C or SIGTERM.
    Stopped,
    /// The window was closed or `q` pressed.
    Quit,
    /// The camera stopped delivering: why, in a sentence.
    CameraLost(String),
}

impl Ending {
    /// The ending in words, as the report gives it.
    pub fn name(&self) -> &'static str {
        match self {
            Ending::InputEnded => "input ended",
            Ending::MaxFrames => "max frames",
            Ending::Stopped => "stopped",
            Ending::Quit => "quit",
            Ending::CameraLost(_) => "camera lost",
        }
    }
}

/// The run's figures.
#[derive(Debug, Serialize)]
pub struct LiveReport {
    pub frames: u64,
    pub frames_with_face: u64,
    /// Face detections the tracker ran.
    pub detections: u64,
    pub fps: f64,
    /// Where the generator ran.
    pub device: String,
    /// Every recording finished in the run, in order (a camera that came back continues into
    /// a new file; `r` in the window starts one).
    pub recordings: Vec<PathBuf>,
    /// How the run ended, in words.
    pub ended: &'static str,
    #[serde(skip)]
    pub ending: Ending,
    /// Times a lost camera came back.
    pub reconnects: u64,
    /// Each live output: what it sent and dropped, and its latency.
    pub outputs: Vec<OutputReport>,
    /// Frames the source delivered late and the loop never saw.
    pub dropped: u64,
    /// Frames that failed to track or process and went on without the model's output.
    pub failed_frames: u64,
    /// With a recording asked for: how long the frames waited, in all, for the recordings'
    /// encoders, in milliseconds (a large figure says the recording fell behind).
    pub record_waited_ms: Option<f64>,
    /// How the source failed to stop, if it did (a camera that is gone may not stop cleanly).
    #[serde(skip)]
    pub source_error: Option<crate::capture::CaptureError>,
}

/// Frames that failed and went on, counted by what failed; each kind is said once.
#[derive(Default)]
pub(super) struct Faults {
    counts: BTreeMap<&'static str, u64>,
}

impl Faults {
    /// Counts `fault` on frame `index`; the sentence to say when it is the first of its kind.
    pub(super) fn note(&mut self, fault: &Fault, index: u64) -> Option<String> {
        let kind = fault.kind();
        let count = self.counts.entry(kind).or_default();
        *count += 1;
        (*count == 1).then(|| {
            format!(
                "frame {index}: {fault}; the frame is shown as it came and the run goes on (further {kind} failures are counted, not said)"
            )
        })
    }

    pub(super) fn total(&self) -> u64 {
        self.counts.values().sum()
    }
}
