//! [`VideoWriter`]: RGB pictures into an H.264 MP4 that survives being killed.
//!
//! The MP4 is fragmented (`frag_keyframe+empty_moov+default_base_moof`) with a keyframe
//! every second, and FFmpeg flushes each completed fragment to the file at once
//! (`flush_packets=1`), so a recording whose process dies without warning still plays up to
//! about its last second. x264 runs with `tune=zerolatency` for the same reason: without
//! look-ahead or B-frames it holds back no pictures, so what was written is what gets
//! fragmented. `delay_moov` holds the header back until the first fragment, so that a
//! stream starting before zero (copied AAC starts with a priming packet) gets an edit list
//! instead of the muxer stretching the first video frame. `finish` (or, failing that,
//! `Drop`) writes the trailer.
//!
//! H.264 in yuv420p needs even sizes: an odd width or height is **cropped** by one pixel
//! (the last column or row is dropped), so a 641x481 picture is recorded as 640x480
//! ([`super::encode`], the encoder shared with live outputs).

use std::path::{Path, PathBuf};
use std::time::Duration;

use ffmpeg_next::format::Pixel;
use ffmpeg_next::{encoder, format, Dictionary};
use ffmpeg_next::{Codec, Rational};

use super::audio::AudioCopy;
use super::encode::{frame_rate, EncoderSettings, PictureEncoder};
use super::ffi;
use super::{init_ffmpeg, VideoError};
use crate::frame::Rgb8;

const ENCODER: &str = "libx264";
/// Visually near-lossless at a size that suits recordings.
const CRF: &str = "18";
/// Fast enough to record live on a small CPU.
const PRESET: &str = "veryfast";
const MOVFLAGS: &str = "frag_keyframe+empty_moov+delay_moov+default_base_moof";
const MAX_FPS: f64 = 1000.0;
const MAX_SIDE: u32 = 16384;

/// What to record.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Size of the pictures given to [`VideoWriter::write`].
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// A file whose audio is copied into the recording (a conversion keeps its sound).
    pub audio_from: Option<PathBuf>,
    /// Container tags, e.g. `("comment", "synthetic media made with mimic")`. MP4 keeps the
    /// common keys (title, comment, artist, description, copyright…).
    pub metadata: Vec<(String, String)>,
}

impl WriterOptions {
    pub fn new(width: u32, height: u32, fps: f64) -> Self {
        Self {
            width,
            height,
            fps,
            audio_from: None,
            metadata: Vec::new(),
        }
    }
}

/// What a finished recording holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WriterSummary {
    pub frames: u64,
    pub duration: Duration,
}

/// Encodes pictures into an MP4 as they come.
///
/// End it with [`finish`](Self::finish), or with [`finish_partial`](Self::finish_partial)
/// when what it records could not be completed (the file is kept, under a name that says
/// so). Dropped without either, it finishes the file as well as it can. Nothing here deletes
/// a recording.
pub struct VideoWriter {
    path: PathBuf,
    encoding: Option<Encoding>,
}

impl VideoWriter {
    /// Creates `path` (replacing any file there) and prepares the encoder. On error no file
    /// is left behind.
    pub fn create(path: &Path, options: WriterOptions) -> Result<Self, VideoError> {
        init_ffmpeg();
        let create_error = |reason: String| VideoError::Create {
            path: path.into(),
            reason,
        };
        validate(&options).map_err(create_error)?;
        let ffmpeg_path =
            super::ffmpeg_path(path).ok_or_else(|| create_error(super::BAD_PATH.into()))?;
        let codec = encoder::find_by_name(ENCODER).ok_or_else(|| VideoError::EncoderMissing {
            path: path.into(),
            name: ENCODER.into(),
        })?;
        let output = format::output_as(ffmpeg_path, "mp4").map_err(|e| {
            create_error(format!(
                "{e}; check that its folder exists and can be written"
            ))
        })?;
        match Encoding::start(path, output, codec, &options) {
            Ok(encoding) => Ok(Self {
                path: path.into(),
                encoding: Some(encoding),
            }),
            Err(err) => {
                // `start` closed the file when it dropped the output context.
                remove_quietly(path);
                Err(err)
            }
        }
    }

    /// Encodes one picture; it must have the size given at creation.
    pub fn write(&mut self, image: &Rgb8) -> Result<(), VideoError> {
        match &mut self.encoding {
            Some(encoding) => encoding.write(image),
            None => Err(self.encode_error("the writer is already closed".into())),
        }
    }

    /// Flushes the encoder, writes the rest of the audio and the trailer.
    pub fn finish(mut self) -> Result<WriterSummary, VideoError> {
        match self.encoding.take() {
            Some(encoding) => encoding.finish(),
            None => Err(self.encode_error("the writer is already closed".into())),
        }
    }

    /// Finishes the file (playable, every frame given so far in it) and renames it
    /// `NAME.partial.EXT` (`NAME.partial-2.EXT`, … when that exists), for a recording whose
    /// run could not be completed: it is kept, and never looks complete. Returns where it is.
    ///
    /// A file that cannot be finished either (the disk is full) is renamed all the same:
    /// [`VideoError::KeptUnfinished`] says where it is, playable up to where writing stopped.
    pub fn finish_partial(self) -> Result<(PathBuf, WriterSummary), VideoError> {
        let path = self.path.clone();
        let finished = self.finish();
        let partial = crate::files::kept_partial_path(&path);
        std::fs::rename(&path, &partial).map_err(|e| VideoError::Encode {
            path: path.clone(),
            reason: format!(
                "it is complete up to where it stopped, but cannot be renamed to '{}': {e}",
                partial.display()
            ),
        })?;
        match finished {
            Ok(summary) => Ok((partial, summary)),
            Err(error) => {
                tracing::debug!("finishing the partial recording: {error}");
                Err(VideoError::KeptUnfinished { path: partial })
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn encode_error(&self, reason: String) -> VideoError {
        VideoError::Encode {
            path: self.path.clone(),
            reason,
        }
    }
}

impl Drop for VideoWriter {
    fn drop(&mut self) {
        // An early return left the recording open: finish it so that it stays playable.
        if let Some(encoding) = self.encoding.take() {
            if let Err(err) = encoding.finish() {
                tracing::warn!("{err}");
            }
        }
    }
}

fn validate(options: &WriterOptions) -> Result<(), String> {
    let (w, h) = (options.width, options.height);
    if !(2..=MAX_SIDE).contains(&w) || !(2..=MAX_SIDE).contains(&h) {
        return Err(format!(
            "a {w}x{h} video cannot be encoded; width and height must be 2 to {MAX_SIDE} pixels"
        ));
    }
    if !(options.fps.is_finite() && options.fps > 0.0 && options.fps <= MAX_FPS) {
        return Err(format!(
            "{} fps is not a frame rate; give a number above 0 and at most {MAX_FPS}",
            options.fps
        ));
    }
    let has_nul = |s: &String| s.contains('\0');
    if let Some((key, _)) = options
        .metadata
        .iter()
        .find(|(key, value)| key.is_empty() || has_nul(key) || has_nul(value))
    {
        return Err(format!(
            "metadata '{}' cannot be written; keys must be non-empty and neither key nor value may contain a NUL character",
            key.escape_debug()
        ));
    }
    Ok(())
}

fn remove_quietly(path: &Path) {
    if let Err(err) = std::fs::remove_file(path) {
        if err.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!("cannot delete '{}': {err}", path.display());
        }
    }
}

/// The open output file and everything that feeds it.
struct Encoding {
    path: PathBuf,
    output: format::context::Output,
    pictures: PictureEncoder,
    stream_index: usize,
    stream_time_base: Rational,
    fps: f64,
    frames: u64,
    audio: Option<AudioCopy>,
}

impl Encoding {
    fn start(
        path: &Path,
        mut output: format::context::Output,
        codec: Codec,
        options: &WriterOptions,
    ) -> Result<Self, VideoError> {
        let create_error = |reason: String| VideoError::Create {
            path: path.into(),
            reason,
        };
        let rate = frame_rate(options.fps);
        let settings = EncoderSettings {
            codec,
            pixel: Pixel::YUV420P,
            width: options.width,
            height: options.height,
            rate,
            // A keyframe (and so a fragment) every second bounds what a kill can lose.
            keyframe_every: f64::from(rate).round().max(1.0) as u32,
            options: &[("preset", PRESET), ("crf", CRF), ("tune", "zerolatency")],
        };
        let pictures = PictureEncoder::open(&settings, &output)
            .map_err(|e| create_error(format!("cannot start the {ENCODER} encoder: {e}")))?;
        let stream_index = pictures
            .add_stream(&mut output, codec)
            .map_err(|e| create_error(e.to_string()))?;
        let mut audio = match &options.audio_from {
            Some(source) => AudioCopy::add_to(source, &mut output)?,
            None => None,
        };
        output.set_metadata(options.metadata.iter().collect());
        write_header(&mut output).map_err(|e| create_error(e.to_string()))?;
        if let Some(audio) = &mut audio {
            audio.use_output_time_base(&output);
        }
        let stream_time_base = output
            .stream(stream_index)
            .map_or(rate.invert(), |s| s.time_base());
        Ok(Self {
            path: path.into(),
            output,
            pictures,
            stream_index,
            stream_time_base,
            fps: options.fps,
            frames: 0,
            audio,
        })
    }

    fn write(&mut self, image: &Rgb8) -> Result<(), VideoError> {
        let expected = self.pictures.input_size();
        if image.dimensions() != expected {
            return Err(VideoError::FrameSize {
                path: self.path.clone(),
                got: image.dimensions(),
                expected,
            });
        }
        // Constant frame rate: picture n is shown at n / fps.
        let sent = self.pictures.send(image, self.frames as i64);
        sent.map_err(|e| self.encode_error(e))?;
        self.frames += 1;
        self.write_packets()
    }

    fn finish(mut self) -> Result<WriterSummary, VideoError> {
        let flushed = self.pictures.send_end();
        flushed.map_err(|e| self.encode_error(e))?;
        self.write_packets()?;
        let duration =
            Duration::try_from_secs_f64(self.frames as f64 / self.fps).unwrap_or_default();
        if let Some(audio) = &mut self.audio {
            audio.write_until(&mut self.output, duration.as_secs_f64())?;
        }
        let trailer = ffi::write_trailer(&mut self.output);
        trailer.map_err(|e| self.encode_error(e))?;
        Ok(WriterSummary {
            frames: self.frames,
            duration,
        })
    }

    /// Moves every packet the encoder has ready into the file, with the audio up to it.
    fn write_packets(&mut self) -> Result<(), VideoError> {
        let time_base = self.pictures.time_base();
        loop {
            let packet = match self.pictures.packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => return Ok(()),
                Err(err) => return Err(self.encode_error(err)),
            };
            if let (Some(audio), Some(pts)) = (&mut self.audio, packet.pts()) {
                audio.write_until(&mut self.output, pts as f64 * f64::from(time_base))?;
            }
            packet.set_stream(self.stream_index);
            packet.rescale_ts(time_base, self.stream_time_base);
            packet.set_position(-1);
            // Our own interleaving (audio up to each video packet) keeps the muxer from
            // holding packets back, so each fragment reaches the disk when it is complete.
            if let Err(err) = packet.write(&mut self.output) {
                return Err(self.encode_error(err));
            }
        }
    }

    fn encode_error(&self, err: ffmpeg_next::Error) -> VideoError {
        VideoError::Encode {
            path: self.path.clone(),
            reason: err.to_string(),
        }
    }
}

fn write_header(output: &mut format::context::Output) -> Result<(), ffmpeg_next::Error> {
    let options: Dictionary = [("movflags", MOVFLAGS), ("flush_packets", "1")]
        .into_iter()
        .collect();
    let unused = output.write_header_with(options)?;
    for (key, value) in unused.iter() {
        tracing::warn!("the MP4 muxer ignored option {key}={value}");
    }
    Ok(())
}
