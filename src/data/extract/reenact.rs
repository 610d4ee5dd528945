//! `mimic extract reenact`: a video of the target person turned into sketch/frame pairs (see
//! [`crate::data::dataset`] for the layout).
//!
//! Two passes over the video: the first finds the main face and its landmarks in every frame
//! (detected every 4th frame and followed between by the live loop's tracker) and fixes one
//! square window for the whole video from the median face box
//! ([`CropWindow::around_faces`], the live loop frames its driver the same way); the second cuts
//! that window out of each frame with a face and draws the sketch of its landmarks, with the
//! same renderer the live loop uses.

use std::path::{Path, PathBuf};

use super::{create_dirs, ExtractError};
use crate::data::dataset::{self, DatasetError, Manifest, Pair};
use crate::face::track::{FaceTracker, TrackOptions};
use crate::face::{FaceAnalyzer, Landmarks};
use crate::frame::CropWindow;
use crate::geometry::FaceBox;
use crate::progress::progress;
use crate::reenact::sketch::{SketchRenderer, SketchStyle};
use crate::video::VideoReader;

/// How to extract.
#[derive(Debug, Clone)]
pub struct ReenactOptions {
    pub size: u32,
    pub holdout: f32,
    pub sketch: SketchStyle,
}

/// What an extraction did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExtractSummary {
    pub out: PathBuf,
    pub frames: u64,
    pub pairs: u64,
    pub holdout_pairs: u64,
    pub frames_without_face: u64,
    pub window: CropWindow,
    /// Frames looked at per second, over both passes.
    pub fps: f64,
}

/// The main face's landmarks in one frame (pass one).
struct Found {
    index: u64,
    t: f64,
    bbox: FaceBox,
    landmarks: Landmarks,
}

/// Extracts sketch/frame pairs from `video` into `out`.
pub fn extract_reenact(
    video: &Path,
    out: &Path,
    analyzer: &FaceAnalyzer,
    options: &ReenactOptions,
) -> Result<ExtractSummary, ExtractError> {
    if !(64..=1024).contains(&options.size) {
        return Err(ExtractError::BadSize(options.size));
    }
    if !(0.0..=0.5).contains(&options.holdout) {
        return Err(ExtractError::BadHoldout(options.holdout));
    }
    let started = std::time::Instant::now();
    let (found, frames, (width, height), fps) = find_faces(video, analyzer)?;
    if found.is_empty() {
        return Err(ExtractError::NoFace {
            path: video.to_path_buf(),
            frames,
        });
    }
    let boxes: Vec<_> = found.iter().map(|f| f.bbox).collect();
    let window =
        CropWindow::around_faces(&boxes, width, height).ok_or_else(|| ExtractError::NoFace {
            path: video.to_path_buf(),
            frames,
        })?;
    let holdout_count = (found.len() as f32 * options.holdout).round() as usize;
    let holdout_from = found
        .get(found.len() - holdout_count)
        .map_or(u64::MAX, |f| f.index);
    create_dirs(out, &[dataset::FRAMES_DIR, dataset::SKETCHES_DIR])?;
    let pairs = write_pairs(video, out, &found, &window, holdout_from, options)?;
    let manifest = Manifest {
        source: video.canonicalize().unwrap_or_else(|_| video.to_path_buf()),
        size: options.size,
        fps,
        frames_total: frames,
        frames_without_face: frames - found.len() as u64,
        window,
        sketch: options.sketch,
        holdout: options.holdout,
        holdout_from,
    };
    dataset::write_index(out, &manifest, &pairs)?;
    Ok(ExtractSummary {
        out: out.to_path_buf(),
        frames,
        pairs: pairs.len() as u64,
        holdout_pairs: holdout_count as u64,
        frames_without_face: manifest.frames_without_face,
        window,
        fps: frames as f64 / started.elapsed().as_secs_f64().max(1e-9),
    })
}

type FirstPass = (Vec<Found>, u64, (u32, u32), f64);

/// Pass one: the largest face and its landmarks in every frame, detected every 4th frame (in
/// the frame, so the same video gives the same dataset) and followed between.
fn find_faces(video: &Path, analyzer: &FaceAnalyzer) -> Result<FirstPass, ExtractError> {
    let mut tracker = FaceTracker::new(analyzer.twin()?, TrackOptions::default())?;
    let mut reader = VideoReader::open(video)?;
    let info = reader.info().clone();
    let bar = progress(info.frame_count, "finding faces");
    let mut found = Vec::new();
    let mut frames = 0;
    while let Some(frame) = reader.next_frame()? {
        frames += 1;
        bar.inc(1);
        if frame.image.dimensions() != (info.width, info.height) {
            return Err(ExtractError::FrameSize(video.to_path_buf()));
        }
        if let Some(face) = tracker.track(&frame.image)? {
            found.push(Found {
                index: frame.index,
                t: frame.t.as_secs_f64(),
                bbox: face.bbox,
                landmarks: face.landmarks,
            });
        }
    }
    bar.finish_and_clear();
    Ok((found, frames, (info.width, info.height), info.fps))
}

/// Pass two: the window of every frame with a face, and its sketch.
fn write_pairs(
    video: &Path,
    out: &Path,
    found: &[Found],
    window: &CropWindow,
    holdout_from: u64,
    options: &ReenactOptions,
) -> Result<Vec<Pair>, ExtractError> {
    let mut reader = VideoReader::open(video)?;
    let mut renderer = SketchRenderer::new(options.size, options.size, options.sketch);
    let bar = progress(Some(found.len() as u64), "writing pairs");
    let mut pairs = Vec::with_capacity(found.len());
    let mut next = found.iter().peekable();
    while let Some(frame) = reader.next_frame()? {
        let Some(face) = next.next_if(|f| f.index == frame.index) else {
            continue;
        };
        let landmarks = face.landmarks.map(|p| window.to_output(p, options.size));
        let file = dataset::pair_file(face.index);
        let write = |dir: &str, image: &crate::frame::Rgb8| {
            let path = out.join(dir).join(&file);
            crate::frame::save_png(image, &path).map_err(|e| DatasetError::Write {
                path,
                reason: e.to_string(),
            })
        };
        write(dataset::FRAMES_DIR, &window.cut(&frame.image, options.size))?;
        write(dataset::SKETCHES_DIR, renderer.render(&landmarks))?;
        pairs.push(Pair {
            index: face.index,
            t: face.t,
            holdout: face.index >= holdout_from,
            landmarks: landmarks.points().to_vec(),
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(pairs)
}
