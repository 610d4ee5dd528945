//! `mimic devices`: the cameras this machine has.

use std::process::ExitCode;

use mimic::capture;
use serde::Serialize;

#[derive(Serialize)]
struct Report {
    cameras: Vec<capture::CameraDescription>,
}

pub fn run(json: bool) -> anyhow::Result<ExitCode> {
    let cameras = capture::list_cameras()?;
    if json {
        super::print_json(&Report { cameras })?;
        return Ok(ExitCode::SUCCESS);
    }
    if cameras.is_empty() {
        println!("no cameras found (use --input VIDEO to run on a file)");
    }
    for camera in &cameras {
        println!(
            "{}: {} [{}]",
            camera.index,
            camera.name,
            camera.formats.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
