//! `mimic track`: the main face's landmarks in every frame of a video, as the live loop's
//! tracker produces them (raw, or with `--smooth` as the live loop smooths them), and how
//! steady they are.

use std::process::ExitCode;

use mimic::face::smooth::{OnRepeat, SteadyLandmarks};
use mimic::face::stability;
use mimic::face::track::{FaceTracker, TrackOptions, TrackStats};
use mimic::face::{DetectOptions, FaceAnalyzer, HeadPose, Landmarks};
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

/// Every frame's landmarks, raw and as reported (smoothed or not); `None` where a frame
/// shows no face, and once more at each cut, so that no figure spans two shots.
#[derive(Default)]
struct Followed {
    frames: Vec<TrackedFrame>,
    raw: Vec<Option<Landmarks>>,
    reported: Vec<Option<Landmarks>>,
}

pub fn run(args: TrackArgs) -> anyhow::Result<ExitCode> {
    let mut tracker = tracker(&args)?;
    let mut reader = VideoReader::open(&args.video)?;
    let fps = reader.info().fps;
    let mut steady = SteadyLandmarks::new(
        args.smooth.then(|| args.smoothing.tweaks().over(None)),
        OnRepeat::CarryOn,
    );
    let followed = follow(&mut tracker, &mut reader, &mut steady)?;
    let stats = tracker.stats();
    let (raw, reported) = (&followed.raw, &followed.reported);
    let report = Report {
        fps,
        jitter: stability::jitter(reported),
        jitter_raw: args.smooth.then(|| stability::jitter(raw)).flatten(),
        lag_frames: args.smooth.then(|| stability::lag(raw, reported)).flatten(),
        repeats: stats.repeats,
        cuts: stats.cuts,
        frames: followed.frames,
    };
    match args.json.json {
        true => super::print_json(&report)?,
        false => say(&report, &stats, args.smooth),
    }
    Ok(ExitCode::SUCCESS)
}

/// The tracker the flags ask for, detecting inside the frames (the same result every time).
fn tracker(args: &TrackArgs) -> anyhow::Result<FaceTracker> {
    let analyzer = FaceAnalyzer::new(DetectOptions {
        detector: args.detection.detector.into(),
        upsample: 0,
        scale: args.detect_scale,
    })?;
    let options = TrackOptions {
        detect_every: args.detect_every,
        background: false,
        face_index: args.face_index,
    };
    Ok(FaceTracker::new(analyzer, options)?)
}

/// Follows the face through every frame of `reader`.
fn follow(
    tracker: &mut FaceTracker,
    reader: &mut VideoReader,
    steady: &mut SteadyLandmarks,
) -> anyhow::Result<Followed> {
    let mut followed = Followed::default();
    while let Some(frame) = reader.next_frame()? {
        let t = frame.t.as_secs_f64();
        let found = tracker.track(&frame.image)?.map(|f| f.landmarks);
        if tracker.change() == FrameChange::Cut {
            // No face between the shots: jitter and lag are not measured across a cut.
            followed.raw.push(None);
            followed.reported.push(None);
        }
        let shown = steady.update(found.as_ref(), t, tracker.change()).cloned();
        followed.frames.push(TrackedFrame {
            index: frame.index,
            t,
            face: shown.is_some(),
            landmarks: shown
                .as_ref()
                .map(|l| l.points().to_vec())
                .unwrap_or_default(),
            pose: shown.as_ref().map(HeadPose::of),
        });
        followed.raw.push(found);
        followed.reported.push(shown);
    }
    Ok(followed)
}

/// The summary for people.
fn say(report: &Report, stats: &TrackStats, smooth: bool) {
    let figure = |v: Option<f64>| v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.4}"));
    let smoothing = match smooth {
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
