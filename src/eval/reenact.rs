//! `mimic eval reenact`: self-reenactment on frames of the target. Each frame's own landmarks
//! are drawn as a sketch (the live loop's renderer), either in the training framing (the book's
//! way) or retargeted onto the target's neutral as the live loop does, the model generates a
//! frame from it, and
//! the result is compared with the real frame, whole and inside the face region, beside the
//! same figures for the mean training frame (what a model that ignored its input would get).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::metrics::{self, Quality};
use super::{EvalError, FrameRange};
use crate::face::{FaceAnalyzer, FaceRegion};
use crate::frame::{read_image, CropWindow, Rgb8};
use crate::infer::{Generator, ModelCard, ModelKind};
use crate::pipeline::Retargeting;
use crate::sketch::{SketchRenderer, SketchStyle};
use crate::video::VideoReader;

/// The face region is grown by this share of the picture's side (cheeks, forehead, chin).
const FACE_MARGIN: f32 = 0.04;

/// Whole-picture and face-region figures.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Figures {
    pub l1: f64,
    pub psnr: f64,
    pub ssim: f64,
    pub face_l1: f64,
    pub face_psnr: f64,
    pub face_ssim: f64,
}

impl Figures {
    fn from(whole: Quality, face: Quality) -> Figures {
        Figures {
            l1: whole.l1,
            psnr: whole.psnr,
            ssim: whole.ssim,
            face_l1: face.l1,
            face_psnr: face.psnr,
            face_ssim: face.ssim,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ReenactReport {
    pub frames: usize,
    pub frames_without_face: usize,
    /// The source frame indices evaluated (first and last).
    pub range: (u64, u64),
    /// Whether the landmarks were retargeted (against the first frames' neutral or a profile).
    pub retargeted: bool,
    pub model: Figures,
    pub baseline: Figures,
}

/// What the card of a reenactment model gives evaluation.
struct Target {
    window: CropWindow,
    sketch: SketchStyle,
    mean_frame: Rgb8,
    source: Option<PathBuf>,
    holdout_from: Option<u64>,
}

impl Target {
    fn from_card(card: &ModelCard, model: &Path) -> Result<Target, EvalError> {
        let not_reenact = || EvalError::NotReenact(model.to_path_buf());
        if card.kind != ModelKind::Reenact {
            return Err(not_reenact());
        }
        let window = card.framing.ok_or_else(not_reenact)?;
        let sketch = card.sketch.ok_or_else(not_reenact)?;
        let training = card.training.as_ref();
        let text = |key: &str| {
            training
                .and_then(|t| t.get(key))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let mean_path = text("mean_frame")
            .map(|name| model.with_file_name(name))
            .unwrap_or_else(|| crate::train::pix2pix::mean_frame_path(model));
        let mean_frame = read_image(&mean_path).map_err(|e| EvalError::MeanFrame {
            path: mean_path,
            reason: e.to_string(),
        })?;
        Ok(Target {
            window,
            sketch,
            mean_frame,
            source: text("source").map(PathBuf::from),
            holdout_from: training
                .and_then(|t| t.get("holdout_from"))
                .and_then(|v| v.as_integer())
                .map(|v| v as u64),
        })
    }

    /// The training video's held-out frames when `video` is the training video, else all.
    fn default_range(&self, video: &Path) -> FrameRange {
        let same = |a: &Path, b: &Path| {
            a.canonicalize()
                .ok()
                .zip(b.canonicalize().ok())
                .is_some_and(|(x, y)| x == y)
        };
        match (&self.source, self.holdout_from) {
            (Some(source), Some(start)) if same(source, video) => FrameRange { start, end: None },
            _ => FrameRange::all(),
        }
    }
}

/// Evaluates `generator` (a reenactment model) on frames of `video`, retargeting the
/// landmarks when `retargeting` is given.
pub fn evaluate(
    generator: &mut Generator,
    analyzer: &FaceAnalyzer,
    video: &Path,
    range: Option<FrameRange>,
    retargeting: Option<Retargeting>,
) -> Result<ReenactReport, EvalError> {
    let card = generator
        .card()
        .cloned()
        .ok_or_else(|| EvalError::NotReenact(generator.path().to_path_buf()))?;
    let target = Target::from_card(&card, generator.path())?;
    let range = range.unwrap_or_else(|| target.default_range(video));
    let (in_size, out_size) = (generator.input_size(), generator.output_size());
    // The driver is the target, framed as in training: the premise `none` draws by too.
    let mut retargeting =
        retargeting.map(|r| r.as_the_target(target.window.output_transform(in_size)));
    let mean = resized(&target.mean_frame, out_size);
    let mut renderer = SketchRenderer::new(in_size, in_size, target.sketch);
    let mut generated = Rgb8::new(out_size, out_size);
    let (mut model, mut baseline) = (Vec::new(), Vec::new());
    let (mut without_face, mut first, mut last) = (0, None, 0);
    let mut reader = VideoReader::open(video)?;
    while let Some(frame) = reader.next_frame()? {
        if !range.contains(frame.index) {
            continue;
        }
        if !target.window.fits(&frame.image) {
            let w = target.window;
            return Err(EvalError::FrameSize {
                got_w: frame.width(),
                got_h: frame.height(),
                want_w: w.source_width,
                want_h: w.source_height,
            });
        }
        let face = analyzer.faces(&frame.image)?.into_iter().next();
        let drawn = face.as_ref().and_then(|face| match &mut retargeting {
            Some(retargeting) => retargeting.apply(&face.landmarks),
            None => Some(face.landmarks.map(|p| target.window.to_output(p, in_size))),
        });
        let (Some(face), Some(drawn)) = (face, drawn) else {
            without_face += 1;
            continue;
        };
        let sketch = renderer.render(&drawn);
        generator.run(sketch, &mut generated)?;
        let real = target.window.cut(&frame.image, out_size);
        let region = FaceRegion::of(&face.landmarks.map(|p| target.window.to_output(p, out_size)));
        let mask = region.mask(out_size, out_size, FACE_MARGIN * out_size as f32);
        model.push((
            metrics::quality(&generated, &real, None),
            metrics::quality(&generated, &real, Some(&mask)),
        ));
        baseline.push((
            metrics::quality(&mean, &real, None),
            metrics::quality(&mean, &real, Some(&mask)),
        ));
        first.get_or_insert(frame.index);
        last = frame.index;
    }
    let Some(first) = first else {
        return Err(EvalError::NothingToEvaluate(video.to_path_buf()));
    };
    Ok(ReenactReport {
        frames: model.len(),
        frames_without_face: without_face,
        range: (first, last),
        retargeted: retargeting.is_some(),
        model: summarise(&model),
        baseline: summarise(&baseline),
    })
}

fn summarise(items: &[(Quality, Quality)]) -> Figures {
    let whole: Vec<Quality> = items.iter().map(|(w, _)| *w).collect();
    let face: Vec<Quality> = items.iter().map(|(_, f)| *f).collect();
    Figures::from(metrics::mean(&whole), metrics::mean(&face))
}

fn resized(image: &Rgb8, size: u32) -> Rgb8 {
    if image.dimensions() == (size, size) {
        return image.clone();
    }
    image::imageops::resize(image, size, size, image::imageops::FilterType::Triangle)
}
