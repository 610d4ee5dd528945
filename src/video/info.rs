//! What every video source tells of itself and of each picture it gives: the [`VideoInfo`]
//! known when it is opened, and a [`Picture`] with its time. File and folder sources share
//! them, so neither depends on the other.

use std::path::PathBuf;
use std::time::Duration;

use crate::frame::Rgb8;

/// What a video is, as known when it is opened.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    pub path: PathBuf,
    /// Size of every frame the reader returns.
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// The container's estimate of the number of frames (exact for image folders).
    pub frame_count: Option<u64>,
    pub has_audio: bool,
}

/// A picture and its presentation time from the first frame, when the source knows it.
pub(super) type Picture = (Rgb8, Option<Duration>);
