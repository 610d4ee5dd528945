//! `mimic extract faces`: every face in photos, videos and image folders, kept when it is the
//! reference person's (the descriptor filter), aligned to the mean-face template with the same
//! [`AlignedCrop`] the swap uses live, and saved with its landmarks and transform (see
//! [`crate::data::faceset`] for the layout).
//!
//! A video read frame by frame is analysed in full (every face detected, each compared with
//! the reference) every [`FULL_EVERY`] frames; in between, the one face kept is followed by
//! the live loop's tracker, as the live loop follows its driver, and keeps its identity.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{create_dirs, ExtractError};
use crate::data::faceset::{self, Entry, Manifest, FACES_DIR};
use crate::face::track::{FaceTracker, TrackOptions};
use crate::face::{AlignedCrop, Face, FaceAnalyzer, IdentityFilter};
use crate::frame;
use crate::frame::{is_photo, read_image, Rgb8};
use crate::progress::progress;
use crate::video::{FrameRange, VideoReader};

/// How to extract.
#[derive(Debug, Clone)]
pub struct FacesOptions {
    /// Side of each aligned face in pixels.
    pub size: u32,
    /// The template fills the crop less this fraction of its side on every side.
    pub padding: f32,
    /// A photo of the one person to keep.
    pub reference: Option<PathBuf>,
    /// Descriptor distance within which a face counts as the reference person.
    pub threshold: f32,
    /// Take every N-th frame of a video.
    pub every: u64,
    /// The frames of each video to take (by index).
    pub frames: FrameRange,
}

/// What an extraction did.
#[derive(Debug, Clone, Serialize)]
pub struct FacesSummary {
    pub out: PathBuf,
    pub frames: u64,
    pub kept: u64,
    pub rejected: u64,
    pub frames_without_face: u64,
    pub frames_with_several_faces: u64,
    /// Frames analysed in full (the rest followed the face kept).
    pub full_analyses: u64,
    /// Frames looked at per second, over the whole extraction.
    pub fps: f64,
}

/// A video's frames are analysed in full this often; the tracker follows the face between.
pub const FULL_EVERY: u32 = 4;

/// Extracts the aligned faces of `inputs` into `out`. `analyzer` must have its descriptor
/// network loaded when a reference is given.
pub fn extract_faces(
    inputs: &[PathBuf],
    out: &Path,
    analyzer: &FaceAnalyzer,
    options: &FacesOptions,
) -> Result<FacesSummary, ExtractError> {
    check(options)?;
    let filter = match &options.reference {
        Some(path) => Some(analyzer.identity_of(path, options.threshold)?),
        None => None,
    };
    create_dirs(out, &[FACES_DIR])?;
    let started = std::time::Instant::now();
    let mut run = Run {
        out,
        analyzer,
        follower: None,
        full_analyses: 0,
        crop: AlignedCrop::new(options.size, options.padding),
        filter,
        manifest: Manifest {
            size: options.size,
            padding: round(options.padding),
            reference: options.reference.clone(),
            threshold: round(options.threshold),
            inputs: inputs.to_vec(),
            frames: 0,
            kept: 0,
            rejected: 0,
            frames_without_face: 0,
            frames_with_several_faces: 0,
        },
        entries: Vec::new(),
    };
    let bar = progress(total_frames(inputs, options), "extracting faces");
    for input in inputs {
        if is_photo(input) {
            let image = read_image(input)?;
            run.frame(&Shot {
                image: &image,
                source: input,
                index: 0,
                t: 0.0,
            })?;
            bar.inc(1);
            continue;
        }
        // Following pays where frames follow one another; sampled frames are each analysed.
        run.follower = match options.every {
            1 => Some(Follower::new(analyzer)?),
            _ => None,
        };
        for frame in VideoReader::open(input)? {
            let frame = frame?;
            if options.frames.is_past(frame.index) {
                break;
            }
            if options.frames.contains(frame.index) && frame.index % options.every == 0 {
                run.video_frame(&Shot {
                    image: &frame.image,
                    source: input,
                    index: frame.index,
                    t: frame.t.as_secs_f64(),
                })?;
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();
    run.finish(started.elapsed())
}

/// The face kept in a video, followed between full analyses.
struct Follower {
    tracker: FaceTracker,
    /// Its distance to the reference at its last full analysis (none without a reference).
    distance: Option<f32>,
    /// Frames since the last full analysis.
    since_full: u32,
}

impl Follower {
    fn new(analyzer: &FaceAnalyzer) -> Result<Follower, ExtractError> {
        let options = TrackOptions {
            detect_every: u32::MAX,
            background: false,
            face_index: 0,
        };
        Ok(Follower {
            tracker: FaceTracker::new(analyzer.twin()?, options)?,
            distance: None,
            since_full: 0,
        })
    }
}

fn check(options: &FacesOptions) -> Result<(), ExtractError> {
    if !(32..=1024).contains(&options.size) {
        return Err(ExtractError::BadSize(options.size));
    }
    if !(0.0..=0.4).contains(&options.padding) {
        return Err(ExtractError::BadPadding(options.padding));
    }
    if options.every == 0 {
        return Err(ExtractError::BadEvery);
    }
    Ok(())
}

/// Frames to look at, when every input says how many it has.
fn total_frames(inputs: &[PathBuf], options: &FacesOptions) -> Option<u64> {
    let FrameRange { start, end } = options.frames;
    inputs
        .iter()
        .map(|input| match is_photo(input) {
            true => Some(1),
            false => VideoReader::open(input).ok()?.info().frame_count.map(|n| {
                let end = end.map_or(n, |e| e.min(n));
                let first = start.next_multiple_of(options.every);
                end.saturating_sub(first).div_ceil(options.every)
            }),
        })
        .sum()
}

/// A picture looked at, and where it came from: its file, its index in it and its time.
struct Shot<'a> {
    image: &'a Rgb8,
    source: &'a Path,
    index: u64,
    t: f64,
}

/// An extraction under way.
struct Run<'a> {
    out: &'a Path,
    analyzer: &'a FaceAnalyzer,
    /// Following the kept face between full analyses (a video read frame by frame).
    follower: Option<Follower>,
    full_analyses: u64,
    crop: AlignedCrop,
    filter: Option<IdentityFilter>,
    manifest: Manifest,
    entries: Vec<Entry>,
}

impl Run<'_> {
    /// One frame of a video: the face kept is followed from the frame before while it can be
    /// and a full analysis is not due; otherwise the frame is analysed in full, and the one face
    /// it keeps (if one) is followed from there.
    fn video_frame(&mut self, shot: &Shot) -> Result<(), ExtractError> {
        let image = shot.image;
        let Some(mut follower) = self.follower.take() else {
            return self.frame(shot);
        };
        let followed = match follower.since_full + 1 < FULL_EVERY {
            true => follower.tracker.follow_only(image)?,
            false => None,
        };
        let result = match followed {
            Some(face) => {
                follower.since_full += 1;
                self.manifest.frames += 1;
                self.keep(shot, &face, follower.distance)
            }
            None => {
                follower.since_full = 0;
                let kept = self.analyse(image);
                match kept.as_ref().map(Vec::as_slice) {
                    Ok([(face, distance)]) => {
                        follower.tracker.follow_from(image, face);
                        follower.distance = *distance;
                    }
                    _ => follower.tracker.restart(),
                }
                kept.and_then(|kept| self.keep_all(shot, kept))
            }
        };
        self.follower = Some(follower);
        result
    }

    /// Looks at one frame: keeps the reference person's faces, or with no reference the one
    /// face a frame shows (a frame with several is skipped rather than guessed).
    fn frame(&mut self, shot: &Shot) -> Result<(), ExtractError> {
        let kept = self.analyse(shot.image)?;
        self.keep_all(shot, kept)
    }

    fn keep_all(
        &mut self,
        shot: &Shot,
        kept: Vec<(Face, Option<f32>)>,
    ) -> Result<(), ExtractError> {
        for (face, distance) in kept {
            self.keep(shot, &face, distance)?;
        }
        Ok(())
    }

    /// Every face in the frame, and those it keeps with their distance to the reference.
    fn analyse(&mut self, image: &Rgb8) -> Result<Vec<(Face, Option<f32>)>, ExtractError> {
        self.manifest.frames += 1;
        self.full_analyses += 1;
        let faces = match &self.filter {
            Some(filter) => {
                let faces = self.analyzer.faces_with_descriptors(image)?;
                if faces.is_empty() {
                    self.manifest.frames_without_face += 1;
                }
                let mut matching = Vec::new();
                for (face, descriptor) in faces {
                    match descriptor.filter(|d| filter.matches(d)) {
                        Some(d) => matching.push((face, Some(filter.distance(&d)))),
                        None => self.manifest.rejected += 1,
                    }
                }
                matching
            }
            None => {
                let faces = self.analyzer.faces(image)?;
                match faces.len() {
                    0 => self.manifest.frames_without_face += 1,
                    1 => {}
                    _ => self.manifest.frames_with_several_faces += 1,
                }
                match faces.len() {
                    1 => faces.into_iter().map(|f| (f, None)).collect(),
                    _ => Vec::new(),
                }
            }
        };
        Ok(faces)
    }

    /// Aligns and saves one face.
    fn keep(
        &mut self,
        shot: &Shot,
        face: &Face,
        distance: Option<f32>,
    ) -> Result<(), ExtractError> {
        let Some(to_crop) = self.crop.transform(&face.landmarks) else {
            return Ok(()); // degenerate landmarks: nothing to align
        };
        let file = faceset::face_file(self.manifest.kept);
        let path = self.out.join(FACES_DIR).join(&file);
        frame::save_png(&self.crop.warp(shot.image, &to_crop), &path).map_err(|e| {
            faceset::FaceSetError::Write {
                path,
                reason: e.to_string(),
            }
        })?;
        self.entries.push(Entry {
            file,
            source: shot.source.to_path_buf(),
            index: shot.index,
            t: shot.t,
            landmarks: face.landmarks.map(|p| to_crop.apply(p)).points().to_vec(),
            to_crop,
            distance,
        });
        self.manifest.kept += 1;
        Ok(())
    }

    fn finish(self, took: std::time::Duration) -> Result<FacesSummary, ExtractError> {
        let m = &self.manifest;
        if m.kept == 0 {
            return Err(ExtractError::NothingKept {
                inputs: describe(&m.inputs),
                rejected: m.rejected,
                no_face: m.frames_without_face,
                several: m.frames_with_several_faces,
            });
        }
        faceset::write_index(self.out, m, &self.entries)?;
        Ok(FacesSummary {
            out: self.out.to_path_buf(),
            frames: m.frames,
            kept: m.kept,
            rejected: m.rejected,
            frames_without_face: m.frames_without_face,
            frames_with_several_faces: m.frames_with_several_faces,
            full_analyses: self.full_analyses,
            fps: m.frames as f64 / took.as_secs_f64().max(1e-9),
        })
    }
}

/// An option as the manifest shows it (0.2, not 0.20000000298023224).
fn round(value: f32) -> f64 {
    (f64::from(value) * 1e6).round() / 1e6
}

/// The inputs named for a message: one by name, several by count.
fn describe(inputs: &[PathBuf]) -> String {
    match inputs {
        [one] => format!("'{}'", one.display()),
        many => format!("{} inputs", many.len()),
    }
}
