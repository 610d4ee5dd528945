//! The one frame type every stage passes along: an RGB image with where it came from in time.
//!
//! Capture, video files and image folders all produce [`Frame`]s; the detector, the sketch
//! renderer, the generator and the recorder all consume them. Conversions to and from other
//! libraries' image types (FFmpeg, dlib, nokhwa, ONNX tensors) happen only at the edge of the
//! module that talks to that library.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use image::{ImageReader, Limits, RgbImage};

/// An 8-bit RGB picture, rows top to bottom, pixels left to right, no padding.
pub type Rgb8 = RgbImage;

/// One picture of a stream and its place in time.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Position in its stream, counting from 0 (dropped frames still use up an index).
    pub index: u64,
    /// Presentation time from the start of the stream.
    pub t: Duration,
    /// When this frame entered the program (capture or decode), for end-to-end latency.
    pub captured_at: Instant,
    pub image: Rgb8,
}

impl Frame {
    pub fn new(index: u64, t: Duration, image: Rgb8) -> Self {
        Self {
            index,
            t,
            captured_at: Instant::now(),
            image,
        }
    }

    pub fn width(&self) -> u32 {
        self.image.width()
    }

    pub fn height(&self) -> u32 {
        self.image.height()
    }
}

/// The largest picture mimic reads (width or height); larger ones are refused before decoding.
pub const MAX_IMAGE_SIDE: u32 = 16_384;

#[derive(Debug, thiserror::Error)]
pub enum ImageReadError {
    #[error("cannot read image '{path}': {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot decode image '{path}': {reason}")]
    Decode { path: PathBuf, reason: String },
    #[error("image '{path}' is empty (0 pixels wide or high)")]
    Empty { path: PathBuf },
}

/// Reads a still picture (PNG, JPEG, GIF's first frame, BMP) as RGB, refusing pictures larger
/// than [`MAX_IMAGE_SIDE`] before their pixels are allocated.
pub fn read_image(path: &Path) -> Result<Rgb8, ImageReadError> {
    let io = |source| ImageReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let decode = |reason: String| ImageReadError::Decode {
        path: path.to_path_buf(),
        reason,
    };
    let mut reader = ImageReader::open(path)
        .map_err(io)?
        .with_guessed_format()
        .map_err(io)?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| decode(e.to_string()))?
        .into_rgb8();
    if image.width() == 0 || image.height() == 0 {
        return Err(ImageReadError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(image)
}
