//! `mimic demo`: the whole live loop with no camera. A public-domain portrait, moved like a
//! head in front of a webcam, drives the generator bundled inside mimic (trained by mimic on
//! the same portrait); the three panels go to `demo.mp4` and, when there is a display, to a
//! window at the demo's own pace.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use anyhow::{bail, Context};
use mimic::demo::{self, MovingPortrait};
use mimic::face::{DetectOptions, FaceAnalyzer};
use mimic::frame::read_image;
use mimic::install;
use mimic::live::{Live, LiveConfig, Stderr};
use mimic::output::stream::OutputReport;
use mimic::output::SinkOptions;
use mimic::pipeline::SessionConfig;
use serde::Serialize;

use crate::cli::DemoArgs;

/// The bundled generator, its card and its reference picture (how they were made:
/// models/README.md).
const MODEL: &[u8] = include_bytes!("../../models/demo.onnx");
const CARD: &str = include_str!("../../models/demo.toml");
const REFERENCE: &[u8] = include_bytes!("../../models/demo.reference.png");

/// Length of the demo.
const SECONDS: f64 = 6.0;

#[derive(Serialize)]
struct Report {
    frames: u64,
    frames_with_face: u64,
    video: PathBuf,
    device: String,
    /// Each live output (`--output`).
    outputs: Vec<OutputReport>,
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let analyzer = FaceAnalyzer::new(DetectOptions {
        upsample: 0,
        ..Default::default()
    })?;
    let portrait = MovingPortrait::new(read_image(&portrait_path()?)?, &analyzer)?;
    if let Some(model) = &args.train_model {
        return train(&portrait, &analyzer, model, args.steps);
    }
    // The bundled model unpacked for ONNX Runtime, removed with its folder at the end.
    let scratch = tempfile::Builder::new().prefix("mimic-demo-").tempdir()?;
    let model = unpack(scratch.path())?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create output folder '{}'", args.out.display()))?;
    // Each run's video beside the last ones, unless --force replaces demo.mp4.
    let video = match args.force {
        true => args.out.join("demo.mp4"),
        false => mimic::files::free_path(&args.out.join("demo.mp4")),
    };
    let window = super::window_wanted(args.headless);
    let config = LiveConfig {
        session: SessionConfig {
            model,
            ..SessionConfig::default()
        },
        sinks: SinkOptions {
            window: window.then(|| "mimic demo".to_string()),
            record: Some(video.clone()),
            replace: args.force,
            ..args.outputs.sinks()
        },
        background_detection: Some(false),
        label: Some("DEMO".into()),
        ..LiveConfig::default()
    };
    // Watched (in the window or through an output), at the demo's pace, as a camera would
    // deliver it.
    let paced = window || !args.outputs.urls.is_empty();
    let source = portrait.into_source(SECONDS, paced);
    let run = Live::open(source, config, super::stop_flag()?, &mut Stderr)?.run(&mut Stderr)?;
    report(
        &args,
        Report {
            frames: run.frames,
            frames_with_face: run.frames_with_face,
            video,
            device: run.device,
            outputs: run.outputs,
        },
    )
}

fn report(args: &DemoArgs, report: Report) -> anyhow::Result<ExitCode> {
    if args.json.json {
        super::print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "demo: the bundled portrait (NASA, public domain) drove the bundled model for {} frames ({} with a face) on the {}; wrote {}",
        report.frames,
        report.frames_with_face,
        report.device,
        report.video.display()
    );
    for output in &report.outputs {
        println!(
            "demo: sent {} pictures to {} ({} dropped)",
            output.sent, output.url, output.dropped
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn portrait_path() -> anyhow::Result<PathBuf> {
    let path = install::runtime_dir().join("demo/astronaut.png");
    if !path.is_file() {
        bail!(
            "the demo portrait is missing at '{}': {}",
            path.display(),
            install::SETUP_HINT
        );
    }
    Ok(path)
}

/// Writes the bundled model, its card and reference picture into `folder`; the model's path.
fn unpack(folder: &Path) -> anyhow::Result<PathBuf> {
    let model = folder.join("demo.onnx");
    std::fs::write(&model, MODEL)
        .and_then(|()| std::fs::write(model.with_extension("toml"), CARD))
        .and_then(|()| std::fs::write(model.with_extension("reference.png"), REFERENCE))
        .with_context(|| format!("cannot unpack the demo model into '{}'", folder.display()))?;
    Ok(model)
}

/// Trains the demo model again (models/README.md).
fn train(
    portrait: &MovingPortrait,
    analyzer: &FaceAnalyzer,
    model: &Path,
    steps: u64,
) -> anyhow::Result<ExitCode> {
    let scratch = model.with_extension("work");
    eprintln!(
        "training the demo model ({steps} steps); its video, dataset and previews go to {}",
        scratch.display()
    );
    let stop = AtomicBool::new(false);
    demo::train_model(portrait, analyzer, &scratch, model, 600, steps, &stop)?;
    println!("wrote {} and its card", model.display());
    Ok(ExitCode::SUCCESS)
}
