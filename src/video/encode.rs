//! RGB pictures into an encoder's packets: the one picture encoder behind recordings
//! ([`super::VideoWriter`]) and live outputs ([`super::StreamWriter`]). Each picture is
//! converted by swscale (BT.601, limited range, said in the stream so players convert back
//! alike) to the encoder's pixel format, given its timestamp and encoded; the packets come out
//! in the encoder's time base.
//!
//! H.264 in yuv420p needs even sizes: an odd width or height is **cropped** by one pixel.

use ffmpeg_next::format::Pixel;
use ffmpeg_next::{codec, color, encoder, error::EAGAIN, format, frame, Dictionary, Packet};
use ffmpeg_next::{Codec, Rational};

use super::ffi::{self, Geometry, Scaler};
use crate::frame::Rgb8;

/// How to encode: which codec, in what pixel format, at what rate, with which options.
pub(super) struct EncoderSettings<'a> {
    pub codec: Codec,
    pub pixel: Pixel,
    /// Size of the pictures given (the encoded size drops an odd last row or column).
    pub width: u32,
    pub height: u32,
    pub rate: Rational,
    /// Pictures from one keyframe to the next.
    pub keyframe_every: u32,
    /// The codec's private options (x264's preset, crf, tune…).
    pub options: &'a [(&'a str, &'a str)],
}

/// An open encoder and the buffers each picture goes through, reused for every one.
pub(super) struct PictureEncoder {
    encoder: encoder::Video,
    time_base: Rational,
    input_size: (u32, u32),
    rgb: frame::Video,
    converted: frame::Video,
    scaler: Scaler,
    packet: Packet,
}

impl PictureEncoder {
    /// Opens the encoder for `output` (whose container may want its headers apart).
    pub fn open(
        settings: &EncoderSettings,
        output: &format::context::Output,
    ) -> Result<PictureEncoder, ffmpeg_next::Error> {
        let (width, height) = (settings.width & !1, settings.height & !1);
        let mut encoder = codec::context::Context::new_with_codec(settings.codec)
            .encoder()
            .video()?;
        encoder.set_width(width);
        encoder.set_height(height);
        encoder.set_format(settings.pixel);
        encoder.set_time_base(settings.rate.invert());
        encoder.set_frame_rate(Some(settings.rate));
        encoder.set_gop(settings.keyframe_every.max(1));
        // swscale's RGB to YUV is BT.601, limited range: say so, so players convert back alike.
        encoder.set_colorspace(color::Space::SMPTE170M);
        encoder.set_color_range(color::Range::MPEG);
        if output
            .format()
            .flags()
            .contains(format::Flags::GLOBAL_HEADER)
        {
            encoder.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let options: Dictionary = settings.options.iter().copied().collect();
        let encoder = encoder.open_with(options)?;
        let rgb = Geometry {
            format: Pixel::RGB24,
            width,
            height,
        };
        let scaler = Scaler::new(
            rgb,
            Geometry {
                format: settings.pixel,
                ..rgb
            },
        )?;
        Ok(PictureEncoder {
            encoder,
            time_base: settings.rate.invert(),
            input_size: (settings.width, settings.height),
            rgb: frame::Video::new(Pixel::RGB24, width, height),
            converted: frame::Video::new(settings.pixel, width, height),
            scaler,
            packet: Packet::empty(),
        })
    }

    /// Adds the encoder's stream to `output`; its index.
    pub fn add_stream(
        &self,
        output: &mut format::context::Output,
        codec: Codec,
    ) -> Result<usize, ffmpeg_next::Error> {
        let mut stream = output.add_stream(codec)?;
        stream.set_parameters(&self.encoder);
        stream.set_time_base(self.time_base);
        stream.set_avg_frame_rate(self.time_base.invert());
        Ok(stream.index())
    }

    /// The size of the pictures it takes.
    pub fn input_size(&self) -> (u32, u32) {
        self.input_size
    }

    /// The time base of its timestamps and packets: one frame at the frame rate.
    pub fn time_base(&self) -> Rational {
        self.time_base
    }

    /// Encodes `image` (of [`Self::input_size`]) shown at `pts`, in frames.
    pub fn send(&mut self, image: &Rgb8, pts: i64) -> Result<(), ffmpeg_next::Error> {
        ffi::make_writable(&mut self.rgb)?;
        ffi::make_writable(&mut self.converted)?;
        ffi::fill_rgb_frame(image, &mut self.rgb);
        self.scaler.run(&self.rgb, &mut self.converted)?;
        self.converted.set_pts(Some(pts));
        self.encoder.send_frame(&self.converted)
    }

    /// Tells the encoder no picture follows, so it gives out those it holds.
    pub fn send_end(&mut self) -> Result<(), ffmpeg_next::Error> {
        self.encoder.send_eof()
    }

    /// The next packet the encoder has ready, if any.
    pub fn packet(&mut self) -> Result<Option<&mut Packet>, ffmpeg_next::Error> {
        match self.encoder.receive_packet(&mut self.packet) {
            Ok(()) => Ok(Some(&mut self.packet)),
            Err(ffmpeg_next::Error::Other { errno: EAGAIN }) | Err(ffmpeg_next::Error::Eof) => {
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }
}

/// The frame rate as a fraction FFmpeg can use as a time base (1/1000 fps precision).
pub(super) fn frame_rate(fps: f64) -> Rational {
    Rational::new((fps * 1000.0).round() as i32, 1000).reduce()
}
