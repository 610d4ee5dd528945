//! Audio carried from a source file into a recording: the source's audio packets are copied
//! as they are (no re-encoding), shifted so that the source's first video frame lands at the
//! recording's time zero, and written in step with the video.

use std::path::{Path, PathBuf};

use ffmpeg_next::{encoder, format, media, Packet, Rational, Rescale};

use super::{ffi, VideoError};

pub(super) struct AudioCopy {
    path: PathBuf,
    input: format::context::Input,
    source_index: usize,
    source_time_base: Rational,
    /// Source ticks that map to the recording's time zero.
    origin: i64,
    output_index: usize,
    output_time_base: Rational,
    /// A packet read ahead of the video, waiting for the video to catch up.
    pending: Option<Packet>,
    exhausted: bool,
}

impl AudioCopy {
    /// Adds the source's audio stream to `output`, or returns `None` (after saying why) when
    /// there is no audio to carry.
    pub fn add_to(
        path: &Path,
        output: &mut format::context::Output,
    ) -> Result<Option<Self>, VideoError> {
        let audio_error = |reason: String| VideoError::Audio {
            path: path.into(),
            reason,
        };
        let ffmpeg_path =
            super::ffmpeg_path(path).ok_or_else(|| audio_error(super::BAD_PATH.into()))?;
        let input = format::input(ffmpeg_path).map_err(|e| audio_error(e.to_string()))?;
        let Some(stream) = input.streams().best(media::Type::Audio) else {
            tracing::info!(
                "'{}' has no audio; the recording will be silent",
                path.display()
            );
            return Ok(None);
        };
        let codec_id = stream.parameters().id();
        if !ffi::format_accepts(output, codec_id) {
            tracing::warn!(
                "the audio of '{}' ({codec_id:?}) cannot go into an MP4; the recording will be silent",
                path.display()
            );
            return Ok(None);
        }
        let (source_index, source_time_base) = (stream.index(), stream.time_base());
        let origin = time_origin(&input, &stream);
        let mut out_stream = output
            .add_stream(encoder::find(ffmpeg_next::codec::Id::None))
            .map_err(|e| audio_error(e.to_string()))?;
        out_stream.set_parameters(stream.parameters());
        ffi::clear_codec_tag(&mut out_stream);
        out_stream.set_time_base(source_time_base);
        let output_index = out_stream.index();
        Ok(Some(Self {
            path: path.into(),
            source_index,
            source_time_base,
            origin,
            output_index,
            output_time_base: source_time_base,
            pending: None,
            exhausted: false,
            input,
        }))
    }

    /// Learns the time base the muxer chose for our stream (known after the header).
    pub fn use_output_time_base(&mut self, output: &format::context::Output) {
        if let Some(stream) = output.stream(self.output_index) {
            self.output_time_base = stream.time_base();
        }
    }

    /// Writes every source packet that starts before `seconds` of recording time.
    pub fn write_until(
        &mut self,
        output: &mut format::context::Output,
        seconds: f64,
    ) -> Result<(), VideoError> {
        while let Some(mut packet) = self.next_packet() {
            let start = packet.pts().or(packet.dts()).unwrap_or(self.origin) - self.origin;
            if start as f64 * f64::from(self.source_time_base) >= seconds {
                self.pending = Some(packet);
                return Ok(());
            }
            packet.set_pts(packet.pts().map(|t| t - self.origin));
            packet.set_dts(packet.dts().map(|t| t - self.origin));
            packet.rescale_ts(self.source_time_base, self.output_time_base);
            packet.set_stream(self.output_index);
            packet.set_position(-1);
            packet.write(output).map_err(|e| VideoError::Audio {
                path: self.path.clone(),
                reason: format!("cannot copy an audio packet: {e}"),
            })?;
        }
        Ok(())
    }

    fn next_packet(&mut self) -> Option<Packet> {
        if let Some(packet) = self.pending.take() {
            return Some(packet);
        }
        while !self.exhausted {
            // A fresh packet each read: FFmpeg would not release the video packet left in a
            // reused one (the reader's leak, the same here).
            let mut packet = Packet::empty();
            match packet.read(&mut self.input) {
                Ok(()) if packet.stream() == self.source_index => return Some(packet),
                Ok(()) => {}
                Err(ffmpeg_next::Error::Eof) => self.exhausted = true,
                Err(err) => {
                    // A damaged tail ends the audio; the video is what matters.
                    tracing::warn!("audio of '{}' ends early: {err}", self.path.display());
                    self.exhausted = true;
                }
            }
        }
        None
    }
}

/// Where the source's video starts (its first frame is the recording's first frame), in
/// audio ticks; where the audio starts when the source has no video.
fn time_origin(input: &format::context::Input, audio: &format::stream::Stream) -> i64 {
    let known = |start: i64| start != ffmpeg_next::ffi::AV_NOPTS_VALUE;
    let video_start = input
        .streams()
        .best(media::Type::Video)
        .map(|video| (video.start_time(), video.time_base()))
        .filter(|(start, _)| known(*start));
    match video_start {
        Some((start, time_base)) => start.rescale(time_base, audio.time_base()),
        None if known(audio.start_time()) => audio.start_time(),
        None => 0,
    }
}
