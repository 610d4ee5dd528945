//! `mimic track`: the main face's landmarks in every frame of a video, as the live loop's
//! tracker produces them.

use std::process::ExitCode;

use mimic::face::{DetectOptions, FaceAnalyzer, Point};
use mimic::track::{FaceTracker, TrackOptions};
use mimic::video::VideoReader;
use serde::Serialize;

use crate::cli::TrackArgs;

#[derive(Serialize)]
struct TrackedFrame {
    index: u64,
    t: f64,
    face: bool,
    landmarks: Vec<Point>,
}

#[derive(Serialize)]
struct Report {
    fps: f64,
    frames: Vec<TrackedFrame>,
}

pub fn run(args: TrackArgs) -> anyhow::Result<ExitCode> {
    let analyzer = FaceAnalyzer::new(DetectOptions {
        upsample: 0,
        scale: args.detect_scale,
        ..Default::default()
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
    let mut frames = Vec::new();
    while let Some(frame) = reader.next_frame()? {
        let face = tracker.track(&frame.image)?;
        frames.push(TrackedFrame {
            index: frame.index,
            t: frame.t.as_secs_f64(),
            face: face.is_some(),
            landmarks: face
                .map(|f| f.landmarks.points().to_vec())
                .unwrap_or_default(),
        });
    }
    let stats = tracker.stats();
    if args.json.json {
        super::print_json(&Report { fps, frames })?;
    } else {
        println!(
            "{} frames, a face in {}, detector run on {} ({:.0} %)",
            stats.frames,
            stats.frames_with_face,
            stats.detections,
            100.0 * stats.detections as f64 / stats.frames.max(1) as f64
        );
    }
    Ok(ExitCode::SUCCESS)
}
