//! Pictures gathered for translation: a domain for unpaired training and its evaluation
//! (`mimic train cyclegan`, `mimic eval translate`, `mimic extract pairs`), the photos and
//! sampled video frames of some inputs (files or folders); and the matched pictures of two
//! folders for paired training (`mimic train pix2pix --pairs`). Each picture is made RGB and
//! square at one size; what had to be converted, cropped or resized is counted, so the command
//! can say so.

use std::path::{Path, PathBuf};

use image::imageops::{self, FilterType};
use image::DynamicImage;
use serde::Serialize;

use crate::frame::{decode_picture, files_in, has_extension, is_photo, Rgb8};
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
    #[error("the folders' pictures do not pair up by name: only in '{}': {a_only}; only in '{}': {b_only}", a.display(), b.display())]
    Unmatched {
        a: PathBuf,
        b: PathBuf,
        a_only: String,
        b_only: String,
    },
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
        let picture = read_photo(path, &mut self.report)?;
        self.push(picture, path.display().to_string(), options.size);
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

    fn push(&mut self, picture: Rgb8, name: String, size: u32) {
        self.images.push(square(picture, size, &mut self.report));
        self.names.push(name);
    }

    /// A sentence on what was changed to make the set, if anything was.
    pub fn changes(&self) -> Option<String> {
        self.report.changes()
    }
}

impl ImageSetReport {
    /// A sentence on what was changed, if anything was.
    pub fn changes(&self) -> Option<String> {
        let r = self;
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

/// A photo as 8-bit RGB, counted (and counted as converted when it was not RGB).
fn read_photo(path: &Path, report: &mut ImageSetReport) -> Result<Rgb8, ImageSetError> {
    let read = |reason: String| ImageSetError::Read {
        path: path.to_path_buf(),
        reason,
    };
    let picture = decode_picture(path).map_err(|e| read(e.to_string()))?;
    if !matches!(picture, DynamicImage::ImageRgb8(_)) {
        report.converted += 1;
    }
    report.photos += 1;
    Ok(picture.into_rgb8())
}

/// `picture` cut to its centred square and scaled to `size`, counted.
fn square(picture: Rgb8, size: u32, report: &mut ImageSetReport) -> Rgb8 {
    let (w, h) = picture.dimensions();
    let side = w.min(h);
    let square = match w == h {
        true => picture,
        false => {
            report.cropped += 1;
            imageops::crop_imm(&picture, (w - side) / 2, (h - side) / 2, side, side).to_image()
        }
    };
    match side == size {
        true => square,
        false => {
            report.resized += 1;
            imageops::resize(&square, size, size, FilterType::Triangle)
        }
    }
}

/// Pictures of two folders paired by file name (without extension): the input and the target
/// of paired translation.
pub struct PairedSet {
    pub a: PathBuf,
    pub b: PathBuf,
    pub pairs: Vec<(Rgb8, Rgb8)>,
    pub names: Vec<String>,
    pub report: ImageSetReport,
}

impl PairedSet {
    /// Pairs the photos of folders `a` and `b` by name, at `size`; names found in one folder
    /// only are an error that lists them.
    pub fn load(a: &Path, b: &Path, size: u32) -> Result<PairedSet, ImageSetError> {
        let (in_a, in_b) = (photos_by_stem(a)?, photos_by_stem(b)?);
        let only = |x: &std::collections::BTreeMap<String, PathBuf>,
                    y: &std::collections::BTreeMap<String, PathBuf>| {
            x.keys()
                .filter(|k| !y.contains_key(*k))
                .cloned()
                .collect::<Vec<_>>()
        };
        let (a_only, b_only) = (only(&in_a, &in_b), only(&in_b, &in_a));
        if !a_only.is_empty() || !b_only.is_empty() {
            let list = |names: Vec<String>| match names.is_empty() {
                true => "none".to_string(),
                false => names.join(", "),
            };
            return Err(ImageSetError::Unmatched {
                a: a.to_path_buf(),
                b: b.to_path_buf(),
                a_only: list(a_only),
                b_only: list(b_only),
            });
        }
        let mut set = PairedSet {
            a: a.to_path_buf(),
            b: b.to_path_buf(),
            pairs: Vec::new(),
            names: Vec::new(),
            report: ImageSetReport::default(),
        };
        for (name, path_a) in &in_a {
            let input = read_photo(path_a, &mut set.report)?;
            let target = read_photo(&in_b[name], &mut set.report)?;
            let input = square(input, size, &mut set.report);
            let target = square(target, size, &mut set.report);
            set.pairs.push((input, target));
            set.names.push(name.clone());
        }
        set.report.images = set.pairs.len();
        if set.pairs.len() < MIN_IMAGES {
            return Err(ImageSetError::TooFew {
                inputs: format!("'{}' and '{}'", a.display(), b.display()),
                count: set.pairs.len(),
                needed: MIN_IMAGES,
            });
        }
        Ok(set)
    }
}

/// A folder's photos by file stem.
fn photos_by_stem(
    dir: &Path,
) -> Result<std::collections::BTreeMap<String, PathBuf>, ImageSetError> {
    Ok(files_of(dir)?
        .into_iter()
        .filter(|p| is_photo(p))
        .filter_map(|p| Some((p.file_stem()?.to_string_lossy().into_owned(), p)))
        .collect())
}

/// An input's files: itself, or a folder's photos and videos sorted by name.
fn files_of(input: &Path) -> Result<Vec<PathBuf>, ImageSetError> {
    if !input.exists() {
        return Err(ImageSetError::Missing(input.to_path_buf()));
    }
    if !input.is_dir() {
        return Ok(vec![input.to_path_buf()]);
    }
    files_in(input, |p| is_photo(p) || is_video(p)).map_err(|e| ImageSetError::Read {
        path: input.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Extensions read as videos inside a folder (a file given by name is read whatever it is).
const VIDEO_EXTENSIONS: [&str; 6] = ["mp4", "mov", "mkv", "avi", "webm", "gif"];

fn is_video(path: &Path) -> bool {
    has_extension(path, &VIDEO_EXTENSIONS)
}
