//! The edge where mimic talks to dlib: image conversion, detectors, the shape predictor and
//! the descriptor network. Nothing outside this file sees a dlib type.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use dlib_face_recognition::{
    FaceDetector as HogNet, FaceDetectorCnn as CnnNet, FaceDetectorTrait, FaceEncoderNetwork,
    FaceEncoderTrait, FaceLandmarks, ImageMatrix, LandmarkPredictor, LandmarkPredictorTrait,
    Rectangle,
};

use super::landmarks::Landmarks;
use super::FaceError;
use crate::frame::Rgb8;
use crate::geometry::{FaceBox, Point};
use crate::install;

/// An RGB image copied into dlib's matrix layout, made once per frame and shared by the
/// detector, the shape predictor and the descriptor network.
pub struct DlibImage(ImageMatrix);

impl DlibImage {
    pub fn new(image: &Rgb8) -> Self {
        let (width, height) = image.dimensions();
        // SAFETY: an `RgbImage` is a tight buffer of width × height × 3 bytes, which is exactly
        // what `ImageMatrix::new` reads; the buffer outlives the call, which copies it.
        let matrix =
            unsafe { ImageMatrix::new(width as usize, height as usize, image.as_raw().as_ptr()) };
        Self(matrix)
    }
}

/// One of dlib's two face detectors.
pub enum DetectorNet {
    Hog(HogNet),
    Cnn(Box<CnnNet>),
}

impl DetectorNet {
    /// dlib's HOG detector.
    pub fn hog() -> Self {
        Self::Hog(HogNet::new())
    }

    /// dlib's CNN (MMOD) detector, its weights from the runtime folder.
    pub fn cnn() -> Result<Self, FaceError> {
        Self::cnn_from(&install::dlib_model(install::CNN_DETECTOR))
    }

    fn cnn_from(path: &Path) -> Result<Self, FaceError> {
        let path = checked_model_path(path, "CNN face detector")?;
        loading(path, |p| CnnNet::open(p))
            .map(|net| Self::Cnn(Box::new(net)))
            .map_err(|_| FaceError::ModelCorrupt(path.to_path_buf()))
    }

    /// Face boxes in the coordinates of `image`.
    pub fn detect(&self, image: &DlibImage) -> Vec<FaceBox> {
        let found = match self {
            Self::Hog(net) => net.face_locations(&image.0),
            Self::Cnn(net) => net.face_locations(&image.0),
        };
        found.iter().map(face_box).collect()
    }
}

/// dlib's 68-point shape predictor.
pub struct ShapePredictor(LandmarkPredictor);

impl ShapePredictor {
    pub fn open(path: &Path) -> Result<Self, FaceError> {
        let path = checked_model_path(path, "68-point landmark model")?;
        loading(path, |p| LandmarkPredictor::open(p))
            .map(Self)
            .map_err(|_| FaceError::ModelCorrupt(path.to_path_buf()))
    }

    fn shape(&self, image: &DlibImage, face: &FaceBox) -> FaceLandmarks {
        self.0.face_landmarks(&image.0, &rectangle(face))
    }

    /// The 68 landmarks of the face in `face`, in image pixels.
    pub fn landmarks(&self, image: &DlibImage, face: &FaceBox) -> Option<Landmarks> {
        let shape = self.shape(image, face);
        let points: Vec<Point> = shape
            .iter()
            .map(|p| Point::new(p.x() as f32, p.y() as f32))
            .collect();
        Landmarks::from_slice(&points)
    }
}

/// dlib's ResNet network that maps an aligned face to a 128-d descriptor.
pub struct DescriptorNet(FaceEncoderNetwork);

impl DescriptorNet {
    pub fn open(path: &Path) -> Result<Self, FaceError> {
        let path = checked_model_path(path, "face-descriptor network")?;
        loading(path, |p| FaceEncoderNetwork::open(p))
            .map(Self)
            .map_err(|_| FaceError::ModelCorrupt(path.to_path_buf()))
    }

    /// The descriptor of the face in `face`. dlib aligns the face chip from its own shape
    /// object, so the shape is predicted again here from the same box (deterministic).
    pub fn describe(
        &self,
        image: &DlibImage,
        predictor: &ShapePredictor,
        face: &FaceBox,
    ) -> Option<Vec<f32>> {
        let shape = predictor.shape(image, face);
        let encodings = self.0.get_face_encodings(&image.0, &[shape], 0);
        encodings
            .first()
            .map(|e| e.as_ref().iter().map(|&v| v as f32).collect())
    }
}

fn face_box(r: &Rectangle) -> FaceBox {
    FaceBox {
        left: r.left as f32,
        top: r.top as f32,
        right: r.right as f32,
        bottom: r.bottom as f32,
    }
}

fn rectangle(b: &FaceBox) -> Rectangle {
    Rectangle {
        left: b.left.round() as _,
        top: b.top.round() as _,
        right: b.right.round() as _,
        bottom: b.bottom.round() as _,
    }
}

/// The dlib model being read, for [`on_terminate`]'s sentence.
static LOADING: Mutex<Option<PathBuf>> = Mutex::new(None);
/// The terminate handler there was before [`on_terminate`].
static PREVIOUS: OnceLock<Option<TerminateHandler>> = OnceLock::new();

type TerminateHandler = extern "C" fn();

extern "C" {
    /// `std::set_terminate` (libstdc++, which dlib links): the handler `std::terminate` calls.
    #[link_name = "_ZSt13set_terminatePFvvE"]
    fn set_terminate(handler: Option<TerminateHandler>) -> Option<TerminateHandler>;
}

/// `open(path)` with [`on_terminate`] in place. The wrapper catches only `dlib::error`; a size
/// read from a damaged file that `new[]` cannot allocate throws `std::bad_alloc` or
/// `std::bad_array_new_length` instead, which no Rust code can catch: C++ then terminates the
/// process, by default with an abort (a crash, and a core).
fn loading<T, E>(path: &Path, open: impl FnOnce(&Path) -> Result<T, E>) -> Result<T, E> {
    PREVIOUS.get_or_init(|| {
        // SAFETY: `set_terminate` only swaps a function pointer; `on_terminate` neither
        // unwinds nor returns.
        unsafe { set_terminate(Some(on_terminate)) }
    });
    let set = |value| match LOADING.lock() {
        Ok(mut guard) => *guard = value,
        Err(poisoned) => *poisoned.into_inner() = value,
    };
    set(Some(path.to_path_buf()));
    let opened = open(path);
    set(None);
    opened
}

/// Called by `std::terminate`: while a dlib model is being read, says which in the sentence a
/// damaged model gets anyway and exits with status 2, as a refusal does; otherwise hands over
/// to the handler there was.
extern "C" fn on_terminate() {
    use std::os::unix::ffi::OsStrExt;
    if let Ok(guard) = LOADING.try_lock() {
        if let Some(path) = guard.as_ref() {
            // Written piece by piece: the heap may be what failed.
            let parts: [&[u8]; 3] = [
                b"mimic: cannot load dlib model '",
                path.as_os_str().as_bytes(),
                b"': the file is damaged or is not a dlib model; run ./setup.sh again to restore it\n",
            ];
            for part in parts {
                // SAFETY: writes `part`, a live slice, to stderr.
                unsafe { libc::write(2, part.as_ptr().cast(), part.len()) };
            }
            // SAFETY: ends the process at once, as the abort would have.
            unsafe { libc::_exit(2) };
        }
    }
    match PREVIOUS.get().copied().flatten() {
        Some(previous) => previous(),
        None => std::process::abort(),
    }
}

/// The wrapper unwraps non-UTF-8 paths and reports a missing file as a string; check both here
/// so the user gets a sentence that says what to do.
fn checked_model_path<'a>(path: &'a Path, what: &'static str) -> Result<&'a Path, FaceError> {
    if !path.is_file() {
        return Err(FaceError::ModelMissing {
            what,
            path: path.to_path_buf(),
        });
    }
    if path.to_str().is_none() {
        return Err(FaceError::ModelCorrupt(path.to_path_buf()));
    }
    Ok(path)
}
