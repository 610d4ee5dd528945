//! ONNX Runtime, the engine every network of mimic runs on (MTCNN's face detector and the
//! generators): its shared library loaded once per process, and the execution provider a
//! session runs on.

use std::path::PathBuf;
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::session::builder::SessionBuilder;

use crate::install;

/// Why ONNX Runtime, or the provider asked for, cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot load ONNX Runtime from '{path}': {reason}")]
    Load { path: PathBuf, reason: String },
    #[error("CUDA was asked for but cannot be used: {0}")]
    CudaUnavailable(String),
}

/// The loaded library: its environment, path and version.
pub struct Runtime {
    pub environment: Environment,
    pub path: PathBuf,
    pub version: String,
}

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The process's ONNX Runtime, loaded on first use from the project-local copy or
/// `ORT_DYLIB_PATH`.
pub fn runtime() -> Result<&'static Runtime, RuntimeError> {
    let path = install::onnxruntime_library();
    RUNTIME
        .get_or_init(|| load(path.clone()))
        .as_ref()
        .map_err(|reason| RuntimeError::Load {
            path,
            reason: reason.clone(),
        })
}

fn load(path: PathBuf) -> Result<Runtime, String> {
    if !path.is_file() {
        return Err(format!(
            "the library is not there; {} (or set ORT_DYLIB_PATH to libonnxruntime.so {})",
            install::SETUP_HINT,
            install::ONNX_RUNTIME_VERSION
        ));
    }
    #[cfg(feature = "cuda")]
    preload_cuda_libraries();
    let environment = ort::init_from(&path)
        .map_err(|e| format!("{e}; {}", install::SETUP_HINT))?
        .with_name("mimic")
        .build()
        .map_err(|e| e.to_string())?;
    let version = library_version(&path)?;
    Ok(Runtime {
        environment,
        path,
        version,
    })
}

/// The library's own version string (`OrtGetApiBase()->GetVersionString()`), which `ort`
/// reads but does not expose.
fn library_version(path: &std::path::Path) -> Result<String, String> {
    // SAFETY: the library was loaded by `ort::init_from` above, so opening it again only takes
    // another reference; `OrtGetApiBase` has this signature in every ONNX Runtime release and
    // returns a pointer to a static struct whose version string is static and NUL-terminated.
    unsafe {
        let library = libloading::Library::new(path).map_err(|e| e.to_string())?;
        let get_api_base: libloading::Symbol<
            unsafe extern "C" fn() -> *const ort::sys::OrtApiBase,
        > = library.get(b"OrtGetApiBase").map_err(|e| e.to_string())?;
        let base = get_api_base();
        if base.is_null() {
            return Err("OrtGetApiBase returned nothing".into());
        }
        let version = std::ffi::CStr::from_ptr(((*base).GetVersionString)());
        Ok(version.to_string_lossy().into_owned())
    }
}

/// Which execution provider a session should use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DevicePreference {
    /// CUDA when built with `--features cuda` and a GPU is usable, else the CPU.
    #[default]
    Auto,
    Cpu,
    /// CUDA or an error.
    Cuda,
}

/// The execution provider a session ended up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Cpu,
    Cuda,
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Provider::Cpu => "CPU",
            Provider::Cuda => "CUDA",
        })
    }
}

/// Registers the provider asked for on a session builder and says which one it got.
pub fn choose_provider(
    builder: &mut SessionBuilder,
    preference: DevicePreference,
) -> Result<Provider, RuntimeError> {
    match preference {
        DevicePreference::Cpu => Ok(Provider::Cpu),
        DevicePreference::Auto => Ok(match register_cuda(builder) {
            Ok(()) => Provider::Cuda,
            Err(reason) => {
                tracing::info!("running on the CPU: {reason}");
                Provider::Cpu
            }
        }),
        DevicePreference::Cuda => register_cuda(builder)
            .map(|()| Provider::Cuda)
            .map_err(RuntimeError::CudaUnavailable),
    }
}

#[cfg(feature = "cuda")]
fn register_cuda(builder: &mut SessionBuilder) -> Result<(), String> {
    use ort::ep::{ExecutionProvider, CUDA};
    let cuda = CUDA::default();
    match CUDA::is_available() {
        Ok(true) => cuda.register(builder).map_err(|e| e.to_string()),
        Ok(false) => Err(
            "this ONNX Runtime library has no CUDA provider (install the onnxruntime-gpu library)"
                .into(),
        ),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(not(feature = "cuda"))]
fn register_cuda(_builder: &mut SessionBuilder) -> Result<(), String> {
    Err("mimic was built without CUDA support (rebuild with --features cuda)".into())
}

/// Opens every NVIDIA library `./setup.sh --cuda` installed, globally, before ONNX Runtime
/// starts: its CUDA provider then finds them by name, already loaded, without
/// `LD_LIBRARY_PATH` (which a running process cannot change for itself). Libraries that need
/// others are retried once those are in; what still fails is left to the provider's own
/// error.
#[cfg(feature = "cuda")]
fn preload_cuda_libraries() {
    use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW};
    let Ok(entries) = std::fs::read_dir(install::cuda_library_dir()) else {
        return;
    };
    let mut waiting: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().contains(".so"))
        .collect();
    while !waiting.is_empty() {
        let before = waiting.len();
        // SAFETY: NVIDIA's runtime libraries from their own wheels; their initialisers only
        // set up the library. They stay loaded for the life of the process.
        waiting.retain(
            |path| match unsafe { Library::open(Some(path), RTLD_NOW | RTLD_GLOBAL) } {
                Ok(library) => {
                    std::mem::forget(library);
                    false
                }
                Err(_) => true,
            },
        );
        if waiting.len() == before {
            tracing::debug!("NVIDIA libraries that did not load: {waiting:?}");
            return;
        }
    }
}

/// Which of the NVIDIA libraries the CUDA provider needs `./setup.sh --cuda` installed, and
/// whether the machine's driver (`libcuda.so.1`) can be opened.
pub fn cuda_libraries() -> (Vec<&'static str>, bool) {
    let dir = install::cuda_library_dir();
    let missing = install::CUDA_LIBRARIES
        .into_iter()
        .filter(|name| !dir.join(name).exists())
        .collect();
    // SAFETY: opening the driver library only runs its initialisers; it is closed again.
    let driver = unsafe { libloading::Library::new("libcuda.so.1") }.is_ok();
    (missing, driver)
}

/// Whether this build can use CUDA, and if not, why not.
pub fn cuda_status() -> Result<(), String> {
    #[cfg(feature = "cuda")]
    {
        use ort::ep::{ExecutionProvider, CUDA};
        runtime().map_err(|e| e.to_string())?;
        match CUDA::is_available() {
            Ok(true) => Ok(()),
            Ok(false) => Err("this ONNX Runtime library has no CUDA provider (install the onnxruntime-gpu library)".into()),
            Err(e) => Err(e.to_string()),
        }
    }
    #[cfg(not(feature = "cuda"))]
    {
        Err("not built in (run ./setup.sh --cuda and rebuild with --features cuda)".into())
    }
}

/// The integer dot-product instructions this CPU offers ONNX Runtime's INT8 kernels, best
/// first: AMX tiles, AVX-512 VNNI, AVX-VNNI; `None` when it has none of them (INT8 models
/// still run, on AVX2 or SSE kernels, with less gain).
pub fn int8_kernels() -> Option<&'static str> {
    let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags: Vec<&str> = flags
        .lines()
        .find(|l| l.starts_with("flags"))
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    [
        ("amx_int8", "AMX"),
        ("avx512_vnni", "AVX-512 VNNI"),
        ("avx_vnni", "AVX-VNNI"),
    ]
    .into_iter()
    .find(|(flag, _)| flags.contains(flag))
    .map(|(_, name)| name)
}
