//! The edge between FFmpeg's types and ours: pixel conversion (swscale), copies between
//! FFmpeg frames and [`Rgb8`] images, and the few raw FFmpeg calls `ffmpeg-next` does not wrap.
//!
//! Every `unsafe` block of the video module is in this file.

use ffmpeg_next::format::Pixel;
use ffmpeg_next::software::scaling;
use ffmpeg_next::{codec, ffi, format, frame, Dictionary, StreamMut};

use crate::frame::Rgb8;

/// A swscale context for one input geometry, built once and reused for every frame.
pub(super) struct Scaler {
    context: scaling::Context,
}

// SAFETY: an SwsContext has no thread affinity and no shared state; `Scaler` owns it alone
// and only uses it through `&mut self`, so moving it to another thread is sound.
unsafe impl Send for Scaler {}

/// Where a picture comes from or goes to: pixel format and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Geometry {
    pub format: Pixel,
    pub width: u32,
    pub height: u32,
}

impl Scaler {
    pub fn new(src: Geometry, dst: Geometry) -> Result<Self, ffmpeg_next::Error> {
        let context = scaling::Context::get(
            src.format,
            src.width,
            src.height,
            dst.format,
            dst.width,
            dst.height,
            scaling::Flags::BILINEAR,
        )?;
        Ok(Self { context })
    }

    /// The geometry this scaler reads.
    pub fn source(&self) -> Geometry {
        let input = self.context.input();
        Geometry {
            format: input.format,
            width: input.width,
            height: input.height,
        }
    }

    pub fn run(
        &mut self,
        input: &frame::Video,
        output: &mut frame::Video,
    ) -> Result<(), ffmpeg_next::Error> {
        self.context.run(input, output)
    }
}

impl Geometry {
    pub fn of(frame: &frame::Video) -> Self {
        Self {
            format: frame.format(),
            width: frame.width(),
            height: frame.height(),
        }
    }
}

/// Copies a packed RGB24 frame into a tight image, row by row (FFmpeg pads its rows).
pub(super) fn image_from_rgb_frame(rgb: &frame::Video) -> Option<Rgb8> {
    let (width, height) = (rgb.width(), rgb.height());
    let row = width as usize * 3;
    let stride = rgb.stride(0);
    let data = rgb.data(0);
    let mut pixels = Vec::with_capacity(row * height as usize);
    for y in 0..height as usize {
        pixels.extend_from_slice(data.get(y * stride..y * stride + row)?);
    }
    Rgb8::from_raw(width, height, pixels)
}

/// Copies the top-left `frame.width() × frame.height()` of `image` into a packed RGB24
/// frame, which may be smaller than the image (that is how odd sizes are cropped to even).
pub(super) fn fill_rgb_frame(image: &Rgb8, rgb: &mut frame::Video) {
    let row = rgb.width() as usize * 3;
    let image_row = image.width() as usize * 3;
    let height = rgb.height() as usize;
    let stride = rgb.stride(0);
    let data = rgb.data_mut(0);
    for (y, src) in image
        .as_raw()
        .chunks_exact(image_row)
        .take(height)
        .enumerate()
    {
        data[y * stride..y * stride + row].copy_from_slice(&src[..row]);
    }
}

/// Makes sure no one else (an encoder still holding a reference) shares `frame`'s buffers
/// before we overwrite them.
pub(super) fn make_writable(frame: &mut frame::Video) -> Result<(), ffmpeg_next::Error> {
    // SAFETY: the frame is a valid AVFrame owned by `frame`; av_frame_make_writable only
    // reallocates its buffers when they are shared.
    match unsafe { ffi::av_frame_make_writable(frame.as_mut_ptr()) } {
        0 => Ok(()),
        e => Err(ffmpeg_next::Error::from(e)),
    }
}

/// Whether the output format can store packets of this codec as they are.
pub(super) fn format_accepts(output: &format::context::Output, id: codec::Id) -> bool {
    // SAFETY: `oformat` is the valid output format of a live context; avformat_query_codec
    // only reads it.
    let answer = unsafe {
        ffi::avformat_query_codec(
            (*output.as_ptr()).oformat,
            id.into(),
            ffi::FF_COMPLIANCE_NORMAL,
        )
    };
    answer == 1
}

/// Clears a copied stream's codec tag: the source container's tag may mean nothing (or
/// something else) in ours, and the muxer picks the right one when it is zero.
pub(super) fn clear_codec_tag(stream: &mut StreamMut) {
    // SAFETY: the stream's codec parameters are a valid AVCodecParameters owned by the
    // output context, which we borrow mutably through `stream`.
    unsafe {
        (*stream.parameters().as_mut_ptr()).codec_tag = 0;
    }
}

/// The container's global metadata (title, comment, encoder…) as owned strings.
///
/// Read through the raw dictionary because `ffmpeg-next`'s iterator assumes UTF-8, which a
/// file's tags need not be.
pub(super) fn container_metadata(input: &format::context::Input) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    // SAFETY: `metadata` is the (possibly null) dictionary of a live input context; entries
    // returned by av_dict_get stay valid while the context is borrowed, and their key and
    // value are NUL-terminated strings we copy before the next call.
    unsafe {
        let dict = (*input.as_ptr()).metadata;
        let mut entry: *const ffi::AVDictionaryEntry = std::ptr::null();
        loop {
            entry = ffi::av_dict_get(dict, c"".as_ptr(), entry, ffi::AV_DICT_IGNORE_SUFFIX);
            if entry.is_null() {
                break;
            }
            let key = std::ffi::CStr::from_ptr((*entry).key).to_string_lossy();
            let value = std::ffi::CStr::from_ptr((*entry).value).to_string_lossy();
            pairs.push((key.into_owned(), value.into_owned()));
        }
    }
    pairs
}

/// Writes the container trailer.
///
/// Not `Output::write_trailer`: with fragmented MP4, FFmpeg 5.1's `av_write_trailer` returns
/// the (positive) size of the index it wrote, which `ffmpeg-next` takes for an error.
pub(super) fn write_trailer(
    output: &mut format::context::Output,
) -> Result<(), ffmpeg_next::Error> {
    // SAFETY: the context is live, its header was written and we hold it mutably.
    match unsafe { ffi::av_write_trailer(output.as_mut_ptr()) } {
        e if e < 0 => Err(ffmpeg_next::Error::from(e)),
        _ => Ok(()),
    }
}

/// An output context for `url` in the muxer named `format` (or the one FFmpeg guesses from
/// the URL), with its file or connection opened through `io_options` — unless the muxer
/// opens its device itself (v4l2 writes to `/dev/videoN` in its header).
pub(super) fn open_output(
    url: &str,
    format: Option<&str>,
    io_options: Dictionary,
) -> Result<format::context::Output, ffmpeg_next::Error> {
    let bad = |_| ffmpeg_next::Error::InvalidData;
    let url = std::ffi::CString::new(url).map_err(bad)?;
    let format = format
        .map(std::ffi::CString::new)
        .transpose()
        .map_err(bad)?;
    let format_ptr = format.as_ref().map_or(std::ptr::null(), |f| f.as_ptr());
    let mut context = std::ptr::null_mut();
    // SAFETY: the strings are NUL-terminated and outlive the call; on success `context` is a
    // new context that `Output::wrap` takes over (and frees, with its `pb`, on drop).
    unsafe {
        let made = ffi::avformat_alloc_output_context2(
            &mut context,
            std::ptr::null_mut(),
            format_ptr,
            url.as_ptr(),
        );
        if made < 0 || context.is_null() {
            return Err(ffmpeg_next::Error::from(made.min(-1)));
        }
        let output = format::context::Output::wrap(context);
        let opens_itself = (*(*context).oformat).flags & ffi::AVFMT_NOFILE != 0;
        if !opens_itself {
            let mut options = io_options.disown();
            let opened = ffi::avio_open2(
                &mut (*context).pb,
                url.as_ptr(),
                ffi::AVIO_FLAG_WRITE,
                std::ptr::null(),
                &mut options,
            );
            Dictionary::own(options);
            if opened < 0 {
                return Err(ffmpeg_next::Error::from(opened));
            }
        }
        Ok(output)
    }
}
