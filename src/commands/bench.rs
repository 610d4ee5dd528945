//! `mimic bench`: the live path's per-stage and end-to-end latency on a video, measured on the
//! very code `mimic live` runs (`pipeline::Session`), plus decoding and encoding around it.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mimic::video::{VideoReader, VideoWriter, WriterOptions};
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
    dropped: u64,
}

/// The per-frame samples of each stage, in DESIGN §3's order.
const STAGES: [&str; 9] = [
    "decode",
    "landmarks",
    "sketch",
    "preprocess",
    "generator",
    "postprocess",
    "compose",
    "encode",
    "detect",
];

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    // Measured as a camera runs it: detections beside the frames.
    let mut session = super::reenact_session(&args.session, true, true)?;
    let device = session.reenactor().generator().provider().to_string();
    let mut reader = VideoReader::open(&args.input)?;
    let info = reader.info().clone();
    let (width, height) = session.composer_mut().size_for(info.width, info.height);
    // Encoding is part of the live path when recording: measure it into a scratch file.
    let scratch = std::env::temp_dir().join(format!("mimic-bench-{}.mp4", std::process::id()));
    let mut writer = VideoWriter::create(&scratch, WriterOptions::new(width, height, info.fps))?;
    let mut samples: BTreeMap<&str, Vec<Duration>> =
        STAGES.iter().map(|s| (*s, Vec::new())).collect();
    let (mut latency, mut pipeline) = (Vec::new(), Vec::new());
    let (mut frames, mut with_face) = (0usize, 0usize);
    let started = Instant::now();
    loop {
        if args.frames.is_some_and(|n| frames as u64 >= n) {
            break;
        }
        let decode_started = Instant::now();
        let Some(frame) = reader.next_frame()? else {
            break;
        };
        let decode = decode_started.elapsed();
        let (face, times) = session.step(&frame)?;
        let encode_started = Instant::now();
        writer.write(session.composite())?;
        let encode = encode_started.elapsed();
        // Detections run every few frames (mostly beside the frames): their own spread.
        if let Some(detection) = times.detection {
            samples.entry("detect").or_default().push(detection);
        }
        for (stage, value) in [
            ("decode", decode),
            ("landmarks", times.landmarks),
            ("sketch", times.sketch),
            ("preprocess", times.preprocess),
            ("generator", times.generator),
            ("postprocess", times.postprocess),
            ("compose", times.compose),
            ("encode", encode),
        ] {
            samples.entry(stage).or_default().push(value);
        }
        latency.push(times.latency);
        pipeline.push(
            decode
                + times.landmarks
                + times.sketch
                + times.preprocess
                + times.postprocess
                + times.compose,
        );
        frames += 1;
        with_face += usize::from(face);
    }
    let elapsed = started.elapsed();
    writer.discard();
    let _ = std::fs::remove_file(&scratch);
    let report = Report {
        frames,
        frames_with_face: with_face,
        fps: frames as f64 / elapsed.as_secs_f64().max(1e-9),
        latency_ms: Latency {
            p50: percentile(&latency, 0.5),
            p95: percentile(&latency, 0.95),
            p99: percentile(&latency, 0.99),
        },
        stages_ms: samples
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| {
                (
                    *k,
                    Spread {
                        p50: percentile(v, 0.5),
                        p95: percentile(v, 0.95),
                    },
                )
            })
            .collect(),
        pipeline_ms: Spread {
            p50: percentile(&pipeline, 0.5),
            p95: percentile(&pipeline, 0.95),
        },
        device,
        dropped: 0,
    };
    if args.json.json {
        super::print_json(&report)?;
    } else {
        println!(
            "{} frames at {:.1} fps on the {}: latency p50 {:.1} ms, p95 {:.1} ms; generator p50 {:.1} ms; everything else p50 {:.1} ms",
            report.frames,
            report.fps,
            report.device,
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
    }
    Ok(ExitCode::SUCCESS)
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
