//! `mimic devices`: the cameras this machine has, and the virtual cameras (v4l2 output
//! devices) a live output can send to.

use std::process::ExitCode;

use mimic::capture;
use mimic::output::devices::{self, VideoDevice};
use serde::Serialize;

#[derive(Serialize)]
struct Report {
    cameras: Vec<capture::CameraDescription>,
    /// The v4l2 devices that take frames (`--output v4l2:PATH`).
    outputs: Vec<VideoDevice>,
    /// Whether the v4l2loopback module (virtual cameras) is loaded.
    loopback_loaded: bool,
}

pub fn run(json: bool) -> anyhow::Result<ExitCode> {
    let report = Report {
        cameras: capture::list_cameras()?,
        outputs: devices::video_devices()
            .into_iter()
            .filter(|d| d.output || d.loopback)
            .collect(),
        loopback_loaded: devices::loopback_loaded(),
    };
    if json {
        super::print_json(&report)?;
        return Ok(ExitCode::SUCCESS);
    }
    if report.cameras.is_empty() {
        println!("no cameras found (use --input VIDEO to run on a file)");
    }
    for camera in &report.cameras {
        println!(
            "{}: {} [{}]",
            camera.index,
            camera.name,
            camera.formats.join(", ")
        );
    }
    for output in &report.outputs {
        let kind = match output.loopback {
            true => "virtual camera (v4l2loopback)",
            false => "v4l2 output device",
        };
        println!(
            "--output v4l2:{}  {} ({kind})",
            output.path.display(),
            output.name
        );
    }
    if report.outputs.is_empty() {
        println!(
            "no virtual camera: `{}` makes one (README: \"Use mimic in a video call\")",
            devices::LOAD_LOOPBACK
        );
    }
    Ok(ExitCode::SUCCESS)
}
