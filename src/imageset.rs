//! A domain of pictures for unpaired translation and its evaluation (`mimic train cyclegan`,
//! `mimic eval translate`): the photos and sampled video frames of some inputs (files or
//! folders), each made RGB and square at one size. What had to be converted, cropped or
//! resized is counted, so the command can say so.

use std::path::{Path, PathBuf};

use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageReader};
use serde::Serialize;

use crate::frame::{is_photo, Rgb8};
use crate::video::{VideoError, VideoReader};

/// Fewer pictures than this is not a domain a GAN can learn.
pub const MIN_IMAGES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum ImageSetError {
    #[error("'{0}' does not exist")]
    Missing(PathBuf),
    #[error("cannot read '{path}': {reason}")]
    Read { path: PathBuf, reason: String },
    #[error(transparent)]
    Video(#[from] VideoError),
    #[error(
        "{inputs} hold {count} pictures; a domain needs at least {needed}: add photos or a video"
    )]
    TooFew {
        inputs: String,
        count: usize,
        needed: usize,
    },
}

/// How to gather a domain.
#[derive(Debug, Clone, Copy)]
pub struct ImageSetOptions {
    /// Side of every picture.
    pub size: u32,
    /// At most this many frames of each video, evenly spaced.
    pub frames_per_video: u64,
}

/// What gathering did to the pictures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImageSetReport {
    pub images: usize,
    pub photos: usize,
    pub video_frames: usize,
    /// Grey, grey + alpha or RGBA (or 16-bit) pictures made 8-bit RGB.
    pub converted: usize,
    /// Pictures that were not square, cut to their centred square.
    pub cropped: usize,
    /// Pictures scaled to the set's size.
    pub resized: usize,
}

/// One domain's pictures, with the name each came from (file, or video and frame).
pub struct ImageSet {
    pub images: Vec<Rgb8>,
    pub names: Vec<String>,
    pub report: ImageSetReport,
}

impl ImageSet {
    /// Gathers the pictures of `inputs`: photos, videos, and folders of either.
    pub fn load(inputs: &[PathBuf], options: ImageSetOptions) -> Result<ImageSet, ImageSetError> {
        let mut set = ImageSet {
            images: Vec::new(),
            names: Vec::new(),
            report: ImageSetReport::default(),
        };
        for input in inputs {
            for file in files_of(input)? {
                match is_photo(&file) {
                    true => set.add_photo(&file, options)?,
                    false => set.add_video(&file, options)?,
                }
            }
        }
        set.report.images = set.images.len();
        if set.images.len() < MIN_IMAGES {
            let inputs: Vec<String> = inputs
                .iter()
                .map(|p| format!("'{}'", p.display()))
                .collect();
            return Err(ImageSetError::TooFew {
                inputs: inputs.join(", "),
                count: set.images.len(),
                needed: MIN_IMAGES,
            });
        }
        Ok(set)
    }

    fn add_photo(&mut self, path: &Path, options: ImageSetOptions) -> Result<(), ImageSetError> {
        let read = |reason: String| ImageSetError::Read {
            path: path.to_path_buf(),
            reason,
        };
        let picture = ImageReader::open(path)
            .and_then(|r| r.with_guessed_format())
            .map_err(|e| read(e.to_string()))?
            .decode()
            .map_err(|e| read(e.to_string()))?;
        if !matches!(picture, DynamicImage::ImageRgb8(_)) {
            self.report.converted += 1;
        }
        self.report.photos += 1;
        self.push(
            picture.into_rgb8(),
            path.display().to_string(),
            options.size,
        );
        Ok(())
    }

    fn add_video(&mut self, path: &Path, options: ImageSetOptions) -> Result<(), ImageSetError> {
        let reader = VideoReader::open(path)?;
        let count = reader
            .info()
            .frame_count
            .unwrap_or(options.frames_per_video);
        let every = count.div_ceil(options.frames_per_video.max(1)).max(1);
        for frame in reader {
            let frame = frame?;
            if frame.index % every == 0 {
                self.report.video_frames += 1;
                let name = format!("{}#{}", path.display(), frame.index);
                self.push(frame.image, name, options.size);
            }
        }
        Ok(())
    }

    /// Crops `picture` to its centred square and scales it to `size`.
    fn push(&mut self, picture: Rgb8, name: String, size: u32) {
        let (w, h) = picture.dimensions();
        let side = w.min(h);
        let square = match w == h {
            true => picture,
            false => {
                self.report.cropped += 1;
                imageops::crop_imm(&picture, (w - side) / 2, (h - side) / 2, side, side).to_image()
            }
        };
        let sized = match side == size {
            true => square,
            false => {
                self.report.resized += 1;
                imageops::resize(&square, size, size, FilterType::Triangle)
            }
        };
        self.images.push(sized);
        self.names.push(name);
    }

    /// A sentence on what was changed to make the set, if anything was.
    pub fn changes(&self) -> Option<String> {
        let r = &self.report;
        let parts: Vec<String> = [
            (r.converted, "made RGB (they were grey or had alpha)"),
            (r.cropped, "cut to their centred square"),
            (r.resized, "resized"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect();
        (!parts.is_empty()).then(|| format!("of {} pictures, {}", r.images, parts.join(", ")))
    }
}

/// An input's files: itself, or a folder's photos and videos sorted by name.
fn files_of(input: &Path) -> Result<Vec<PathBuf>, ImageSetError> {
    if !input.exists() {
        return Err(ImageSetError::Missing(input.to_path_buf()));
    }
    if !input.is_dir() {
        return Ok(vec![input.to_path_buf()]);
    }
    let entries = std::fs::read_dir(input).map_err(|e| ImageSetError::Read {
        path: input.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && (is_photo(p) || is_video(p)))
        .collect();
    files.sort();
    Ok(files)
}

/// Extensions read as videos inside a folder (a file given by name is read whatever it is).
const VIDEO_EXTENSIONS: [&str; 6] = ["mp4", "mov", "mkv", "avi", "webm", "gif"];

fn is_video(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}
