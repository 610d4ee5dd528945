//! `mimic bench`: the live loop's per-stage and end-to-end latency on a video, measured on
//! the loop `mimic live` runs (faces found beside the frames, as from a camera), with
//! decoding and, with `--record`, encoding around it; with `--realtime`, the frames a camera
//! at the video's rate would have lost.

use std::process::ExitCode;

use mimic::capture::{Source, SourceSpec};
use mimic::live::{Bench, BenchReport, Live, LiveConfig};
use mimic::output::SinkOptions;

use crate::cli::BenchArgs;

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let passes = args.r#loop.max(1);
    let source = Source::open(&SourceSpec::File {
        path: args.input.clone(),
        realtime: args.realtime,
        passes,
        simulate_loss: None,
    })?;
    let pass_frames = source.frame_count().filter(|_| passes > 1);
    // `--record` encodes into a scratch file, removed with its folder at the end.
    let scratch = tempfile::Builder::new().prefix("mimic-bench-").tempdir()?;
    let config = LiveConfig {
        session: args.session.config(),
        sinks: SinkOptions {
            record: args.record.then(|| scratch.path().join("bench.mp4")),
            ..args.outputs.sinks()
        },
        max_frames: args.frames,
        background_detection: Some(true),
        ..LiveConfig::default()
    };
    let live = Live::open(
        source,
        config,
        super::stop_flag()?,
        &mut mimic::live::Stderr,
    )?;
    let detector = args.session.detection.detector.into();
    let mut bench = Bench::new(live.session(), detector, pass_frames);
    let run = live.run(&mut bench)?;
    let report = bench.report(run);
    if args.json.json {
        super::print_json(&report)?;
    } else {
        print_summary(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summary(report: &BenchReport) {
    let kernels = match report.int8_kernels {
        Some(Some(kernels)) => format!(" (INT8, {kernels})"),
        Some(None) => " (INT8, without VNNI: slower integer kernels)".into(),
        None => String::new(),
    };
    let detector = report
        .detector
        .map_or_else(String::new, |d| format!(", faces found by {}", d.name()));
    println!(
        "{} frames at {:.1} fps on the {}{kernels}{detector}: latency p50 {:.1} ms, p95 {:.1} ms; generator p50 {:.1} ms; everything else p50 {:.1} ms",
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
    if report.faces.per_frame.p95 > 1.0 {
        println!(
            "  faces a frame p50 {:.0} (p95 {:.0}); each face p50 {:.2} ms, p95 {:.2} ms",
            report.faces.per_frame.p50,
            report.faces.per_frame.p95,
            report.faces.per_face_ms.p50,
            report.faces.per_face_ms.p95
        );
    }
    for output in &report.outputs {
        println!(
            "  output {}: composite to packets sent p50 {:.2} ms, p95 {:.2} ms ({} sent, {} dropped)",
            output.url, output.latency_ms.p50, output.latency_ms.p95, output.sent, output.dropped
        );
    }
}
