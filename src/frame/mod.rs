//! The one frame type every stage passes along: an RGB image with where it came from in time.
//!
//! Capture, video files and image folders all produce [`Frame`]s; the detector, the sketch
//! renderer, the generator and the recorder all consume them. Conversions to and from other
//! libraries' image types (FFmpeg, dlib, nokhwa, ONNX tensors) happen only at the edge of the
//! module that talks to that library.

pub mod change;
pub mod resize;
pub mod sample;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageReader, Limits, RgbImage};
use serde::{Deserialize, Serialize};

use crate::geometry::{quantile, FaceBox, Point, Similarity};

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

/// How a network's values stand for pixels: 0–255 mapped linearly onto `[lo, hi]` (a card's
/// `range`: [-1, 1] for tanh generators, [0, 1] for sigmoid ones). The one mapping training
/// and inference share.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueRange {
    lo: f32,
    per_level: f32,
}

impl ValueRange {
    pub fn new([lo, hi]: [f32; 2]) -> ValueRange {
        ValueRange {
            lo,
            per_level: (hi - lo) / 255.0,
        }
    }

    /// The value a pixel level stands for.
    pub fn value(&self, level: u8) -> f32 {
        self.lo + f32::from(level) * self.per_level
    }

    /// The pixel level a value stands for, rounded; values outside the range are clamped.
    pub fn level(&self, value: f32) -> u8 {
        ((value - self.lo) / self.per_level)
            .round()
            .clamp(0.0, 255.0) as u8
    }
}

/// Saves an image as PNG, atomically.
pub fn save_png(image: &Rgb8, path: &Path) -> Result<(), crate::files::FileError> {
    save_png_with_text(image, path, &[])
}

/// Saves an image as PNG, atomically, with `(keyword, text)` chunks (`tEXt`): what a
/// picture of synthetic media says it is, as a recording's metadata does.
pub fn save_png_with_text(
    image: &Rgb8,
    path: &Path,
    text: &[(&str, &str)],
) -> Result<(), crate::files::FileError> {
    let fail = |reason: String| crate::files::FileError::Write {
        path: path.to_path_buf(),
        reason,
    };
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, image.width(), image.height());
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    for (keyword, value) in text {
        encoder
            .add_text_chunk(keyword.to_string(), value.to_string())
            .map_err(|e| fail(e.to_string()))?;
    }
    let mut writer = encoder.write_header().map_err(|e| fail(e.to_string()))?;
    writer
        .write_image_data(image.as_raw())
        .and_then(|()| writer.finish())
        .map_err(|e| fail(e.to_string()))?;
    crate::files::write_atomically(path, &bytes)
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

/// Extensions of the pictures mimic reads as stills: the formats its image library is built
/// with. Anything else (GIF included) is read as a video or a folder of frames.
pub const PICTURE_EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "bmp"];

/// A square picture at `size` × `size`, resized (triangle filter) when it is another size: the
/// one resize of model-sized pictures, from the frames a dataset cuts to those training and
/// evaluation read back at a model's size.
pub fn square(image: Rgb8, size: u32) -> Rgb8 {
    if image.dimensions() == (size, size) {
        return image;
    }
    imageops::resize(&image, size, size, FilterType::Triangle)
}

/// `source` copied into `target`, reusing `target`'s pixels when the sizes match (`clone_from`
/// on an image allocates anew): the live path's one way to keep a picture a frame longer.
pub fn copy_into(target: &mut Rgb8, source: &Rgb8) {
    match target.dimensions() == source.dimensions() {
        true => target.copy_from_slice(source),
        false => *target = source.clone(),
    }
}

/// Whether `path` is a photo file (by its extension).
pub fn is_photo(path: &Path) -> bool {
    path.is_file() && has_extension(path, &PICTURE_EXTENSIONS)
}

/// Whether `path`'s extension is one of `extensions` (lower case), whatever its case.
pub fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.contains(&e.to_ascii_lowercase().as_str()))
}

/// The files in `folder` that `keep` accepts, sorted by name: the one folder lister.
pub fn files_in(folder: &Path, keep: impl Fn(&Path) -> bool) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && keep(p))
        .collect();
    files.sort();
    Ok(files)
}

/// Reads a still picture (PNG, JPEG, GIF's first frame, BMP) as RGB, refusing pictures larger
/// than [`MAX_IMAGE_SIDE`] before their pixels are allocated.
pub fn read_image(path: &Path) -> Result<Rgb8, ImageReadError> {
    let image = decode_picture(path)?.into_rgb8();
    if image.width() == 0 || image.height() == 0 {
        return Err(ImageReadError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(image)
}

/// Decodes a still picture as the file holds it (grey, RGBA, 16-bit, …), by its content
/// rather than its name, refusing pictures larger than [`MAX_IMAGE_SIDE`] before their pixels
/// are allocated: the one picture decoder.
pub fn decode_picture(path: &Path) -> Result<DynamicImage, ImageReadError> {
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
    reader.decode().map_err(|e| decode(e.to_string()))
}

/// The side of a framing window as a multiple of the median face box: head, hair and neck, as
/// in the book's Obama example.
pub const WINDOW_PER_FACE_BOX: f32 = 2.2;

/// A fixed square window on a source frame, delivered at `size` × `size` pixels: the framing
/// of a reenactment target, the same for every frame of its video.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CropWindow {
    pub left: u32,
    pub top: u32,
    pub side: u32,
    pub source_width: u32,
    pub source_height: u32,
}

impl CropWindow {
    /// The square of `side` pixels centred on `center`, shrunk and shifted as needed to lie
    /// inside a `width` × `height` frame.
    pub fn around(center: Point, side: f32, width: u32, height: u32) -> CropWindow {
        let side = (side.round() as u32).clamp(1, width.min(height));
        let place = |c: f32, extent: u32| {
            let start = (c - side as f32 / 2.0).round().max(0.0) as u32;
            start.min(extent - side)
        };
        CropWindow {
            left: place(center.x, width),
            top: place(center.y, height),
            side,
            source_width: width,
            source_height: height,
        }
    }

    /// The window that frames a person the way mimic frames reenactment targets: centred on
    /// the median face centre, with a side of [`WINDOW_PER_FACE_BOX`] × the median face box,
    /// inside a `width` × `height` frame. `None` without faces.
    pub fn around_faces(boxes: &[FaceBox], width: u32, height: u32) -> Option<CropWindow> {
        if boxes.is_empty() {
            return None;
        }
        let median = |v: Vec<f32>| quantile(v, 0.5);
        let cx = median(boxes.iter().map(|b| b.center().x).collect());
        let cy = median(boxes.iter().map(|b| b.center().y).collect());
        let side = median(boxes.iter().map(|b| b.width().max(b.height())).collect());
        Some(CropWindow::around(
            Point::new(cx, cy),
            side * WINDOW_PER_FACE_BOX,
            width,
            height,
        ))
    }

    /// Whether `frame` has the size this window was made for.
    pub fn fits(&self, frame: &Rgb8) -> bool {
        frame.dimensions() == (self.source_width, self.source_height)
    }

    /// The window's pixels scaled to `size` × `size`.
    pub fn cut(&self, frame: &Rgb8, size: u32) -> Rgb8 {
        let window =
            imageops::crop_imm(frame, self.left, self.top, self.side, self.side).to_image();
        square(window, size)
    }

    /// A source-frame point in the coordinates of the `size`-pixel output. Pixel centres map
    /// to pixel centres.
    pub fn to_output(&self, p: Point, size: u32) -> Point {
        self.output_transform(size).apply(p)
    }

    /// Frame pixels → pixels of the window resized to `size` (pixel centres kept in line).
    pub fn output_transform(&self, size: u32) -> Similarity {
        let k = size as f32 / self.side as f32;
        Similarity {
            a: k,
            b: 0.0,
            tx: (0.5 - self.left as f32) * k - 0.5,
            ty: (0.5 - self.top as f32) * k - 0.5,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_stays_inside_the_frame() {
        let w = CropWindow::around(Point::new(10.0, 470.0), 300.0, 512, 480);
        assert_eq!((w.left, w.top, w.side), (0, 180, 300));
        let big = CropWindow::around(Point::new(256.0, 240.0), 900.0, 512, 480);
        assert_eq!((big.left, big.top, big.side), (16, 0, 480));
    }

    #[test]
    fn output_coordinates_scale_about_pixel_centres() {
        let w = CropWindow {
            left: 100,
            top: 50,
            side: 200,
            source_width: 512,
            source_height: 480,
        };
        let p = w.to_output(Point::new(100.0, 50.0), 100);
        assert!((p.x - -0.25).abs() < 1e-6 && (p.y - -0.25).abs() < 1e-6);
        let c = w.to_output(Point::new(199.5, 149.5), 100);
        assert!((c.x - 49.5).abs() < 1e-6 && (c.y - 49.5).abs() < 1e-6);
    }
}
