//! `mimic doctor`'s checks: every runtime need looked at, each with the exact fix when it is
//! missing. A check is `ok`, `missing` (something mimic needs is absent or broken) or `note`
//! (something optional is absent, such as a camera on a server, and mimic works without it).

use serde::Serialize;

use crate::face::{DetectOptions, DetectorKind, FaceAnalyzer};
use crate::install;
use crate::output::devices;
use crate::{capture, infer, video};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Note,
    Missing,
}

#[derive(Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Self {
            name,
            status: Status::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn failed(
        name: &'static str,
        status: Status,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            name,
            status,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

#[derive(Serialize)]
pub struct Report {
    pub ok: bool,
    pub checks: Vec<Check>,
}

/// Every check, in the order `mimic doctor` lists them.
pub fn examine() -> Report {
    let checks = vec![
        onnx_runtime(),
        dlib_models(),
        mtcnn(),
        ffmpeg(),
        display(),
        cameras(),
        virtual_camera(),
        cuda(),
        int8(),
    ];
    let ok = checks.iter().all(|c| c.status != Status::Missing);
    Report { ok, checks }
}

fn onnx_runtime() -> Check {
    const NAME: &str = "onnxruntime";
    match infer::runtime() {
        Ok(rt) if rt.version == install::ONNX_RUNTIME_VERSION => Check::ok(
            NAME,
            format!("ONNX Runtime {} ({})", rt.version, rt.path.display()),
        ),
        Ok(rt) => Check::failed(
            NAME,
            Status::Note,
            format!(
                "ONNX Runtime {} at {}; mimic is tested with {}",
                rt.version,
                rt.path.display(),
                install::ONNX_RUNTIME_VERSION
            ),
            format!(
                "{} (or point ORT_DYLIB_PATH at libonnxruntime.so.{})",
                install::SETUP_HINT,
                install::ONNX_RUNTIME_VERSION
            ),
        ),
        Err(e) => Check::failed(NAME, Status::Missing, e.to_string(), install::SETUP_HINT),
    }
}

fn dlib_models() -> Check {
    const NAME: &str = "dlib models";
    let options = DetectOptions {
        detector: DetectorKind::Cnn,
        ..Default::default()
    };
    match FaceAnalyzer::new(options).and_then(FaceAnalyzer::with_descriptors) {
        Ok(_) => Check::ok(
            NAME,
            format!(
                "68-point predictor, CNN detector, descriptor network ({})",
                install::runtime_dir().join("dlib").display()
            ),
        ),
        Err(e) => Check::failed(NAME, Status::Missing, e.to_string(), install::SETUP_HINT),
    }
}

/// MTCNN, the default detector wherever a video is followed: its three networks, read and
/// run by ONNX Runtime.
fn mtcnn() -> Check {
    const NAME: &str = "mtcnn";
    let options = DetectOptions {
        detector: DetectorKind::Mtcnn,
        ..Default::default()
    };
    match FaceAnalyzer::new(options) {
        Ok(_) => Check::ok(
            NAME,
            format!(
                "P-Net, R-Net and O-Net, the default detector for video ({})",
                install::mtcnn_dir().display()
            ),
        ),
        Err(e) => Check::failed(NAME, Status::Missing, e.to_string(), install::SETUP_HINT),
    }
}

fn ffmpeg() -> Check {
    const NAME: &str = "ffmpeg";
    match video::ffmpeg_status() {
        Ok(detail) => Check::ok(NAME, detail),
        Err(reason) => Check::failed(
            NAME,
            Status::Missing,
            reason,
            "install Debian's libavcodec59 with libx264 (sudo apt-get install libavcodec-extra59 or run ./setup.sh)",
        ),
    }
}

fn display() -> Check {
    const NAME: &str = "display";
    let x11 = std::env::var("DISPLAY").ok().filter(|d| !d.is_empty());
    let wayland = std::env::var("WAYLAND_DISPLAY")
        .ok()
        .filter(|d| !d.is_empty());
    match (x11, wayland) {
        (Some(d), _) => Check::ok(NAME, format!("X11 display {d}")),
        (None, Some(w)) => Check::ok(NAME, format!("Wayland display {w}")),
        (None, None) => Check::failed(
            NAME,
            Status::Note,
            "no display: live runs headless (recording and benchmarks still work)",
            "run from a desktop session for a window, or under `xvfb-run` for a virtual one",
        ),
    }
}

fn virtual_camera() -> Check {
    const NAME: &str = "virtual camera";
    let loopbacks: Vec<String> = devices::video_devices()
        .into_iter()
        .filter(|d| d.loopback)
        .map(|d| format!("v4l2:{} ({})", d.path.display(), d.name))
        .collect();
    match (devices::loopback_loaded(), loopbacks.is_empty()) {
        (true, false) => Check::ok(NAME, format!("--output {}", loopbacks.join(", "))),
        (true, true) => Check::failed(
            NAME,
            Status::Note,
            "v4l2loopback is loaded but made no device this user can open",
            "check that /dev/video* is readable and writable (add yourself to the `video` group)",
        ),
        (false, _) => Check::failed(
            NAME,
            Status::Note,
            "v4l2loopback is not loaded: no virtual camera for video calls (a UDP stream to OBS works without it)",
            format!(
                "install v4l2loopback-dkms, then `{}`",
                devices::LOAD_LOOPBACK
            ),
        ),
    }
}

fn cameras() -> Check {
    const NAME: &str = "cameras";
    match capture::list_cameras() {
        Ok(cams) if !cams.is_empty() => {
            let names: Vec<String> = cams.iter().map(|c| format!("{}: {}", c.index, c.name)).collect();
            Check::ok(NAME, names.join(", "))
        }
        Ok(_) => Check::failed(
            NAME,
            Status::Note,
            "no camera found (live --input VIDEO works without one)",
            "connect a webcam; on Linux check that /dev/video0 exists and that you are in the `video` group",
        ),
        Err(e) => Check::failed(
            NAME,
            Status::Note,
            e.to_string(),
            "check that /dev/video* exists and is readable (add yourself to the `video` group)",
        ),
    }
}

fn int8() -> Check {
    const NAME: &str = "int8";
    match infer::int8_kernels() {
        Some(kernels) => Check::ok(
            NAME,
            format!("{kernels}: ONNX Runtime's integer kernels run INT8 models (`mimic quantize`) fast"),
        ),
        None => Check::failed(
            NAME,
            Status::Note,
            "no VNNI or AMX: INT8 models run, on slower integer kernels, and gain less over float",
            "nothing to install: keep the float model if its INT8 copy is not faster in `mimic bench`",
        ),
    }
}

fn cuda() -> Check {
    const NAME: &str = "cuda";
    let gpu_build = install::onnxruntime_gpu_library().is_file();
    let (missing, driver) = infer::cuda_libraries();
    let found = format!(
        "ONNX Runtime's GPU build {}, NVIDIA libraries {}, driver {}",
        if gpu_build { "present" } else { "absent" },
        match missing.len() {
            0 => "all present".to_string(),
            n if n == install::CUDA_LIBRARIES.len() => "absent".to_string(),
            _ => format!("missing {}", missing.join(", ")),
        },
        if driver { "found" } else { "not found" }
    );
    let fix = if !gpu_build || !missing.is_empty() {
        "for a GPU: ./setup.sh --cuda, then `cargo build --release --features cuda`"
    } else if !cfg!(feature = "cuda") {
        "for a GPU: `cargo build --release --features cuda`"
    } else {
        "install the NVIDIA driver (CUDA 13 needs 580 or newer)"
    };
    match infer::cuda_status() {
        Ok(()) if driver => Check::ok(NAME, format!("CUDA execution provider available ({found})")),
        Ok(()) => Check::failed(
            NAME,
            Status::Note,
            format!("CUDA execution provider built in, but no GPU driver; generators run on the CPU ({found})"),
            fix,
        ),
        Err(reason) => Check::failed(
            NAME,
            Status::Note,
            format!("CUDA execution provider: {reason}; generators run on the CPU ({found})"),
            fix,
        ),
    }
}
