//! Video in and out, in-process through FFmpeg's libraries (`ffmpeg-next`).
//!
//! This module owns every video file the program touches:
//! - [`VideoReader`] turns a video file (anything FFmpeg demuxes: MP4, MOV, MKV, AVI, GIF…)
//!   or a folder of images into [`Frame`](crate::frame::Frame)s, in order, with their
//!   presentation times.
//! - [`VideoWriter`] encodes RGB pictures into an H.264 MP4, optionally carrying over the
//!   audio of another file and always writing the container metadata it is given. The file
//!   is fragmented and flushed as it grows, so a recording killed outright still plays up to
//!   about its last second. [`Recorder`] runs a writer on a thread of its own, so the
//!   live loop does not wait for the encoder.
//! - [`StreamWriter`] sends pictures live to a [`Destination`]: a v4l2loopback virtual
//!   camera, MPEG-TS over UDP or SRT, or any URL FFmpeg can mux to.
//!
//! FFmpeg types never leave this module: callers see [`Frame`](crate::frame::Frame),
//! [`Rgb8`](crate::frame::Rgb8) and plain Rust values. The few raw FFmpeg calls that
//! `ffmpeg-next` does not wrap live in `ffi.rs`.

mod audio;
mod encode;
mod ffi;
mod folder;
mod info;
mod range;
mod reader;
mod recorder;
mod status;
mod stream;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Once;

use thiserror::Error;

pub use info::VideoInfo;
pub use range::{BadFrameRange, FrameRange};
pub use reader::{ReaderOptions, VideoReader};
pub use recorder::Recorder;
pub use status::ffmpeg_status;
pub use stream::{Destination, LocalOutput, StreamOptions, StreamWriter};
pub use writer::{VideoWriter, WriterOptions, WriterSummary};

/// Everything that can go wrong reading or writing a video. Each message is a sentence that
/// names the file and, where there is one, what to do about it.
#[derive(Debug, Error)]
pub enum VideoError {
    #[error("cannot open video '{}': no such file or directory", path.display())]
    NotFound { path: PathBuf },

    #[error("cannot open video '{}': {reason}", path.display())]
    Open { path: PathBuf, reason: String },

    #[error("'{}' has no video stream; give a video file or a folder of images", path.display())]
    NoVideoStream { path: PathBuf },

    #[error("cannot decode video '{}': {reason}", path.display())]
    Decode { path: PathBuf, reason: String },

    #[error("folder '{}' holds no images (png, jpg, jpeg or bmp files)", path.display())]
    EmptyFolder { path: PathBuf },

    #[error("cannot read image '{}': {reason}", path.display())]
    Image { path: PathBuf, reason: String },

    #[error(
        "image '{}' is {}x{} but the folder's first image is {}x{}; all images of a folder must have the same size",
        path.display(), got.0, got.1, expected.0, expected.1
    )]
    ImageSize {
        path: PathBuf,
        got: (u32, u32),
        expected: (u32, u32),
    },

    #[error("cannot create video '{}': {reason}", path.display())]
    Create { path: PathBuf, reason: String },

    #[error(
        "FFmpeg has no '{name}' encoder, so '{}' cannot be written; install FFmpeg libraries built with libx264",
        path.display()
    )]
    EncoderMissing { path: PathBuf, name: String },

    #[error("cannot write video '{}': {reason}", path.display())]
    Encode { path: PathBuf, reason: String },

    /// A recording that could not be finished (its disk is full), kept under a name that
    /// says it is partial.
    #[error("what was recorded is kept in {}, playable up to where writing stopped", path.display())]
    KeptUnfinished { path: PathBuf },

    #[error(
        "a {}x{} picture cannot go into video '{}', which was created for {}x{} pictures",
        got.0, got.1, path.display(), expected.0, expected.1
    )]
    FrameSize {
        path: PathBuf,
        got: (u32, u32),
        expected: (u32, u32),
    },

    #[error("cannot read the audio of '{}': {reason}", path.display())]
    Audio { path: PathBuf, reason: String },

    #[error("cannot open output '{url}': {reason}")]
    OutputOpen { url: String, reason: String },

    #[error("cannot send to '{url}': {reason}")]
    OutputSend { url: String, reason: String },
}

/// Initialises FFmpeg once per process and silences its own logging below fatal errors:
/// every failure reaches the user once, as our own sentence, not also as FFmpeg log lines.
fn init_ffmpeg() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // `init` cannot fail with the FFmpeg versions ffmpeg-next 8 supports; if it ever
        // did, opening a file reports the real problem.
        if let Err(err) = ffmpeg_next::init() {
            tracing::warn!("FFmpeg initialisation reported: {err}");
        }
        ffmpeg_next::log::set_level(ffmpeg_next::log::Level::Fatal);
    });
}

/// Why FFmpeg cannot be given a path (its API takes C strings).
const BAD_PATH: &str = "FFmpeg only takes paths that are valid UTF-8 without NUL characters";

/// The path as FFmpeg takes it, or `None` when it cannot be given to FFmpeg at all
/// (`ffmpeg-next` would panic on such a path).
fn ffmpeg_path(path: &Path) -> Option<&str> {
    path.to_str().filter(|s| !s.contains('\0'))
}
