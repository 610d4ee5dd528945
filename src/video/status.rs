//! What `mimic doctor` reports about FFmpeg: library versions and the H.264 encoder.

use super::init_ffmpeg;

/// The FFmpeg libraries' versions and whether libx264 is there, or why FFmpeg cannot be used.
pub fn ffmpeg_status() -> Result<String, String> {
    init_ffmpeg();
    let version = |v: u32| format!("{}.{}.{}", v >> 16, (v >> 8) & 0xff, v & 0xff);
    let codec = version(ffmpeg_next::codec::version());
    let format = version(ffmpeg_next::format::version());
    if ffmpeg_next::encoder::find_by_name("libx264").is_none() {
        return Err(format!(
            "libavcodec {codec} has no libx264 encoder, so recordings cannot be written"
        ));
    }
    Ok(format!(
        "libavcodec {codec}, libavformat {format}, H.264 encoder libx264"
    ))
}
