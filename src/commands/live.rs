//! `mimic live`: a driving video through the reenactment path into a recording.

use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{bail, Context};
use mimic::compose::Composer;
use mimic::face::{DetectOptions, FaceAnalyzer};
use mimic::files;
use mimic::infer::{Generator, ModelKind};
use mimic::pipeline::{Reenactor, Session};
use mimic::track::{FaceTracker, TrackOptions};
use mimic::video::{VideoReader, VideoWriter, WriterOptions};
use mimic::window::{self, Action, LiveWindow};
use serde::Serialize;

use crate::cli::{LiveArgs, SessionFlags};

/// The metadata every recording carries, whatever the visible mark.
pub const SYNTHETIC_TAG: &str =
    "synthetic media: made with mimic (face reenactment); not a real recording";

/// Panels are at least this high, so small models still show at a readable size.
const MIN_PANEL: u32 = 256;

#[derive(Serialize)]
struct Report {
    frames: u64,
    frames_with_face: u64,
    detections: u64,
    fps: f64,
    device: String,
    record: Option<std::path::PathBuf>,
    stopped_early: bool,
}

/// Frames per second, smoothed over about a second.
#[derive(Default)]
struct FrameRate {
    last: Option<Instant>,
    fps: f64,
}

impl FrameRate {
    fn tick(&mut self) -> f64 {
        let now = Instant::now();
        if let Some(last) = self.last.replace(now) {
            let instant = 1.0 / (now - last).as_secs_f64().max(1e-6);
            self.fps = if self.fps == 0.0 {
                instant
            } else {
                0.9 * self.fps + 0.1 * instant
            };
        }
        self.fps
    }
}

/// The reenactment session `live` and `bench` run: model, tracker, composer, warmed up.
pub fn reenact_session(flags: &SessionFlags, mark: bool) -> anyhow::Result<Session> {
    let model = &flags.model;
    let generator = Generator::open(model, flags.device)?;
    if generator.kind() != ModelKind::Reenact {
        bail!(
            "'{}' is a {:?} model; mimic live runs reenactment models so far (train one with `mimic train pix2pix`)",
            model.display(),
            generator.kind()
        );
    }
    let panel = generator.output_size().max(MIN_PANEL);
    let analyzer = FaceAnalyzer::new(DetectOptions {
        upsample: 0,
        ..Default::default()
    })?;
    let tracker = FaceTracker::new(
        analyzer,
        TrackOptions {
            detect_every: flags.detect_every,
        },
    );
    let composer = Composer::new(flags.view, panel, mark);
    Ok(Session::new(Reenactor::new(tracker, generator), composer)?)
}

pub fn run(args: LiveArgs) -> anyhow::Result<ExitCode> {
    let mut session = reenact_session(&args.session, !args.no_mark)?;
    let device = session.reenactor().generator().provider().to_string();
    let mut reader = VideoReader::open(&args.session.input)?;
    let info = reader.info().clone();
    let mut recorder = match &args.record {
        Some(path) => {
            let (width, height) = session.composer_mut().size_for(info.width, info.height);
            let options = WriterOptions {
                width,
                height,
                fps: info.fps,
                audio_from: info.has_audio.then(|| args.session.input.clone()),
                metadata: vec![
                    ("comment".into(), SYNTHETIC_TAG.into()),
                    ("description".into(), SYNTHETIC_TAG.into()),
                ],
            };
            Some(VideoWriter::create(path, options)?)
        }
        None => None,
    };
    let mut window = if args.headless || !window::display_available() {
        None
    } else {
        let (width, height) = session.composer_mut().size_for(info.width, info.height);
        Some(LiveWindow::open("mimic", width, height)?)
    };
    let stop = super::stop_flag()?;
    let started = Instant::now();
    let (mut frames, mut with_face) = (0u64, 0u64);
    let mut frame_rate = FrameRate::default();
    let result = (|| -> anyhow::Result<()> {
        while let Some(frame) = reader.next_frame()? {
            if stop.load(Ordering::Relaxed) || args.max_frames.is_some_and(|m| frames >= m) {
                break;
            }
            let (face, times) = session
                .step(&frame)
                .with_context(|| format!("frame {}", frame.index))?;
            if let Some(recorder) = &mut recorder {
                recorder.write(session.composite())?;
            }
            frames += 1;
            with_face += u64::from(face);
            let fps = frame_rate.tick();
            if let Some(window) = &mut window {
                let overlay = format!(
                    "{fps:.0} FPS  {:.0} MS  {device}",
                    times.latency.as_secs_f64() * 1000.0
                );
                for action in window.show(session.composite(), &overlay)? {
                    match action {
                        Action::Quit => return Ok(()),
                        // The recording keeps the view it started with (its frame size is fixed).
                        Action::CycleView if recorder.is_none() => {
                            let next = session.composer_mut().view().next();
                            session.composer_mut().set_view(next);
                        }
                        Action::CycleView => {
                            eprintln!("mimic: the view stays as it is while recording")
                        }
                        Action::Save => {
                            let path = std::path::PathBuf::from(format!(
                                "mimic-frame-{:06}.png",
                                frame.index
                            ));
                            files::save_png(session.composite(), &path)?;
                            eprintln!("mimic: saved {}", path.display());
                        }
                    }
                }
            }
        }
        Ok(())
    })();
    if let Err(error) = result {
        // A conversion that failed part-way must not leave a file that looks complete.
        if let Some(recorder) = recorder {
            recorder.discard();
        }
        return Err(error);
    }
    if let Some(recorder) = recorder {
        recorder.finish()?;
    }
    let report = Report {
        frames,
        frames_with_face: with_face,
        detections: session.reenactor().tracker().stats().detections,
        fps: frames as f64 / started.elapsed().as_secs_f64().max(1e-9),
        device,
        record: args.record.clone(),
        stopped_early: stop.load(Ordering::Relaxed),
    };
    if args.json.json {
        super::print_json(&report)?;
    } else {
        println!(
            "{} frames ({} with a face) at {:.1} fps on the {}{}",
            report.frames,
            report.frames_with_face,
            report.fps,
            report.device,
            report
                .record
                .as_ref()
                .map_or_else(String::new, |p| format!("; recorded {}", p.display()))
        );
    }
    Ok(ExitCode::SUCCESS)
}
