//! `mimic track`: the main face's landmarks in every frame of a video, as the live loop's
//! tracker produces them (raw, or with `--smooth` as the live loop smooths them), and how
//! steady they are.

use std::process::ExitCode;

use mimic::face::smooth::{OnRepeat, SteadyLandmarks};
use mimic::face::stability;
use mimic::face::track::{FaceTracker, TrackOptions};
use mimic::face::{DetectOptions, FaceAnalyzer, HeadPose};
use mimic::frame::change::FrameChange;
use mimic::geometry::Point;
use mimic::video::VideoReader;
use serde::Serialize;

use crate::cli::TrackArgs;

#[derive(Serialize)]
struct TrackedFrame {
    index: u64,
    t: f64,
    face: bool,
    landmarks: Vec<Point>,
    /// Degrees, roughly (see `HeadPose`).
    pose: Option<HeadPose>,
}

#[derive(Serialize)]
struct Report {
    fps: f64,
    /// Jitter of the reported landmarks (DESIGN §6), in inter-ocular distances.
    jitter: Option<f64>,
    /// With `--smooth`: the raw landmarks' jitter, and how many frames smoothing trails them.
    jitter_raw: Option<f64>,
    lag_frames: Option<f64>,
    /// Frames that repeated the one before (a camera re-sending its buffer, a video converted
    /// up in frame rate): smoothing carries the motion on through them.
    repeats: u64,
    /// Cuts to another shot: the face is detected afresh on each, and smoothing starts anew.
    cuts: u64,
    frames: Vec<TrackedFrame>,
}

pub fn run(args: TrackArgs) -> anyhow::Result<ExitCode> {
    let analyzer = FaceAnalyzer::new(DetectOptions {
        detector: args.detection.detector.into(),
        upsample: 0,
        scale: args.detect_scale,
    })?;
    let mut tracker = FaceTracker::new(
        analyzer,
        TrackOptions {
            detect_every: args.detect_every,
            background: false,
            face_index: args.face_index,
        },
    )?;
    let mut reader = VideoReader::open(&args.video)?;
    let fps = reader.info().fps;
    let mut steady = SteadyLandmarks::new(
        args.smooth.then(|| args.smoothing.tweaks().over(None)),
        OnRepeat::CarryOn,
    );
    let (mut frames, mut raw, mut reported) = (Vec::new(), Vec::new(), Vec::new());
    while let Some(frame) = reader.next_frame()? {
        let t = frame.t.as_secs_f64();
        let found = tracker.track(&frame.image)?.map(|f| f.landmarks);
        if tracker.change() == FrameChange::Cut {
            // No face between the shots: jitter and lag are not measured across a cut.
            raw.push(None);
            reported.push(None);
        }
        let shown = steady.update(found.as_ref(), t, tracker.change()).cloned();
        frames.push(TrackedFrame {
            index: frame.index,
            t,
            face: shown.is_some(),
            landmarks: shown
                .as_ref()
                .map(|l| l.points().to_vec())
                .unwrap_or_default(),
            pose: shown.as_ref().map(HeadPose::of),
        });
        raw.push(found);
        reported.push(shown);
    }
    let stats = tracker.stats();
    let report = Report {
        fps,
        jitter: stability::jitter(&reported),
        jitter_raw: args.smooth.then(|| stability::jitter(&raw)).flatten(),
        lag_frames: args
            .smooth
            .then(|| stability::lag(&raw, &reported))
            .flatten(),
        repeats: stats.repeats,
        cuts: stats.cuts,
        frames,
    };
    if args.json.json {
        super::print_json(&report)?;
    } else {
        let figure = |v: Option<f64>| v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.4}"));
        let smoothing = match args.smooth {
            true => format!(
                " (raw {}), lag {} frames",
                figure(report.jitter_raw),
                report
                    .lag_frames
                    .map_or_else(|| "n/a".to_string(), |v| format!("{v:.2}"))
            ),
            false => String::new(),
        };
        let repeats = match (stats.repeats, stats.cuts) {
            (0, 0) => String::new(),
            (n, 0) => format!(", {n} repeating the one before"),
            (0, c) => format!(", {c} cutting to another shot"),
            (n, c) => format!(", {n} repeating the one before, {c} cutting to another shot"),
        };
        println!(
            "{} frames{repeats}, a face in {}, detector run on {} ({:.0} %); jitter {}{smoothing}",
            stats.frames,
            stats.frames_with_face,
            stats.detections,
            100.0 * stats.detections as f64 / stats.frames.max(1) as f64,
            figure(report.jitter),
        );
    }
    Ok(ExitCode::SUCCESS)
}
