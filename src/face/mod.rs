//! Face analysis: finding faces, their 68 landmarks, their identity descriptor, and aligning
//! them to a common template.
//!
//! One [`FaceAnalyzer`] serves dataset extraction, the live loop, evaluation and calibration,
//! so training data and live input are prepared by the very same code. Detection can run on a
//! scaled copy of the frame (`scale` < 1 for speed, `upsample` for small faces); landmarks are
//! always predicted on the full-resolution frame.

pub mod reference;
pub mod smooth;
pub mod stability;
pub mod track;

mod align;
mod descriptor;
mod dlib;
mod landmarks;
pub mod mesh;
pub mod mtcnn;
mod pose;
mod region;

use std::path::PathBuf;
use std::sync::Arc;

use image::imageops::{self, FilterType};
use serde::Serialize;

pub use align::{AlignedCrop, TEMPLATE};
pub use descriptor::{Descriptor, IdentityFilter, DEFAULT_IDENTITY_THRESHOLD};
pub use landmarks::{parts, Landmarks, LANDMARK_COUNT};
pub use mesh::Mesh;
pub use pose::HeadPose;
pub use region::FaceRegion;

use self::dlib::{DescriptorNet, DetectorNet, DlibImage, ShapePredictor};
use self::mtcnn::{Mtcnn, MtcnnError, MtcnnOptions};
use crate::frame::Rgb8;
use crate::geometry::{FaceBox, Point};
use crate::install;

/// The largest image detection works on after scaling and upsampling; beyond it dlib's memory
/// use grows past what a desktop has, so upsampling is reduced instead.
pub const MAX_DETECTION_PIXELS: u64 = 36_000_000;

#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    #[error("cannot read the reference photo '{}': {reason}", path.display())]
    Reference { path: PathBuf, reason: String },
    #[error("the reference photo '{0}' shows no face: give a photo of the person")]
    ReferenceWithoutFace(PathBuf),
    #[error("the reference photo '{path}' shows {faces} faces: give a photo of the person alone")]
    ReferenceWithSeveralFaces { path: PathBuf, faces: usize },
    #[error("dlib's {what} is missing at '{path}': run ./setup.sh in the mimic checkout")]
    ModelMissing { what: &'static str, path: PathBuf },
    #[error("cannot load dlib model '{0}': the file is damaged or is not a dlib model; run ./setup.sh again to restore it")]
    ModelCorrupt(PathBuf),
    #[error("the image is empty ({0}×{1} pixels)")]
    EmptyImage(u32, u32),
    #[error("detection scale {0} is out of range: use a value above 0 and at most 4")]
    BadScale(f32),
    #[error(transparent)]
    Mtcnn(#[from] MtcnnError),
}

/// Which detector finds faces.
///
/// The default is MTCNN: at its smallest face of 40 pixels it finds 43 of testdata's 44
/// annotated faces in 20 ms a 512×512 frame (68 landmarks included), where HOG without
/// upsampling finds 12 in 30 ms (README "Face detectors, measured"). Only HOG with upsampling
/// finds more (44), at 140 ms, so `detect` on photos keeps that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DetectorKind {
    /// HOG + linear SVM: frontal faces; small ones only with upsampling.
    Hog,
    /// dlib's MMOD CNN: seconds a photo on a CPU.
    Cnn,
    /// MTCNN (the book's other detector): a cascade of three small networks that also gives
    /// five points (eyes, nose, mouth corners); `upsample` sets the smallest face it looks
    /// for (40 pixels, halved for each).
    #[default]
    Mtcnn,
}

impl DetectorKind {
    /// The name `--detector` takes.
    pub fn name(self) -> &'static str {
        match self {
            DetectorKind::Hog => "hog",
            DetectorKind::Cnn => "cnn",
            DetectorKind::Mtcnn => "mtcnn",
        }
    }
}

/// How detection is run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectOptions {
    pub detector: DetectorKind,
    /// How many times the (scaled) image is doubled before detection, to find small faces.
    pub upsample: u32,
    /// Detection runs on the image resized by this factor (below 1 is faster).
    pub scale: f32,
}

impl Default for DetectOptions {
    fn default() -> Self {
        Self {
            detector: DetectorKind::default(),
            upsample: 0,
            scale: 1.0,
        }
    }
}

/// One face found in an image.
#[derive(Debug, Clone, Serialize)]
pub struct Face {
    #[serde(rename = "box")]
    pub bbox: FaceBox,
    pub landmarks: Landmarks,
    /// MTCNN's five points (left eye, right eye, nose, left and right mouth corners, as seen
    /// in the picture), when it found the face.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub points: Option<[Point; 5]>,
}

/// The detector an analyzer runs: one of dlib's, or MTCNN (shared between twins: its
/// networks run one picture at a time).
enum Detector {
    Dlib(DetectorNet),
    Mtcnn(Arc<Mtcnn>),
}

impl Detector {
    fn load(options: &DetectOptions) -> Result<Detector, FaceError> {
        Ok(match options.detector {
            DetectorKind::Mtcnn => {
                let min_face = 40.0 / 2f32.powi(options.upsample.min(4) as i32);
                // The last network's 0.7 (facenet's) let a blurred patch of background in
                // obama_and_biden.jpg through as a face (0.80 at smallest face 20, 0.83 at
                // 40); the 43 annotated faces it finds score 0.96 or more.
                let settings = MtcnnOptions {
                    min_face,
                    thresholds: [0.6, 0.7, 0.9],
                    ..MtcnnOptions::default()
                };
                Detector::Mtcnn(Arc::new(Mtcnn::open(&install::mtcnn_dir(), settings)?))
            }
            DetectorKind::Hog => Detector::Dlib(DetectorNet::hog()),
            DetectorKind::Cnn => Detector::Dlib(DetectorNet::cnn()?),
        })
    }

    fn twin(&self, options: &DetectOptions) -> Result<Detector, FaceError> {
        match self {
            Detector::Mtcnn(mtcnn) => Ok(Detector::Mtcnn(Arc::clone(mtcnn))),
            Detector::Dlib(_) => Detector::load(options),
        }
    }
}

/// A face before its landmarks: the box the predictor wants, and MTCNN's five points.
struct Found {
    bbox: FaceBox,
    points: Option<[Point; 5]>,
}

/// The box dlib's 68-point predictor was trained on (HOG's), placed from MTCNN's five points.
/// With `d` the distance from the eyes' midpoint to the mouth's and `e` between the eyes: a
/// square of side 0.920 d + 1.289 e (the eyes keep the scale when the mouth opens), centred
/// at the points' mean, moved against the nose's sideways offset from the eyes' midpoint by
/// half of it (a turned head) and by 0.107 e − 0.153 d down. Fitted on the boxes HOG gave on
/// 663 frames of d3, d9, d12 and AOC (every second frame) together with testdata's
/// `training_with_face_landmarks.xml` (17 faces, weighed 20 times); the side is off by 9 % on
/// the testing set's faces and 5 % on the frames. Fitted on the photos alone as a multiple of
/// `d`, boxes came out a size too large on talking heads (d12's landmarks 0.033 from HOG's,
/// against 0.017 now). The nose's offset counts up to 0.3 e, about the largest turn in those
/// frames: on a face nearly in profile the points no longer say where the face is (testing
/// photo 2007_007763's man, unclamped: NME 0.36; clamped: 0.13, HOG's box 0.10).
fn predictor_box(p: &[Point; 5]) -> FaceBox {
    let eyes = Point::new((p[0].x + p[1].x) / 2.0, (p[0].y + p[1].y) / 2.0);
    let mouth = Point::new((p[3].x + p[4].x) / 2.0, (p[3].y + p[4].y) / 2.0);
    let (d, e) = (eyes.distance(mouth), p[0].distance(p[1]));
    let yaw = (p[2].x - eyes.x).clamp(-0.3 * e, 0.3 * e);
    let cx = p.iter().map(|q| q.x).sum::<f32>() / 5.0 - 0.498 * yaw;
    let cy = p.iter().map(|q| q.y).sum::<f32>() / 5.0 - 0.153 * d + 0.107 * e;
    let half = (0.920 * d + 1.289 * e) / 2.0;
    FaceBox {
        left: cx - half,
        top: cy - half,
        right: cx + half,
        bottom: cy + half,
    }
}

/// Part of a frame prepared for dlib, with its offset in the frame.
pub struct Patch {
    image: DlibImage,
    left: f32,
    top: f32,
}

/// Detector, shape predictor and (when asked for) the descriptor network, loaded once.
pub struct FaceAnalyzer {
    options: DetectOptions,
    detector: Detector,
    /// Shared by [`Self::twin`]s: prediction only reads the model.
    predictor: Arc<ShapePredictor>,
    descriptor_net: Option<DescriptorNet>,
}

impl FaceAnalyzer {
    /// Loads the detector and the 68-point predictor from the runtime folder.
    pub fn new(options: DetectOptions) -> Result<Self, FaceError> {
        if !(options.scale > 0.0 && options.scale <= 4.0) {
            return Err(FaceError::BadScale(options.scale));
        }
        let detector = Detector::load(&options)?;
        let predictor = Arc::new(ShapePredictor::open(&install::dlib_model(
            install::PREDICTOR_68,
        ))?);
        Ok(Self {
            options,
            detector,
            predictor,
            descriptor_net: None,
        })
    }

    /// Also loads the face-descriptor network (needed for [`Self::descriptor`]).
    pub fn with_descriptors(mut self) -> Result<Self, FaceError> {
        self.descriptor_net = Some(DescriptorNet::open(&install::dlib_model(
            install::DESCRIPTOR_NET,
        ))?);
        Ok(self)
    }

    /// A second analyzer for another thread: a detector of its own (dlib's detectors keep
    /// scratch state and cannot be shared), the same shape predictor, no descriptor network.
    pub fn twin(&self) -> Result<Self, FaceError> {
        Ok(Self {
            options: self.options,
            detector: self.detector.twin(&self.options)?,
            predictor: Arc::clone(&self.predictor),
            descriptor_net: None,
        })
    }

    pub fn options(&self) -> DetectOptions {
        self.options
    }

    /// All faces in the image with their landmarks, largest first.
    pub fn faces(&self, image: &Rgb8) -> Result<Vec<Face>, FaceError> {
        check_size(image)?;
        let full = DlibImage::new(image);
        self.faces_in(image, &full)
    }

    /// All faces with their identity descriptors, largest first (needs [`Self::with_descriptors`]).
    /// The identity of the one face in the photo at `path` (its first frame, for a video), as
    /// a filter keeping faces within `threshold` of it (needs [`Self::with_descriptors`]).
    pub fn identity_of(
        &self,
        path: &std::path::Path,
        threshold: f32,
    ) -> Result<IdentityFilter, FaceError> {
        let picture = match crate::frame::read_image(path) {
            Ok(picture) => picture,
            Err(image_error) => crate::video::VideoReader::open(path)
                .ok()
                .and_then(|mut video| video.next_frame().ok().flatten())
                .map(|frame| frame.image)
                .ok_or_else(|| FaceError::Reference {
                    path: path.to_path_buf(),
                    reason: image_error.to_string(),
                })?,
        };
        match self.faces_with_descriptors(&picture)?.as_slice() {
            [(_, Some(descriptor))] => Ok(IdentityFilter::new(descriptor.clone(), threshold)),
            [] | [(_, None)] => Err(FaceError::ReferenceWithoutFace(path.to_path_buf())),
            several => Err(FaceError::ReferenceWithSeveralFaces {
                path: path.to_path_buf(),
                faces: several.len(),
            }),
        }
    }

    pub fn faces_with_descriptors(
        &self,
        image: &Rgb8,
    ) -> Result<Vec<(Face, Option<Descriptor>)>, FaceError> {
        check_size(image)?;
        let full = DlibImage::new(image);
        let faces = self.faces_in(image, &full)?;
        Ok(faces
            .into_iter()
            .map(|face| {
                let descriptor = self.describe(&full, &face.bbox);
                (face, descriptor)
            })
            .collect())
    }

    /// The 68 landmarks inside a known box (tracking between detections, annotated boxes).
    pub fn landmarks_in(
        &self,
        image: &Rgb8,
        face: &FaceBox,
    ) -> Result<Option<Landmarks>, FaceError> {
        check_size(image)?;
        Ok(self.predictor.landmarks(&DlibImage::new(image), face))
    }

    /// Copies the part of `frame` around `near`, grown by a quarter of its size on every side
    /// (on d3, d9 and d12 the landmarks are the same as on the whole frame), for dlib once, so
    /// several landmark predictions near that place share one conversion.
    pub fn patch(&self, frame: &Rgb8, near: &FaceBox) -> Result<Patch, FaceError> {
        check_size(frame)?;
        let (w, h) = frame.dimensions();
        let (gw, gh) = (near.width() / 4.0, near.height() / 4.0);
        let clip = |v: f32, max: u32| (v.max(0.0) as u32).min(max);
        let (left, top) = (clip(near.left - gw, w), clip(near.top - gh, h));
        let (right, bottom) = (clip(near.right + gw, w), clip(near.bottom + gh, h));
        if right <= left || bottom <= top {
            return Err(FaceError::EmptyImage(
                right.saturating_sub(left),
                bottom.saturating_sub(top),
            ));
        }
        let crop = copy_rect(frame, left, top, right - left, bottom - top);
        Ok(Patch {
            image: DlibImage::new(&crop),
            left: left as f32,
            top: top as f32,
        })
    }

    /// The 68 landmarks inside `face` (frame coordinates), predicted on a [`Patch`].
    pub fn landmarks_in_patch(&self, patch: &Patch, face: &FaceBox) -> Option<Landmarks> {
        let local = FaceBox {
            left: face.left - patch.left,
            top: face.top - patch.top,
            right: face.right - patch.left,
            bottom: face.bottom - patch.top,
        };
        let landmarks = self.predictor.landmarks(&patch.image, &local)?;
        Some(landmarks.map(|p| Point::new(p.x + patch.left, p.y + patch.top)))
    }

    /// The identity descriptor of the face in `face`; `None` without a descriptor network.
    pub fn descriptor(
        &self,
        image: &Rgb8,
        face: &FaceBox,
    ) -> Result<Option<Descriptor>, FaceError> {
        check_size(image)?;
        Ok(self.describe(&DlibImage::new(image), face))
    }

    fn describe(&self, full: &DlibImage, face: &FaceBox) -> Option<Descriptor> {
        let net = self.descriptor_net.as_ref()?;
        net.describe(full, &self.predictor, face)
            .and_then(|values| Descriptor::from_slice(&values))
    }

    fn faces_in(&self, image: &Rgb8, full: &DlibImage) -> Result<Vec<Face>, FaceError> {
        let mut faces: Vec<Face> = self
            .detect(image, full)?
            .into_iter()
            .filter_map(|found| {
                let landmarks = self.predictor.landmarks(full, &found.bbox)?;
                Some(Face {
                    bbox: found.bbox,
                    landmarks,
                    points: found.points,
                })
            })
            .collect();
        faces.sort_by(|a, b| b.bbox.area().total_cmp(&a.bbox.area()));
        Ok(faces)
    }

    /// Faces found, in full-image coordinates.
    fn detect(&self, image: &Rgb8, full: &DlibImage) -> Result<Vec<Found>, FaceError> {
        let factor = self.detection_factor(image);
        let scaled = ((factor - 1.0).abs() >= 1e-6).then(|| {
            let (w, h) = image.dimensions();
            let sw = ((w as f32 * factor).round() as u32).max(1);
            let sh = ((h as f32 * factor).round() as u32).max(1);
            imageops::resize(image, sw, sh, FilterType::Triangle)
        });
        let (fx, fy) = match &scaled {
            Some(s) => (
                image.width() as f32 / s.width() as f32,
                image.height() as f32 / s.height() as f32,
            ),
            None => (1.0, 1.0),
        };
        let found = match &self.detector {
            Detector::Dlib(net) => {
                let boxes = match &scaled {
                    Some(s) => net.detect(&DlibImage::new(s)),
                    None => net.detect(full),
                };
                boxes
                    .into_iter()
                    .map(|b| Found {
                        bbox: scale_box(&b, fx, fy),
                        points: None,
                    })
                    .collect()
            }
            Detector::Mtcnn(mtcnn) => mtcnn
                .detect(scaled.as_ref().unwrap_or(image))?
                .into_iter()
                .map(|f| {
                    let points = f.points.map(|p| Point::new(p.x * fx, p.y * fy));
                    Found {
                        bbox: predictor_box(&points),
                        points: Some(points),
                    }
                })
                .collect(),
        };
        Ok(found)
    }

    /// scale × 2^upsample, with upsampling reduced so the detector's image stays within
    /// [`MAX_DETECTION_PIXELS`]; MTCNN looks for smaller faces instead of upsampling.
    fn detection_factor(&self, image: &Rgb8) -> f32 {
        let pixels = u64::from(image.width()) * u64::from(image.height());
        let mut factor = self.options.scale;
        if matches!(self.detector, Detector::Mtcnn(_)) {
            return factor;
        }
        for _ in 0..self.options.upsample {
            let next = factor * 2.0;
            if pixels as f64 * f64::from(next * next) > MAX_DETECTION_PIXELS as f64 {
                tracing::debug!(
                    "upsampling limited to keep detection under {MAX_DETECTION_PIXELS} pixels"
                );
                break;
            }
            factor = next;
        }
        factor
    }
}

fn scale_box(b: &FaceBox, fx: f32, fy: f32) -> FaceBox {
    FaceBox {
        left: b.left * fx,
        top: b.top * fy,
        right: b.right * fx,
        bottom: b.bottom * fy,
    }
}

/// A rectangle of `frame` copied row by row (the rectangle lies inside the frame).
fn copy_rect(frame: &Rgb8, left: u32, top: u32, width: u32, height: u32) -> Rgb8 {
    let stride = frame.width() as usize * 3;
    let (x0, row) = (left as usize * 3, width as usize * 3);
    let mut data = Vec::with_capacity(row * height as usize);
    for y in top as usize..(top + height) as usize {
        data.extend_from_slice(&frame.as_raw()[y * stride + x0..][..row]);
    }
    Rgb8::from_raw(width, height, data).unwrap_or_else(|| Rgb8::new(width, height))
}

fn check_size(image: &Rgb8) -> Result<(), FaceError> {
    let (w, h) = image.dimensions();
    if w == 0 || h == 0 {
        return Err(FaceError::EmptyImage(w, h));
    }
    Ok(())
}
