//! [`StreamWriter`]: pictures sent out live through FFmpeg's muxers and protocols, as they
//! are made: raw frames into a v4l2loopback device (a virtual camera that video-call apps
//! list), MPEG-TS over UDP or SRT (which OBS's media source and ffplay read), FLV to an RTMP
//! server, or whatever FFmpeg guesses from any other URL.
//!
//! Network streams are H.264 for low latency: x264's `zerolatency` (no B-frames, no
//! look-ahead: a picture leaves as soon as it is encoded), a keyframe every half second so a
//! receiver that joins late starts within it, and every packet flushed to the network as it
//! is written. Pictures are timed by when they were taken, so a stream that skips pictures
//! still plays at the capture's pace.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use ffmpeg_next::error::EINVAL;
use ffmpeg_next::format::Pixel;
use ffmpeg_next::{codec, encoder, format, Dictionary, Rational};

use super::encode::{frame_rate, EncoderSettings, PictureEncoder};
use super::{ffi, init_ffmpeg, VideoError};
use crate::frame::Rgb8;

/// Where a live output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A v4l2 output device (`v4l2:/dev/videoN`), normally a v4l2loopback virtual camera:
    /// raw yuv420p frames, the format video-call apps read.
    Camera(PathBuf),
    /// `udp://HOST:PORT` or `srt://…`: MPEG-TS of low-latency H.264.
    Network(String),
    /// `rtmp://…` or `rtmps://…`: FLV of the same H.264, for a streaming server.
    Server(String),
    /// Any other URL or file name: H.264 in the muxer FFmpeg guesses from it.
    Other(String),
}

/// Where a local output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalOutput {
    File(PathBuf),
    /// Another program's standard input or output.
    Pipe,
}

impl Destination {
    /// What `url` names. Nothing is opened here.
    pub fn parse(url: &str) -> Destination {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if let Some(device) = url.strip_prefix("v4l2:") {
            return Destination::Camera(PathBuf::from(device));
        }
        match scheme.as_deref() {
            Some("udp" | "srt") => Destination::Network(url.to_string()),
            Some("rtmp" | "rtmps") => Destination::Server(url.to_string()),
            _ => Destination::Other(url.to_string()),
        }
    }

    /// What a destination of no known kind writes to on this machine: a file (a path, or
    /// `file:` and a path) or another program's input (`pipe:`); `None` for an address
    /// (`scheme://…`) or a known kind.
    pub fn local(&self) -> Option<LocalOutput> {
        let Destination::Other(url) = self else {
            return None;
        };
        if url.contains("://") {
            return None;
        }
        if url.to_ascii_lowercase().starts_with("pipe:") {
            return Some(LocalOutput::Pipe);
        }
        let path = url.strip_prefix("file:").unwrap_or(url);
        Some(LocalOutput::File(PathBuf::from(path)))
    }

    /// The address FFmpeg opens.
    pub fn url(&self) -> String {
        match self {
            Destination::Camera(device) => device.display().to_string(),
            Destination::Network(url) | Destination::Server(url) | Destination::Other(url) => {
                url.clone()
            }
        }
    }

    /// The muxer, when the kind of destination decides it.
    fn muxer(&self) -> Option<&'static str> {
        match self {
            Destination::Camera(_) => Some("v4l2"),
            Destination::Network(_) => Some("mpegts"),
            Destination::Server(_) => Some("flv"),
            Destination::Other(_) => None,
        }
    }

    /// Options of the protocol that carries the stream.
    fn io_options(&self) -> Dictionary<'static> {
        let mut options = Dictionary::new();
        let url = self.url().to_ascii_lowercase();
        if url.starts_with("udp://") {
            // Seven TS packets a datagram, the size receivers expect; a connected socket
            // reports a receiver that is not there, so the stream can count what it lost.
            options.set("pkt_size", "1316");
            options.set("connect", "1");
        }
        if url.starts_with("srt://") {
            // In live mode SRT drops what is still in flight when the stream closes (its last
            // 200 ms here); a second's linger delivers it.
            options.set("linger", "1");
        }
        options
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Camera(device) => write!(f, "v4l2:{}", device.display()),
            other => f.write_str(&other.url()),
        }
    }
}

/// What a live output carries.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Size of the pictures given to [`StreamWriter::send`].
    pub width: u32,
    pub height: u32,
    pub fps: f64,
    /// Tags, e.g. the synthetic-media mark, wherever the container carries them (MPEG-TS:
    /// as the service's name and provider; FLV: in its metadata).
    pub metadata: Vec<(String, String)>,
}

/// x264 for live streams: see the module's comment.
const STREAM_ENCODER: &str = "libx264";
const STREAM_OPTIONS: &[(&str, &str)] = &[
    ("preset", "veryfast"),
    ("tune", "zerolatency"),
    ("crf", "23"),
];

/// One open live output.
pub struct StreamWriter {
    destination: Destination,
    output: format::context::Output,
    pictures: PictureEncoder,
    stream_index: usize,
    stream_time_base: Rational,
    fps: f64,
    /// The time of the first picture sent, which is shown at 0.
    first: Option<Duration>,
    last_pts: Option<i64>,
}

impl StreamWriter {
    /// Opens `destination` (the device, the connection, the server) and writes the stream's
    /// header; an error says why in the destination's terms.
    pub fn open(
        destination: &Destination,
        options: &StreamOptions,
    ) -> Result<StreamWriter, VideoError> {
        init_ffmpeg();
        let url = destination.to_string();
        let open_error = |reason: String| VideoError::OutputOpen {
            url: url.clone(),
            reason,
        };
        let mut output = ffi::open_output(
            &destination.url(),
            destination.muxer(),
            destination.io_options(),
        )
        .map_err(|e| open_error(why_not_open(destination, &e)))?;
        let (codec, pixel, codec_options) = match destination {
            Destination::Camera(_) => (encoder::find(codec::Id::RAWVIDEO), Pixel::YUV420P, &[][..]),
            _ => (
                encoder::find_by_name(STREAM_ENCODER),
                Pixel::YUV420P,
                STREAM_OPTIONS,
            ),
        };
        let codec = codec.ok_or_else(|| open_error("FFmpeg has no encoder for it".into()))?;
        let rate = frame_rate(options.fps);
        let settings = EncoderSettings {
            codec,
            pixel,
            width: options.width,
            height: options.height,
            rate,
            keyframe_every: (options.fps / 2.0).round().max(1.0) as u32,
            options: codec_options,
        };
        let pictures = PictureEncoder::open(&settings, &output)
            .map_err(|e| open_error(format!("cannot start the encoder: {e}")))?;
        let stream_index = pictures
            .add_stream(&mut output, codec)
            .map_err(|e| open_error(e.to_string()))?;
        output.set_metadata(tags(destination, &options.metadata).into_iter().collect());
        let header: Dictionary = [("flush_packets", "1")].into_iter().collect();
        output
            .write_header_with(header)
            .map_err(|e| open_error(why_not_open(destination, &e)))?;
        let stream_time_base = output
            .stream(stream_index)
            .map_or(rate.invert(), |s| s.time_base());
        Ok(StreamWriter {
            destination: destination.clone(),
            output,
            pictures,
            stream_index,
            stream_time_base,
            fps: options.fps,
            first: None,
            last_pts: None,
        })
    }

    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// Sends `image`, taken `t` into the run, and every packet the encoder has ready.
    pub fn send(&mut self, image: &Rgb8, t: Duration) -> Result<(), VideoError> {
        let expected = self.pictures.input_size();
        if image.dimensions() != expected {
            return Err(self.send_error(format!(
                "a {}x{} picture cannot go into a stream made for {}x{} pictures",
                image.width(),
                image.height(),
                expected.0,
                expected.1
            )));
        }
        let pts = self.pts_for(t);
        let sent = self.pictures.send(image, pts);
        sent.map_err(|e| self.send_error(e.to_string()))?;
        self.send_packets()
    }

    /// Ends the stream: the pictures the encoder holds and the trailer.
    pub fn finish(mut self) -> Result<(), VideoError> {
        let ended = self.pictures.send_end();
        ended.map_err(|e| self.send_error(e.to_string()))?;
        self.send_packets()?;
        let trailer = ffi::write_trailer(&mut self.output);
        trailer.map_err(|e| self.send_error(e.to_string()))
    }

    /// The picture's timestamp, in frames: when it was taken, kept rising.
    fn pts_for(&mut self, t: Duration) -> i64 {
        let since_first = t.saturating_sub(*self.first.get_or_insert(t));
        let pts = (since_first.as_secs_f64() * self.fps).round() as i64;
        let pts = self.last_pts.map_or(pts, |last| pts.max(last + 1));
        self.last_pts = Some(pts);
        pts
    }

    fn send_packets(&mut self) -> Result<(), VideoError> {
        let time_base = self.pictures.time_base();
        loop {
            let packet = match self.pictures.packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => return Ok(()),
                Err(e) => return Err(self.send_error(e.to_string())),
            };
            packet.set_stream(self.stream_index);
            packet.rescale_ts(time_base, self.stream_time_base);
            packet.set_position(-1);
            if let Err(e) = packet.write(&mut self.output) {
                return Err(self.send_error(e.to_string()));
            }
        }
    }

    fn send_error(&self, reason: String) -> VideoError {
        VideoError::OutputSend {
            url: self.destination.to_string(),
            reason,
        }
    }
}

/// The container tags: the caller's, and MPEG-TS's service name and provider, the tags that
/// muxer carries.
fn tags(destination: &Destination, metadata: &[(String, String)]) -> Vec<(String, String)> {
    let mut tags = metadata.to_vec();
    if destination.muxer() == Some("mpegts") {
        if let Some((_, mark)) = metadata.first() {
            tags.push(("service_name".into(), mark.clone()));
        }
        tags.push(("service_provider".into(), "mimic".into()));
    }
    tags
}

/// Why a destination did not open, with what to do where it is known.
fn why_not_open(destination: &Destination, error: &ffmpeg_next::Error) -> String {
    match (destination, error) {
        (Destination::Camera(device), _) if !device.exists() => format!(
            "{} does not exist; load v4l2loopback (`sudo modprobe v4l2loopback exclusive_caps=1 card_label=mimic`), and `mimic devices` lists the devices there are",
            device.display()
        ),
        (Destination::Camera(_), error) => format!(
            "{error}; it is not a device that takes frames (`mimic devices` lists the virtual cameras there are)"
        ),
        // What FFmpeg says when it cannot guess a muxer from the address.
        (Destination::Other(_), ffmpeg_next::Error::Other { errno: EINVAL }) => {
            "FFmpeg cannot tell what to send there; give v4l2:/dev/videoN, udp://HOST:PORT, srt://… or rtmp://…".into()
        }
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_address_is_told_apart() {
        assert_eq!(
            Destination::parse("v4l2:/dev/video7"),
            Destination::Camera(PathBuf::from("/dev/video7"))
        );
        for url in [
            "udp://127.0.0.1:5000",
            "srt://host:9000?mode=caller",
            "UDP://h:1",
        ] {
            assert_eq!(Destination::parse(url), Destination::Network(url.into()));
        }
        let server = "rtmp://live.example/app/key";
        assert_eq!(
            Destination::parse(server),
            Destination::Server(server.into())
        );
        assert_eq!(
            Destination::parse("out.ts"),
            Destination::Other("out.ts".into())
        );
        assert_eq!(
            Destination::parse("v4l2:/dev/video7").to_string(),
            "v4l2:/dev/video7"
        );
    }
}
