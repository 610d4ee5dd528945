//! `mimic bench`: the live path's per-stage and end-to-end latency on a video, measured on the
//! very code `mimic live` runs (`pipeline::Session`), plus decoding around it and, with
//! `--record`, encoding.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mimic::face::DetectorKind;
use mimic::frame::Rgb8;
use mimic::output::stream::OutputReport;
use mimic::pipeline::{FrameTimes, Processor, Stages};
use mimic::video::{Recorder, VideoReader, WriterOptions};
use serde::Serialize;

use crate::cli::BenchArgs;

#[derive(Serialize)]
struct Spread {
    p50: f64,
    p95: f64,
}

#[derive(Serialize)]
struct Latency {
    p50: f64,
    p95: f64,
    p99: f64,
}

#[derive(Serialize)]
struct Report {
    frames: usize,
    frames_with_face: usize,
    fps: f64,
    latency_ms: Latency,
    stages_ms: BTreeMap<&'static str, Spread>,
    /// Every stage but the generator and encoding, per frame: what the book's Python loop
    /// spends around its model.
    pipeline_ms: Spread,
    device: String,
    /// The face detector the tracker runs beside the frames (none in stylise mode).
    #[serde(skip_serializing_if = "Option::is_none")]
    detector: Option<DetectorKind>,
    /// `int8` for a `mimic quantize` copy, else `float`.
    precision: &'static str,
    /// For an INT8 model, the CPU's integer dot-product instructions (`null`: none, and the
    /// integer kernels are the slower AVX2 ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    int8_kernels: Option<Option<&'static str>>,
    dropped: u64,
    /// With `--loop`: each pass's latency and resident memory at its end.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    passes: Vec<Pass>,
    /// With `--loop`: resident memory from the end of the first pass (warm-up left out) on.
    #[serde(skip_serializing_if = "Option::is_none")]
    rss_mb: Option<Memory>,
    /// With `--output`: each live output's pictures sent and dropped, and its latency from
    /// the composite handed over to its packets sent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    outputs: Vec<OutputReport>,
}

/// One pass over the clip (`--loop`).
#[derive(Serialize)]
struct Pass {
    p50: f64,
    p99: f64,
    rss_mb: f64,
}

#[derive(Serialize)]
struct Memory {
    start: f64,
    end: f64,
    peak: f64,
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

/// The names a mode gives its stages: before the generator, after it (if any), and whether
/// it tracks a face.
#[derive(Clone, Copy)]
struct ModeStages {
    prepare: &'static str,
    back: Option<&'static str>,
    face: bool,
}

impl ModeStages {
    fn of(processor: &Processor) -> ModeStages {
        let (prepare, back, face) = match processor {
            Processor::Reenact(_) => ("sketch", None, true),
            Processor::Swap(_) => ("align", Some("blend"), true),
            Processor::Stylize(_) => ("letterbox", Some("scale_back"), false),
        };
        ModeStages {
            prepare,
            back,
            face,
        }
    }
}

/// Every frame's times, stage by stage.
#[derive(Default)]
struct Samples {
    stages: BTreeMap<&'static str, Vec<Duration>>,
    latency: Vec<Duration>,
    /// Every stage but the generator and encoding.
    pipeline: Vec<Duration>,
}

impl Samples {
    fn add(
        &mut self,
        decode: Duration,
        times: &FrameTimes,
        encode: Option<Duration>,
        mode: ModeStages,
    ) {
        // Detections run every few frames (mostly beside the frames): their own spread.
        let stages = [
            ("decode", Some(decode)),
            ("landmarks", mode.face.then_some(times.landmarks)),
            (mode.prepare, Some(times.prepare)),
            ("preprocess", Some(times.preprocess)),
            ("generator", Some(times.generator)),
            ("postprocess", Some(times.postprocess)),
            (mode.back.unwrap_or("blend"), mode.back.map(|_| times.blend)),
            ("compose", Some(times.compose)),
            ("encode", encode),
            ("detect", times.detection),
        ];
        for (stage, value) in stages {
            if let Some(value) = value {
                self.stages.entry(stage).or_default().push(value);
            }
        }
        self.latency.push(times.latency);
        self.pipeline.push(
            decode
                + times.landmarks
                + times.prepare
                + times.preprocess
                + times.postprocess
                + times.blend
                + times.compose,
        );
    }

    fn stages_ms(&self) -> BTreeMap<&'static str, Spread> {
        STAGES
            .iter()
            .filter_map(|stage| {
                let samples = self.stages.get(stage)?;
                Some((*stage, Spread::of(samples)))
            })
            .collect()
    }
}

impl Spread {
    fn of(samples: &[Duration]) -> Spread {
        Spread {
            p50: percentile(samples, 0.5),
            p95: percentile(samples, 0.95),
        }
    }
}

/// A recording into a scratch file, for `--record`, written as `live --record` writes: on the
/// recorder's own thread, so the frame path pays only for handing each picture over (and for
/// waiting when the encoder falls behind).
struct ScratchRecording {
    recorder: Option<Recorder>,
    path: PathBuf,
}

impl ScratchRecording {
    fn start(width: u32, height: u32, fps: f64) -> anyhow::Result<ScratchRecording> {
        let path = std::env::temp_dir().join(format!("mimic-bench-{}.mp4", std::process::id()));
        let recorder = Recorder::create(&path, WriterOptions::new(width, height, fps))?;
        Ok(ScratchRecording {
            recorder: Some(recorder),
            path,
        })
    }

    fn write(&mut self, composite: &Rgb8) -> anyhow::Result<Duration> {
        let started = Instant::now();
        if let Some(recorder) = &mut self.recorder {
            recorder.write(composite)?;
        }
        Ok(started.elapsed())
    }
}

impl Drop for ScratchRecording {
    /// The scratch file is mimic's own: finished, then deleted.
    fn drop(&mut self) {
        if let Some(recorder) = self.recorder.take() {
            let _ = recorder.finish();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    // Measured as a camera runs it: detections beside the frames.
    let mut session = super::session(&args.session, true, true)?;
    let generator = session.processor().generator();
    let device = generator.provider().to_string();
    let int8 = generator.card().is_some_and(|c| c.quantization.is_some());
    let mut reader = VideoReader::open(&args.input)?;
    let info = reader.info().clone();
    let (width, height) = session.composer().size_for(info.width, info.height);
    let mut outputs = super::open_outputs(
        &args.outputs,
        &mut session,
        (info.width, info.height),
        info.fps,
    )?;
    let mut recording = match args.record {
        true => Some(ScratchRecording::start(width, height, info.fps)?),
        false => None,
    };
    let mode = ModeStages::of(session.processor());
    let mut samples = Samples::default();
    let (mut frames, mut with_face) = (0usize, 0usize);
    let wanted = |read: usize| args.frames.is_none_or(|n| (read as u64) < n);
    let mut stages = Stages::new(session.take_tracker(), !args.session.serial)?;
    let started = Instant::now();
    let mut read = 0usize;
    // `--loop`: the clip again and again, its frames numbered and timed on from the last pass.
    let passes_wanted = args.r#loop.max(1);
    let (mut pass, mut pass_start, mut offset) = (0u64, 0usize, (0u64, Duration::ZERO));
    let mut last = (0u64, Duration::ZERO);
    let mut next_frame = |reader: &mut VideoReader| -> anyhow::Result<Option<mimic::frame::Frame>> {
        let mut frame = reader.next_frame()?;
        if frame.is_none() && pass + 1 < passes_wanted {
            pass += 1;
            let step = Duration::from_secs_f64(1.0 / info.fps.max(1.0));
            offset = (last.0 + 1, last.1 + step);
            *reader = VideoReader::open(&args.input)?;
            frame = reader.next_frame()?;
        }
        Ok(frame.map(|mut f| {
            f.index += offset.0;
            f.t += offset.1;
            last = (f.index, f.t);
            f
        }))
    };
    let mut read_next = |stages: &mut Stages, read: &mut usize| -> anyhow::Result<Duration> {
        let decode_started = Instant::now();
        if wanted(*read) {
            if let Some(frame) = next_frame(&mut reader)? {
                stages.push(frame)?;
                *read += 1;
            }
        }
        Ok(decode_started.elapsed())
    };
    let mut passes = Vec::new();
    let mut decode = read_next(&mut stages, &mut read)?;
    while let Some(tracked) = stages.pop() {
        let (frame, tracked) = tracked?;
        // The next frame is decoded and tracked while this one is generated.
        let next_decode = read_next(&mut stages, &mut read)?;
        let (face, times) = session.finish(&frame, &tracked)?;
        let encode = match &mut recording {
            Some(recording) => Some(recording.write(session.composite())?),
            None => None,
        };
        for output in &mut outputs {
            output.send(session.streamed(), frame.t);
        }
        samples.add(decode, &times, encode, mode);
        decode = next_decode;
        frames += 1;
        with_face += usize::from(face);
        // A pass ends with the last frame of its clip.
        let ended = passes_wanted > 1
            && info
                .frame_count
                .is_some_and(|n| (frames as u64).is_multiple_of(n.max(1)));
        if ended {
            let latency = &samples.latency[pass_start..];
            passes.push(Pass {
                p50: percentile(latency, 0.5),
                p99: percentile(latency, 0.99),
                rss_mb: resident_mb(),
            });
            pass_start = samples.latency.len();
        }
    }
    let elapsed = started.elapsed();
    session.restore_tracker(stages.finish());
    let report = Report {
        frames,
        frames_with_face: with_face,
        fps: frames as f64 / elapsed.as_secs_f64().max(1e-9),
        latency_ms: Latency {
            p50: percentile(&samples.latency, 0.5),
            p95: percentile(&samples.latency, 0.95),
            p99: percentile(&samples.latency, 0.99),
        },
        stages_ms: samples.stages_ms(),
        pipeline_ms: Spread::of(&samples.pipeline),
        device,
        detector: session.tracker().map(|_| args.session.detection.detector),
        precision: if int8 { "int8" } else { "float" },
        int8_kernels: int8.then(mimic::infer::int8_kernels),
        dropped: 0,
        rss_mb: (passes.len() > 1).then(|| Memory {
            start: passes[0].rss_mb,
            end: passes[passes.len() - 1].rss_mb,
            peak: passes.iter().map(|p| p.rss_mb).fold(0.0, f64::max),
        }),
        passes,
        outputs: super::finish_outputs(outputs),
    };
    if args.json.json {
        super::print_json(&report)?;
    } else {
        print_summary(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(report: &Report) {
    println!(
        "{} frames at {:.1} fps on the {}{}{}: latency p50 {:.1} ms, p95 {:.1} ms; generator p50 {:.1} ms; everything else p50 {:.1} ms",
        report.frames,
        report.fps,
        report.device,
        match report.int8_kernels {
            Some(Some(kernels)) => format!(" (INT8, {kernels})"),
            Some(None) => " (INT8, without VNNI: slower integer kernels)".into(),
            None => String::new(),
        },
        report
            .detector
            .map_or_else(String::new, |d| format!(", faces found by {}", d.name())),
        report.latency_ms.p50,
        report.latency_ms.p95,
        report.stages_ms.get("generator").map_or(0.0, |s| s.p50),
        report.pipeline_ms.p50
    );
    for (stage, spread) in &report.stages_ms {
        println!(
            "  {stage:<12} p50 {:>7.2} ms   p95 {:>7.2} ms",
            spread.p50, spread.p95
        );
    }
    for output in &report.outputs {
        println!(
            "  output {}: composite to packets sent p50 {:.2} ms, p95 {:.2} ms ({} sent, {} dropped)",
            output.url, output.latency_ms.p50, output.latency_ms.p95, output.sent, output.dropped
        );
    }
}

/// The `q` quantile in milliseconds (nearest rank); 0 for no samples.
fn percentile(samples: &[Duration], q: f64) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}
