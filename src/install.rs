//! Where `./setup.sh` put the runtime files mimic needs, and how to find them again.
//!
//! Set-up writes a project-local `runtime/` folder (ONNX Runtime's shared library and dlib's
//! model files). The binary finds it without help: `MIMIC_RUNTIME_DIR` if set, else a
//! `runtime/` folder beside the executable or above it (a `target/release/mimic` built in
//! the checkout), else the checkout the binary was built from.

use std::path::{Path, PathBuf};

/// The ONNX Runtime version set-up installs and the code was written against.
pub const ONNX_RUNTIME_VERSION: &str = "1.31.1";

/// dlib's 68-point shape predictor (from Debian's `libdlib-data`).
pub const PREDICTOR_68: &str = "shape_predictor_68_face_landmarks.dat";
/// dlib's MMOD CNN face detector (from PyPI's `face_recognition_models`).
pub const CNN_DETECTOR: &str = "mmod_human_face_detector.dat";
/// dlib's ResNet face-descriptor network (from PyPI's `face_recognition_models`).
pub const DESCRIPTOR_NET: &str = "dlib_face_recognition_resnet_model_v1.dat";

/// The fix to print whenever something set-up installs is missing.
pub const SETUP_HINT: &str = "run ./setup.sh in the mimic checkout";

/// The folder holding the runtime files.
pub fn runtime_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MIMIC_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = runtime_dir_near_executable() {
        return dir;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("runtime")
}

fn runtime_dir_near_executable() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .take(4)
        .map(|dir| dir.join("runtime"))
        .find(|candidate| candidate.is_dir())
}

/// Path of a dlib model file by its file name.
pub fn dlib_model(name: &str) -> PathBuf {
    runtime_dir().join("dlib").join(name)
}

/// The folder of MTCNN's three networks (`pnet.pt`, `rnet.pt`, `onet.pt`).
pub fn mtcnn_dir() -> PathBuf {
    runtime_dir().join("mtcnn")
}

/// Where the ONNX Runtime shared library is looked for: `ORT_DYLIB_PATH`, else (in a CUDA
/// build) the GPU build `./setup.sh --cuda` installs when it is there, else the
/// project-local CPU copy.
pub fn onnxruntime_library() -> PathBuf {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let gpu = onnxruntime_gpu_library();
    if cfg!(feature = "cuda") && gpu.is_file() {
        return gpu;
    }
    runtime_dir()
        .join("onnxruntime")
        .join(format!("libonnxruntime.so.{ONNX_RUNTIME_VERSION}"))
}

/// ONNX Runtime's GPU build, as `./setup.sh --cuda` installs it.
pub fn onnxruntime_gpu_library() -> PathBuf {
    runtime_dir()
        .join("onnxruntime-gpu")
        .join(format!("libonnxruntime.so.{ONNX_RUNTIME_VERSION}"))
}

/// The NVIDIA runtime libraries `./setup.sh --cuda` installs, side by side.
pub fn cuda_library_dir() -> PathBuf {
    runtime_dir().join("cuda").join("lib")
}

/// The NVIDIA libraries ONNX Runtime's CUDA provider opens, by the names it opens them.
pub const CUDA_LIBRARIES: [&str; 8] = [
    "libcudart.so.13",
    "libcublas.so.13",
    "libcublasLt.so.13",
    "libcudnn.so.9",
    "libcufft.so.12",
    "libcurand.so.10",
    "libnvrtc.so.13",
    "libnvJitLink.so.13",
];
