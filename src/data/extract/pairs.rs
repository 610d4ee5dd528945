//! `mimic extract pairs`: pairs for general paired translation from any photos or videos.
//! Each picture's edge map (black lines on white, like the edges→photo sets) or its grey
//! version is the input, the picture itself the target; they are written to `DIR/a` and
//! `DIR/b` under the same name, ready for `mimic train pix2pix --pairs DIR/a DIR/b`.

use std::path::{Path, PathBuf};

use image::{GrayImage, Rgb};
use serde::Serialize;

use super::{create_dirs, ExtractError};
use crate::data::imageset::{ImageSet, ImageSetOptions, ImageSetReport};
use crate::frame::Rgb8;
use crate::progress::progress;

/// Canny's gradient thresholds (Sobel magnitude): weak edges count only next to strong ones.
const CANNY_LOW: f32 = 40.0;
const CANNY_HIGH: f32 = 100.0;

/// What the input of each pair is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PairInput {
    /// The picture's edges (Canny), black on white.
    Edges,
    /// The picture in grey (for colourisation).
    Gray,
}

/// What an extraction did.
#[derive(Debug, Clone, Serialize)]
pub struct PairsSummary {
    pub input: PairInput,
    pub pairs: usize,
    pub a: PathBuf,
    pub b: PathBuf,
    pub pictures: ImageSetReport,
}

/// Writes a pair for every picture of `inputs` (gathered at `options.size`) into `out`.
pub fn extract_pairs(
    inputs: &[PathBuf],
    out: &Path,
    input: PairInput,
    options: ImageSetOptions,
) -> Result<PairsSummary, ExtractError> {
    let set = ImageSet::load(inputs, options)?;
    create_dirs(out, &["a", "b"])?;
    let bar = progress(Some(set.images.len() as u64), "writing pairs");
    for (i, picture) in set.images.iter().enumerate() {
        let name = format!("{i:06}.png");
        let made = match input {
            PairInput::Edges => edges(picture),
            PairInput::Gray => grey(picture),
        };
        save(&made, &out.join("a").join(&name))?;
        save(picture, &out.join("b").join(&name))?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(PairsSummary {
        input,
        pairs: set.images.len(),
        a: out.join("a"),
        b: out.join("b"),
        pictures: set.report,
    })
}

fn luma(picture: &Rgb8) -> GrayImage {
    image::DynamicImage::ImageRgb8(picture.clone()).into_luma8()
}

/// Canny edges of the picture as black lines on white.
pub fn edges(picture: &Rgb8) -> Rgb8 {
    let found = imageproc::edges::canny(&luma(picture), CANNY_LOW, CANNY_HIGH);
    Rgb8::from_fn(picture.width(), picture.height(), |x, y| {
        let v = 255 - found.get_pixel(x, y)[0];
        Rgb([v, v, v])
    })
}

/// The picture in grey, in three equal channels.
pub fn grey(picture: &Rgb8) -> Rgb8 {
    let l = luma(picture);
    Rgb8::from_fn(picture.width(), picture.height(), |x, y| {
        let v = l.get_pixel(x, y)[0];
        Rgb([v, v, v])
    })
}

fn save(picture: &Rgb8, path: &Path) -> Result<(), ExtractError> {
    crate::frame::save_png(picture, path).map_err(|e| ExtractError::CreateDir {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}
