//! [`VideoReader`]: frames, in order and with their times, from a video file or an image
//! folder.
//!
//! Files go through FFmpeg (demux, decode, one swscale context to RGB24); folders go through
//! the `image` crate (see `folder.rs`). Both give the same [`Frame`]s and [`VideoInfo`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use ffmpeg_next::format::Pixel;
use ffmpeg_next::{codec, decoder, error::EAGAIN, format, frame, media, Packet, Rational};

use super::ffi::{self, Geometry, Scaler};
use super::folder::FolderSource;
use super::info::{Picture, VideoInfo};
use super::{init_ffmpeg, VideoError};
use crate::frame::Frame;

/// Frame rate given to image folders and to files that do not state one.
pub const DEFAULT_FPS: f64 = 25.0;

/// How to read what [`VideoReader::open_with`] is given.
#[derive(Debug, Clone)]
pub struct ReaderOptions {
    /// Frame rate of an image folder (a folder has no timestamps of its own).
    pub folder_fps: f64,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        Self {
            folder_fps: DEFAULT_FPS,
        }
    }
}

/// Reads a video file or an image folder frame by frame.
///
/// After the last frame, or after an error, the reader is finished and returns no more
/// frames.
pub struct VideoReader {
    info: VideoInfo,
    source: Source,
    next_index: u64,
    finished: bool,
}

enum Source {
    File(Box<FileSource>),
    Folder(FolderSource),
}

impl VideoReader {
    /// Opens a video file or an image folder with default options.
    pub fn open(path: &Path) -> Result<Self, VideoError> {
        Self::open_with(path, ReaderOptions::default())
    }

    pub fn open_with(path: &Path, options: ReaderOptions) -> Result<Self, VideoError> {
        let (source, info) = if path.is_dir() {
            let (folder, info) = FolderSource::open(path, valid_fps(options.folder_fps))?;
            (Source::Folder(folder), info)
        } else if path.exists() {
            let (file, info) = FileSource::open(path, true)?;
            (Source::File(Box::new(file)), info)
        } else {
            return Err(VideoError::NotFound { path: path.into() });
        };
        Ok(Self {
            info,
            source,
            next_index: 0,
            finished: false,
        })
    }

    /// Opens a stream FFmpeg reads from an address (`udp://…`, `srt://…`, `rtsp://…`): a
    /// receiver of what [`super::StreamWriter`] sends, or a network camera.
    pub fn open_url(url: &str) -> Result<Self, VideoError> {
        let (file, info) = FileSource::open(Path::new(url), false)?;
        Ok(Self {
            info,
            source: Source::File(Box::new(file)),
            next_index: 0,
            finished: false,
        })
    }

    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// Damaged packets skipped so far (each costs a frame).
    pub fn damaged(&self) -> u64 {
        match &self.source {
            Source::File(file) => file.damaged,
            Source::Folder(_) => 0,
        }
    }

    /// The container's global tags (title, comment, encoder…); empty for image folders.
    pub fn metadata(&self) -> Vec<(String, String)> {
        match &self.source {
            Source::File(file) => ffi::container_metadata(&file.input),
            Source::Folder(_) => Vec::new(),
        }
    }

    /// The next frame, `Ok(None)` at the end.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, VideoError> {
        if self.finished {
            return Ok(None);
        }
        let picture = match &mut self.source {
            Source::File(file) => file.next_picture(),
            Source::Folder(folder) => folder.next_picture(),
        };
        match picture {
            Ok(Some((image, t))) => {
                let index = self.next_index;
                self.next_index += 1;
                // Without a timestamp, a frame sits where a constant rate puts it.
                let t = t.unwrap_or_else(|| {
                    Duration::try_from_secs_f64(index as f64 / self.info.fps).unwrap_or_default()
                });
                Ok(Some(Frame::new(index, t, image)))
            }
            Ok(None) => {
                self.finished = true;
                Ok(None)
            }
            Err(err) => {
                self.finished = true;
                Err(err)
            }
        }
    }
}

impl Iterator for VideoReader {
    type Item = Result<Frame, VideoError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_frame().transpose()
    }
}

fn valid_fps(fps: f64) -> f64 {
    if fps.is_finite() && fps > 0.0 {
        fps
    } else {
        tracing::warn!("frame rate {fps} is not a positive number; using {DEFAULT_FPS}");
        DEFAULT_FPS
    }
}

/// A video file decoded through FFmpeg.
struct FileSource {
    path: PathBuf,
    input: format::context::Input,
    stream_index: usize,
    time_base: Rational,
    decoder: decoder::Video,
    /// Reused for every frame: the decoder's output and its RGB conversion.
    decoded: frame::Video,
    rgb: frame::Video,
    /// Built on the first frame (the decoder's pixel format is only sure then).
    scaler: Option<Scaler>,
    first_timestamp: Option<i64>,
    draining: bool,
    /// Damaged packets skipped so far.
    damaged: u64,
}

/// The demuxers a local video (or picture) is read with: the containers and picture formats
/// people record and keep videos in. Playlists (HLS, DASH, concat) are left out: they are not
/// videos but lists of other files and addresses, which a file handed to mimic must not make it
/// open; and FFmpeg reads only files for a local input (`protocol_whitelist`).
const LOCAL_FORMATS: &str = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,gif,mpeg,mpegts,asf,flv,\
    ogg,yuv4mpegpipe,h264,hevc,m4v,mjpeg,image2,png_pipe,jpeg_pipe,bmp_pipe,webp_pipe,tiff_pipe";

impl FileSource {
    /// Opens a local file (`local`: read as a file, by the demuxers of [`LOCAL_FORMATS`]
    /// only) or an address FFmpeg reads from.
    fn open(path: &Path, local: bool) -> Result<(Self, VideoInfo), VideoError> {
        init_ffmpeg();
        let open_error = |reason: String| VideoError::Open {
            path: path.into(),
            reason,
        };
        let ffmpeg_path =
            super::ffmpeg_path(path).ok_or_else(|| open_error(super::BAD_PATH.into()))?;
        let opened = match local {
            true => {
                let mut options = ffmpeg_next::Dictionary::new();
                options.set("protocol_whitelist", "file");
                options.set("format_whitelist", LOCAL_FORMATS);
                format::input_with_dictionary(&format!("file:{ffmpeg_path}"), options)
            }
            false => format::input(ffmpeg_path),
        };
        let input = opened.map_err(|e| match e {
            ffmpeg_next::Error::InvalidData => open_error(format!(
                "{e}; it is not a video FFmpeg can read, or it is damaged"
            )),
            // What a local input's whitelists refuse: a playlist, a list of other files.
            ffmpeg_next::Error::Other { errno: libc::EINVAL } if local => open_error(format!(
                "{e}; it is not a video or a picture (a playlist or a list of other files is not read), or it is damaged"
            )),
            e => open_error(e.to_string()),
        })?;
        let stream = input
            .streams()
            .best(media::Type::Video)
            .ok_or_else(|| VideoError::NoVideoStream { path: path.into() })?;
        let decoder = open_decoder(&stream).map_err(|e| open_error(e.to_string()))?;
        let (width, height) = (decoder.width(), decoder.height());
        if width == 0 || height == 0 {
            return Err(open_error("the video stream has no picture size".into()));
        }
        let info = VideoInfo {
            path: path.into(),
            width,
            height,
            fps: stream_fps(&stream),
            frame_count: frame_count_estimate(&stream),
            has_audio: input.streams().best(media::Type::Audio).is_some(),
        };
        let source = Self {
            path: path.into(),
            stream_index: stream.index(),
            time_base: stream.time_base(),
            decoder,
            decoded: frame::Video::empty(),
            rgb: frame::Video::new(Pixel::RGB24, width, height),
            scaler: None,
            first_timestamp: None,
            draining: false,
            damaged: 0,
            input,
        };
        Ok((source, info))
    }

    fn next_picture(&mut self) -> Result<Option<Picture>, VideoError> {
        loop {
            match self.decoder.receive_frame(&mut self.decoded) {
                Ok(()) => return self.convert().map(Some),
                Err(ffmpeg_next::Error::Eof) => return Ok(None),
                Err(ffmpeg_next::Error::Other { errno: EAGAIN }) if !self.draining => {}
                // EAGAIN while draining would mean a decoder that never ends: stop instead.
                Err(ffmpeg_next::Error::Other { errno: EAGAIN }) => return Ok(None),
                Err(err) => return Err(self.decode_error(err)),
            }
            self.feed_decoder()?;
        }
    }

    /// Sends the next packet of our stream to the decoder, or end-of-stream so that it
    /// gives out the frames it still holds.
    fn feed_decoder(&mut self) -> Result<(), VideoError> {
        let packet = loop {
            // A fresh packet each read: reading into one that still holds another stream's
            // packet would leak it (FFmpeg does not release it first; with d9's sound, 0.6 MB
            // a pass in a soak).
            let mut packet = Packet::empty();
            match packet.read(&mut self.input) {
                Ok(()) if packet.stream() == self.stream_index => break packet,
                Ok(()) => continue,
                Err(ffmpeg_next::Error::Eof) => {
                    self.draining = true;
                    return self.decoder.send_eof().map_err(|e| self.decode_error(e));
                }
                Err(err) => return Err(self.decode_error(err)),
            }
        };
        match self.decoder.send_packet(&packet) {
            Ok(()) => Ok(()),
            // A damaged packet costs a frame, not the video; said once, then counted.
            Err(ffmpeg_next::Error::InvalidData) => {
                if self.damaged == 0 {
                    tracing::warn!(
                        "skipping a damaged packet in '{}' (further ones are skipped without a word)",
                        self.path.display()
                    );
                }
                self.damaged += 1;
                Ok(())
            }
            Err(err) => Err(self.decode_error(err)),
        }
    }

    fn convert(&mut self) -> Result<Picture, VideoError> {
        let source = Geometry::of(&self.decoded);
        let scaler = match &mut self.scaler {
            Some(scaler) if scaler.source() == source => scaler,
            // First frame, or the stream changed size or format mid-way: (re)build, and keep
            // giving frames of the size announced in `info`.
            slot => {
                let target = Geometry::of(&self.rgb);
                let scaler = Scaler::new(source, target).map_err(|e| VideoError::Decode {
                    path: self.path.clone(),
                    reason: format!("cannot convert {source:?} pictures to RGB: {e}"),
                })?;
                slot.insert(scaler)
            }
        };
        let converted = scaler.run(&self.decoded, &mut self.rgb);
        converted.map_err(|e| self.decode_error(e))?;
        let image = ffi::image_from_rgb_frame(&self.rgb).ok_or_else(|| VideoError::Decode {
            path: self.path.clone(),
            reason: "the converted picture is smaller than its size says".into(),
        })?;
        Ok((image, self.presentation_time()))
    }

    /// The decoded frame's time from the first frame, in seconds of the stream's time base.
    fn presentation_time(&mut self) -> Option<Duration> {
        let timestamp = self.decoded.timestamp()?;
        let first = *self.first_timestamp.get_or_insert(timestamp);
        let ticks = timestamp.saturating_sub(first).max(0);
        let seconds = ticks as f64 * f64::from(self.time_base);
        Duration::try_from_secs_f64(seconds).ok()
    }

    fn decode_error(&self, err: ffmpeg_next::Error) -> VideoError {
        VideoError::Decode {
            path: self.path.clone(),
            reason: err.to_string(),
        }
    }
}

fn open_decoder(stream: &format::stream::Stream) -> Result<decoder::Video, ffmpeg_next::Error> {
    let mut context = codec::context::Context::from_parameters(stream.parameters())?;
    // Frame threads decode faster; every frame still comes out, in order.
    context.set_threading(codec::threading::Config {
        kind: codec::threading::Type::Frame,
        count: 0,
        ..Default::default()
    });
    context.decoder().video()
}

fn stream_fps(stream: &format::stream::Stream) -> f64 {
    [stream.avg_frame_rate(), stream.rate()]
        .into_iter()
        .find(|rate| rate.numerator() > 0 && rate.denominator() > 0)
        .map_or(DEFAULT_FPS, f64::from)
}

fn frame_count_estimate(stream: &format::stream::Stream) -> Option<u64> {
    if stream.frames() > 0 {
        return Some(stream.frames() as u64);
    }
    // No count in the header (fragmented MP4, some AVI): estimate from duration and rate.
    let seconds = stream.duration() as f64 * f64::from(stream.time_base());
    let frames = (seconds * stream_fps(stream)).round();
    (frames.is_finite() && frames > 0.0).then_some(frames as u64)
}
