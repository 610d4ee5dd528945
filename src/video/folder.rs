//! An image folder read as a video: PNG, JPEG and BMP files sorted by file name, played at a
//! fixed frame rate, all of the size of the first image.

use std::path::{Path, PathBuf};

use super::info::{Picture, VideoInfo};
use super::VideoError;
use crate::frame::{files_in, has_extension, read_image, Rgb8, PICTURE_EXTENSIONS};

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
    files_in(folder, |p| has_extension(p, &PICTURE_EXTENSIONS)).map_err(|e| VideoError::Open {
        path: folder.into(),
        reason: e.to_string(),
    })
}

fn load(path: &Path) -> Result<Rgb8, VideoError> {
    read_image(path).map_err(|e| VideoError::Image {
        path: path.into(),
        reason: e.to_string(),
    })
}
