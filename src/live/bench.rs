//! What `mimic bench` measures of the live loop, as it runs: each stage's time, frame by
//! frame, end-to-end latency, and with several passes over a clip each pass's latency and
//! the resident memory at its end. The loop measured is the loop `mimic live` runs.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use super::{LiveReport, LoopTimes, Observer, Stderr};
use crate::face::DetectorKind;
use crate::geometry::quantile;
use crate::infer::ModelKind;
use crate::output::stream::OutputReport;
use crate::pipeline::{FrameOutput, FrameTimes, Session};

/// A stage's spread, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Spread {
    pub p50: f64,
    pub p95: f64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
}

/// The faces a frame held, and each one's cost: preparing it (sketch, aligned crop), the
/// generator with its pre- and postprocessing, and blending it back, over the frames that
/// showed any (tracking them all is the `landmarks` stage).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Faces {
    pub per_frame: Spread,
    pub per_face_ms: Spread,
}

/// One pass over the clip.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Pass {
    pub p50: f64,
    pub p99: f64,
    pub rss_mb: f64,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Memory {
    pub start: f64,
    pub end: f64,
    pub peak: f64,
}

/// The benchmark's figures (DESIGN §3, `mimic bench --json`).
#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub frames: u64,
    pub frames_with_face: u64,
    pub fps: f64,
    pub latency_ms: Latency,
    pub stages_ms: BTreeMap<&'static str, Spread>,
    /// Every stage but the generator and encoding, per frame: what the book's Python loop
    /// spends around its model.
    pub pipeline_ms: Spread,
    /// The faces processed a frame, and what each cost.
    pub faces: Faces,
    pub device: String,
    /// The face detector the tracker runs beside the frames (none in stylise mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detector: Option<DetectorKind>,
    /// `int8` for a `mimic quantize` copy, else `float`.
    pub precision: &'static str,
    /// For an INT8 model, the CPU's integer dot-product instructions (`null`: none, and the
    /// integer kernels are the slower AVX2 ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub int8_kernels: Option<Option<&'static str>>,
    /// Frames the source delivered late and the loop never saw.
    pub dropped: u64,
    /// With several passes: each pass's latency and resident memory at its end.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub passes: Vec<Pass>,
    /// With several passes: resident memory from the end of the first pass (warm-up left
    /// out) on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_mb: Option<Memory>,
    /// Each live output's pictures sent and dropped, and its latency.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outputs: Vec<OutputReport>,
}

/// The per-frame samples of each stage, in DESIGN §3's order (reenact mode draws a sketch;
/// swap mode aligns the face, then blends the result back; stylise mode letterboxes the frame
/// and scales the output back).
const STAGES: [&str; 13] = [
    "decode",
    "landmarks",
    "sketch",
    "align",
    "letterbox",
    "preprocess",
    "generator",
    "postprocess",
    "blend",
    "scale_back",
    "compose",
    "encode",
    "detect",
];

/// Collects the loop's frames as the benchmark's samples.
pub struct Bench {
    mode: ModelKind,
    detector: Option<DetectorKind>,
    device: String,
    int8: bool,
    /// Frames a pass over the clip has (several passes only).
    pass_frames: Option<u64>,
    stages: BTreeMap<&'static str, Vec<f32>>,
    latency: Vec<f32>,
    /// Every stage but the generator and encoding.
    pipeline: Vec<f32>,
    /// Faces a frame, and the cost of each, in frames that showed any.
    faces: Vec<f32>,
    per_face: Vec<f32>,
    passes: Vec<Pass>,
    pass_start: usize,
}

fn ms(d: Duration) -> f32 {
    d.as_secs_f32() * 1000.0
}

impl Bench {
    /// A benchmark of `session`'s loop, its faces found by `detector`; with `pass_frames`,
    /// each pass over a clip of that many frames is reported apart.
    pub fn new(session: &Session, detector: DetectorKind, pass_frames: Option<u64>) -> Bench {
        let generator = session.generator();
        Bench {
            mode: session.mode(),
            detector: session.tracker().map(|_| detector),
            device: generator.provider().to_string(),
            int8: generator.card().is_some_and(|c| c.quantization.is_some()),
            pass_frames,
            stages: BTreeMap::new(),
            latency: Vec::new(),
            pipeline: Vec::new(),
            faces: Vec::new(),
            per_face: Vec::new(),
            passes: Vec::new(),
            pass_start: 0,
        }
    }

    /// The names this mode gives the stages before and after its generator.
    fn stage_names(&self) -> (&'static str, Option<&'static str>, bool) {
        match self.mode {
            ModelKind::Reenact => ("sketch", None, true),
            ModelKind::Swap => ("align", Some("blend"), true),
            ModelKind::Stylize => ("letterbox", Some("scale_back"), false),
        }
    }

    fn add(&mut self, times: &FrameTimes, around: &LoopTimes) {
        let (prepare, back, face) = self.stage_names();
        // Detections run every few frames (mostly beside the frames): their own spread.
        let stages = [
            ("decode", Some(around.decode)),
            ("landmarks", face.then_some(times.landmarks)),
            (prepare, Some(times.prepare)),
            ("preprocess", Some(times.preprocess)),
            ("generator", Some(times.generator)),
            ("postprocess", Some(times.postprocess)),
            (back.unwrap_or("blend"), back.map(|_| times.blend)),
            ("compose", Some(times.compose)),
            ("encode", around.record),
            ("detect", times.detection),
        ];
        for (stage, value) in stages {
            if let Some(value) = value {
                self.stages.entry(stage).or_default().push(ms(value));
            }
        }
        self.latency.push(ms(times.latency));
        let around_generator = around.decode
            + times.landmarks
            + times.prepare
            + times.preprocess
            + times.postprocess
            + times.blend
            + times.compose;
        self.pipeline.push(ms(around_generator));
        if times.faces > 0 {
            let each = times.prepare
                + times.preprocess
                + times.generator
                + times.postprocess
                + times.blend;
            self.faces.push(times.faces as f32);
            self.per_face.push(ms(each) / times.faces as f32);
        }
    }

    /// Closes a pass when the frame just added was the last of its clip.
    fn end_pass(&mut self) {
        let frames = self.latency.len() as u64;
        if !self
            .pass_frames
            .is_some_and(|n| frames.is_multiple_of(n.max(1)))
        {
            return;
        }
        let latency = self.latency[self.pass_start..].to_vec();
        self.passes.push(Pass {
            p50: f64::from(quantile(latency.clone(), 0.5)),
            p99: f64::from(quantile(latency, 0.99)),
            rss_mb: resident_mb(),
        });
        self.pass_start = self.latency.len();
    }

    /// The figures of the loop that ran, `live` its report.
    pub fn report(self, live: LiveReport) -> BenchReport {
        let q = |v: &[f32], share| f64::from(quantile(v.to_vec(), share));
        let spread = |v: &[f32]| Spread {
            p50: q(v, 0.5),
            p95: q(v, 0.95),
        };
        let stages_ms = STAGES
            .iter()
            .filter_map(|stage| Some((*stage, spread(self.stages.get(stage)?))))
            .collect();
        let rss_mb = (self.passes.len() > 1).then(|| Memory {
            start: self.passes[0].rss_mb,
            end: self.passes[self.passes.len() - 1].rss_mb,
            peak: self.passes.iter().map(|p| p.rss_mb).fold(0.0, f64::max),
        });
        BenchReport {
            frames: live.frames,
            frames_with_face: live.frames_with_face,
            fps: live.fps,
            latency_ms: Latency {
                p50: q(&self.latency, 0.5),
                p95: q(&self.latency, 0.95),
                p99: q(&self.latency, 0.99),
            },
            stages_ms,
            pipeline_ms: spread(&self.pipeline),
            faces: Faces {
                per_frame: spread(&self.faces),
                per_face_ms: spread(&self.per_face),
            },
            device: self.device,
            detector: self.detector,
            precision: if self.int8 { "int8" } else { "float" },
            int8_kernels: self.int8.then(crate::infer::int8_kernels),
            dropped: live.dropped,
            rss_mb,
            passes: self.passes,
            outputs: live.outputs,
        }
    }
}

impl Observer for Bench {
    fn frame(&mut self, output: &FrameOutput, times: &LoopTimes) {
        self.add(&output.times, times);
        self.end_pass();
    }

    fn say(&mut self, message: &str) {
        Stderr.say(message);
    }
}

/// This process's resident memory in MB (Linux's `/proc/self/status`; 0 elsewhere).
fn resident_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
