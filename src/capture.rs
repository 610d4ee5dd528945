//! Cameras: finding them and what they can deliver (through nokhwa).
//!
//! Live capture itself (a thread that always hands over the newest frame) builds on this.

use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{ApiBackend, CameraIndex, RequestedFormat, RequestedFormatType};
use nokhwa::Camera;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot list cameras: {0}")]
    Query(String),
}

/// One camera as the system reports it.
#[derive(Debug, Clone, Serialize)]
pub struct CameraDescription {
    pub index: u32,
    pub name: String,
    /// Formats as `WIDTHxHEIGHT@FPS FOURCC`; empty when the camera could not be opened.
    pub formats: Vec<String>,
}

/// Every camera the platform's capture API sees, with the formats each offers.
pub fn list_cameras() -> Result<Vec<CameraDescription>, CaptureError> {
    let cameras =
        nokhwa::query(ApiBackend::Auto).map_err(|e| CaptureError::Query(e.to_string()))?;
    Ok(cameras
        .iter()
        .enumerate()
        .map(|(i, info)| {
            let index = match info.index() {
                CameraIndex::Index(n) => *n,
                CameraIndex::String(_) => i as u32,
            };
            CameraDescription {
                index,
                name: info.human_name(),
                formats: formats_of(info.index().clone()),
            }
        })
        .collect())
}

fn formats_of(index: CameraIndex) -> Vec<String> {
    let requested = RequestedFormat::new::<RgbFormat>(RequestedFormatType::None);
    let Ok(mut camera) = Camera::new(index, requested) else {
        return Vec::new();
    };
    camera
        .compatible_camera_formats()
        .map(|formats| {
            formats
                .iter()
                .map(|f| {
                    format!(
                        "{}x{}@{} {}",
                        f.width(),
                        f.height(),
                        f.frame_rate(),
                        f.format()
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}
