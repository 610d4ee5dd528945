//! `mimic demo`: the whole live loop with no camera. A public-domain portrait, moved like a
//! head in front of a webcam, drives the generator bundled inside mimic (trained by mimic on
//! the same portrait); the three panels go to `demo.mp4` and, when there is a display, to a
//! window at the demo's own pace.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use mimic::demo::{self, Motion, MovingPortrait};
use mimic::face::{DetectOptions, FaceAnalyzer};
use mimic::frame::{read_image, Frame};
use mimic::install;
use mimic::output::compose;
use mimic::output::stream::{LiveOutput, OutputReport};
use mimic::output::window::{self, Action, LiveWindow};
use mimic::pipeline::Session;
use mimic::video::{VideoWriter, WriterOptions};
use serde::Serialize;

use crate::cli::{DemoArgs, SessionFlags};

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
    let scratch = Scratch::unpack()?;
    let flags = SessionFlags::defaults(scratch.model());
    let mut session = super::session(&flags, true, false)?;
    let device = session.processor().generator().provider().to_string();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create output folder '{}'", args.out.display()))?;
    let video = args.out.join("demo.mp4");
    let window = (!args.headless && window::display_available()).then_some(());
    let first = portrait.frame(&Motion::demo(), 0.0);
    let mut outputs =
        super::open_outputs(&args.outputs, &mut session, first.dimensions(), demo::FPS)?;
    let (frames, with_face) = play(
        &portrait,
        &mut session,
        &video,
        window.is_some(),
        &mut outputs,
    )?;
    let report = Report {
        frames,
        frames_with_face: with_face,
        video,
        device,
        outputs: super::finish_outputs(outputs),
    };
    if args.json.json {
        super::print_json(&report)?;
    } else {
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

/// Plays the demo into `video` (and a window when `show`, and `outputs`); returns the frames
/// played and those with a face.
fn play(
    portrait: &MovingPortrait,
    session: &mut Session,
    video: &Path,
    show: bool,
    outputs: &mut [LiveOutput],
) -> anyhow::Result<(u64, u64)> {
    let first = portrait.frame(&Motion::demo(), 0.0);
    let (width, height) = session.composer().size_for(first.width(), first.height());
    let options = WriterOptions {
        metadata: compose::synthetic_metadata(),
        ..WriterOptions::new(width, height, demo::FPS)
    };
    let mut writer = VideoWriter::create(video, options)?;
    let mut window = match show {
        true => Some(LiveWindow::open("mimic demo", width, height)?),
        false => None,
    };
    let stop = super::stop_flag()?;
    let started = Instant::now();
    let total = (SECONDS * demo::FPS) as u64;
    let mut with_face = 0;
    for index in 0..total {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let t = Duration::from_secs_f64(index as f64 / demo::FPS);
        let frame = Frame {
            index,
            t,
            captured_at: Instant::now(),
            image: portrait.frame(&Motion::demo(), t.as_secs_f32()),
        };
        let (face, _) = session.step(&frame)?;
        with_face += u64::from(face);
        if let Err(e) = writer.write(session.composite()) {
            // The frames written so far are kept, under a name that says they are not all.
            return Err(match writer.finish_partial() {
                Ok((path, _)) => {
                    anyhow::anyhow!("{e}; what was recorded is kept in {}", path.display())
                }
                Err(kept) => anyhow::anyhow!("{e} ({kept})"),
            });
        }
        for output in outputs.iter_mut() {
            output.send(session.streamed(), t);
        }
        // Watched (in the window or through an output), at the demo's pace, as a camera
        // would deliver it.
        if show || !outputs.is_empty() {
            std::thread::sleep(t.saturating_sub(started.elapsed()));
        }
        if let Some(window) = &mut window {
            let actions = window.show(session.composite(), "DEMO")?;
            if actions.contains(&Action::Quit) {
                writer.finish()?;
                return Ok((index + 1, with_face));
            }
        }
    }
    writer.finish()?;
    Ok((total, with_face))
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

/// The bundled model unpacked into a scratch folder for ONNX Runtime, removed afterwards.
struct Scratch(PathBuf);

impl Scratch {
    fn unpack() -> anyhow::Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("mimic-demo-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create scratch folder '{}'", dir.display()))?;
        let scratch = Scratch(dir);
        let model = scratch.model();
        std::fs::write(&model, MODEL)
            .and_then(|()| std::fs::write(model.with_extension("toml"), CARD))
            .and_then(|()| std::fs::write(model.with_extension("reference.png"), REFERENCE))
            .with_context(|| {
                format!(
                    "cannot unpack the demo model into '{}'",
                    scratch.0.display()
                )
            })?;
        Ok(scratch)
    }

    fn model(&self) -> PathBuf {
        self.0.join("demo.onnx")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
