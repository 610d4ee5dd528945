//! `mimic live`: a driving video through the reenactment path into a recording.

use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Instant;

use anyhow::{bail, Context};
use mimic::compose::{Composer, View};
use mimic::face::{DetectOptions, FaceAnalyzer};
use mimic::infer::{DevicePreference, Generator, ModelKind};
use mimic::pipeline::{Reenactor, Session};
use mimic::track::{FaceTracker, TrackOptions};
use mimic::video::{VideoReader, VideoWriter, WriterOptions};
use serde::Serialize;

use crate::cli::LiveArgs;

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

/// The reenactment session `live` and `bench` run: model, tracker, composer, warmed up.
pub fn reenact_session(
    model: &Path,
    device: DevicePreference,
    view: View,
    detect_every: u32,
    mark: bool,
) -> anyhow::Result<Session> {
    let generator = Generator::open(model, device)?;
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
    let tracker = FaceTracker::new(analyzer, TrackOptions { detect_every });
    let composer = Composer::new(view, panel, mark);
    Ok(Session::new(Reenactor::new(tracker, generator), composer)?)
}

pub fn run(args: LiveArgs) -> anyhow::Result<ExitCode> {
    if !args.headless {
        bail!("mimic live has no window yet: run it with --headless (and --record OUT.mp4 to keep the result)");
    }
    let mut session = reenact_session(
        &args.model,
        args.device,
        args.view,
        args.detect_every,
        !args.no_mark,
    )?;
    let device = session.reenactor().generator().provider().to_string();
    let mut reader = VideoReader::open(&args.input)?;
    let info = reader.info().clone();
    let mut recorder = match &args.record {
        Some(path) => {
            let (width, height) = session.composer_mut().size_for(info.width, info.height);
            let options = WriterOptions {
                width,
                height,
                fps: info.fps,
                audio_from: info.has_audio.then(|| args.input.clone()),
                metadata: vec![
                    ("comment".into(), SYNTHETIC_TAG.into()),
                    ("description".into(), SYNTHETIC_TAG.into()),
                ],
            };
            Some(VideoWriter::create(path, options)?)
        }
        None => None,
    };
    let stop = super::stop_flag()?;
    let started = Instant::now();
    let (mut frames, mut with_face) = (0u64, 0u64);
    let result = (|| -> anyhow::Result<()> {
        while let Some(frame) = reader.next_frame()? {
            if stop.load(Ordering::Relaxed) || args.max_frames.is_some_and(|m| frames >= m) {
                break;
            }
            let (face, _) = session
                .step(&frame)
                .with_context(|| format!("frame {}", frame.index))?;
            if let Some(recorder) = &mut recorder {
                recorder.write(session.composite())?;
            }
            frames += 1;
            with_face += u64::from(face);
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
