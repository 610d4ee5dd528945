//! An image folder read as a video: PNG, JPEG and BMP files sorted by file name, played at a
//! fixed frame rate, all of the size of the first image.

use std::path::{Path, PathBuf};

use image::ImageReader;

use super::reader::{Picture, VideoInfo};
use super::VideoError;
use crate::frame::Rgb8;

const IMAGE_EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "bmp"];

pub(super) struct FolderSource {
    files: Vec<PathBuf>,
    next: usize,
    size: (u32, u32),
    /// The first image, decoded at open to learn the size and kept for the first frame.
    first: Option<Rgb8>,
}

impl FolderSource {
    pub fn open(path: &Path, fps: f64) -> Result<(Self, VideoInfo), VideoError> {
        let files = image_files(path)?;
        let first_path = files
            .first()
            .ok_or_else(|| VideoError::EmptyFolder { path: path.into() })?;
        let first = load(first_path)?;
        let info = VideoInfo {
            path: path.into(),
            width: first.width(),
            height: first.height(),
            fps,
            frame_count: Some(files.len() as u64),
            has_audio: false,
        };
        let source = Self {
            size: first.dimensions(),
            first: Some(first),
            files,
            next: 0,
        };
        Ok((source, info))
    }

    pub fn next_picture(&mut self) -> Result<Option<Picture>, VideoError> {
        let Some(path) = self.files.get(self.next) else {
            return Ok(None);
        };
        let image = match self.first.take() {
            Some(first) => first,
            None => load(path)?,
        };
        if image.dimensions() != self.size {
            return Err(VideoError::ImageSize {
                path: path.clone(),
                got: image.dimensions(),
                expected: self.size,
            });
        }
        self.next += 1;
        // A folder has no timestamps; the reader places frames at index / fps.
        Ok(Some((image, None)))
    }
}

/// The folder's image files, sorted by file name.
fn image_files(folder: &Path) -> Result<Vec<PathBuf>, VideoError> {
    let entries = std::fs::read_dir(folder).map_err(|e| VideoError::Open {
        path: folder.into(),
        reason: e.to_string(),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file() && has_image_extension(path))
        .collect();
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| {
            IMAGE_EXTENSIONS
                .iter()
                .any(|known| ext.eq_ignore_ascii_case(known))
        })
}

fn load(path: &Path) -> Result<Rgb8, VideoError> {
    let image_error = |reason: String| VideoError::Image {
        path: path.into(),
        reason,
    };
    // Guess from the content, not only the extension: a mislabelled file still loads.
    let reader = ImageReader::open(path)
        .and_then(|reader| reader.with_guessed_format())
        .map_err(|e| image_error(e.to_string()))?;
    let image = reader.decode().map_err(|e| image_error(e.to_string()))?;
    Ok(image.into_rgb8())
}
