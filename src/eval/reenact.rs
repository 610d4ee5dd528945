//! `mimic eval reenact`: self-reenactment on frames of the target. Each frame's own landmarks
//! are taken either in the training framing (the book's way) or retargeted onto the target's
//! neutral as the live loop does, the model shows the target with them (the live loop's
//! [`Target`]: sketch, reference, generator), and the result is compared with the real frame,
//! whole, inside the face region and inside the mouth, beside two baselines that cost nothing:
//! the mean training frame (what a model that ignored its input would get) and the nearest
//! training frame (the one whose landmarks, in the model's framing, lie closest: retrieval).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::metrics::{self, Quality};
use super::{EvalError, FrameRange};
use crate::data::dataset::Dataset;
use crate::face::{parts, FaceAnalyzer, FaceRegion, Landmarks};
use crate::frame::{read_image, CropWindow, Frame, Rgb8};
use crate::infer::{Generator, ModelCard, ModelKind};
use crate::pipeline::reenact::drawn_for_target;
use crate::pipeline::{Retargeting, Target};
use crate::video::VideoReader;

/// The face region is grown by this share of the picture's side (cheeks, forehead, chin).
const FACE_MARGIN: f32 = 0.04;
/// The mouth region (the outer lips' hull) is grown by this share of the picture's side.
const MOUTH_MARGIN: f32 = 0.02;

/// Whole-picture, face-region and mouth figures.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Figures {
    pub l1: f64,
    pub psnr: f64,
    pub ssim: f64,
    pub face_l1: f64,
    pub face_psnr: f64,
    pub face_ssim: f64,
    pub mouth_psnr: f64,
}

/// One picture judged against the real frame: whole, face, mouth.
#[derive(Debug, Clone, Copy)]
struct Judged {
    whole: Quality,
    face: Quality,
    mouth: Quality,
}

/// Where a frame is judged: the face and the mouth regions as masks.
struct Regions {
    face: Vec<bool>,
    mouth: Vec<bool>,
}

impl Regions {
    /// The regions of a face with `landmarks` (pixels of a `side` × `side` picture).
    fn of(landmarks: &Landmarks, side: u32) -> Regions {
        let s = side as f32;
        let mouth = FaceRegion::around(landmarks.part(parts::OUTER_LIP));
        Regions {
            face: FaceRegion::of(landmarks).mask(side, side, FACE_MARGIN * s),
            mouth: mouth.mask(side, side, MOUTH_MARGIN * s),
        }
    }

    fn judge(&self, made: &Rgb8, real: &Rgb8) -> Judged {
        Judged {
            whole: metrics::quality(made, real, None),
            face: metrics::quality(made, real, Some(&self.face)),
            mouth: metrics::quality(made, real, Some(&self.mouth)),
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
    /// The mean training frame.
    pub baseline: Figures,
    /// The training frame whose landmarks lie closest; `None` when the training set named by
    /// the card is not there.
    pub nearest: Option<Figures>,
}

/// What the card of a reenactment model gives evaluation.
struct TargetCard {
    window: CropWindow,
    mean_frame: Rgb8,
    source: Option<PathBuf>,
    dataset: Option<PathBuf>,
    holdout_from: Option<u64>,
}

impl TargetCard {
    /// The card of `generator`, which must be a reenactment model's.
    fn of(generator: &Generator) -> Result<TargetCard, EvalError> {
        let card = generator
            .card()
            .ok_or_else(|| EvalError::NotReenact(generator.path().to_path_buf()))?;
        TargetCard::from_card(card, generator.path())
    }

    fn from_card(card: &ModelCard, model: &Path) -> Result<TargetCard, EvalError> {
        let not_reenact = || EvalError::NotReenact(model.to_path_buf());
        if card.kind != ModelKind::Reenact {
            return Err(not_reenact());
        }
        let window = card.framing.ok_or_else(not_reenact)?;
        card.sketch.ok_or_else(not_reenact)?;
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
        Ok(TargetCard {
            window,
            mean_frame,
            source: text("source").map(PathBuf::from),
            dataset: text("dataset").map(PathBuf::from),
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

/// The training frames and their landmarks, at the model's output size: the nearest-frame
/// baseline's library.
pub struct TrainingFrames {
    frames: Vec<Rgb8>,
    landmarks: Vec<Landmarks>,
}

impl TrainingFrames {
    /// The training pairs of `dataset`, scaled to `size`.
    pub fn load(dataset: &Dataset, size: u32) -> Result<TrainingFrames, EvalError> {
        let (mut frames, mut landmarks) = (Vec::new(), Vec::new());
        for pair in dataset.training_pairs() {
            let Some(points) = dataset.landmarks_at(pair, size) else {
                continue;
            };
            frames.push(dataset.frame_at(pair, size)?);
            landmarks.push(points);
        }
        Ok(TrainingFrames { frames, landmarks })
    }

    /// The training frame whose landmarks lie closest to `landmarks` (model pixels).
    pub fn nearest(&self, landmarks: &Landmarks) -> Option<&Rgb8> {
        crate::face::reference::closest_to(&self.landmarks, landmarks).map(|i| &self.frames[i])
    }
}

/// Rows shown in a preview grid.
const PREVIEW_ROWS: usize = 4;

/// Evaluates `generator` (a reenactment model) on frames of `video`, retargeting the
/// landmarks when `retargeting` is given; with `preview`, writes a grid of a few of the frames
/// there (sketch | mean frame | nearest training frame | model | real).
pub fn evaluate(
    generator: Generator,
    analyzer: &FaceAnalyzer,
    video: &Path,
    range: Option<FrameRange>,
    retargeting: Option<Retargeting>,
    preview: Option<&Path>,
) -> Result<ReenactReport, EvalError> {
    let card = TargetCard::of(&generator)?;
    let range = range.unwrap_or_else(|| card.default_range(video));
    let (in_size, out_size) = (generator.input_size(), generator.output_size());
    // The driver is the target, framed as in training: the premise `none` draws by too.
    let mut retargeting =
        retargeting.map(|r| r.as_the_target(card.window.output_transform(in_size)));
    let baselines = Baselines::load(&card, out_size)?;
    let mut target = Target::new(generator)?;
    let mut tally = Tally::default();
    let mut reader = VideoReader::open(video)?;
    while let Some(frame) = reader.next_frame()? {
        if !range.contains(frame.index) {
            continue;
        }
        check_frame_size(&card.window, &frame)?;
        let face = analyzer.faces(&frame.image)?.into_iter().next();
        let drawn = face.as_ref().and_then(|face| {
            drawn_for_target(
                retargeting.as_mut(),
                &face.landmarks,
                || card.window,
                in_size,
            )
        });
        let (Some(face), Some(drawn)) = (face, drawn) else {
            tally.without_face += 1;
            continue;
        };
        target.show(&drawn)?;
        tally.add(
            &target,
            &frame,
            &face.landmarks,
            &baselines,
            preview.is_some(),
        );
    }
    let report = tally.report(retargeting.is_some(), video)?;
    if let Some(path) = preview {
        write_preview(&tally.rows, path)?;
    }
    Ok(report)
}

/// A frame of another size than the training video's cannot be cut as in training.
fn check_frame_size(window: &CropWindow, frame: &Frame) -> Result<(), EvalError> {
    if window.fits(&frame.image) {
        return Ok(());
    }
    Err(EvalError::FrameSize {
        got_w: frame.width(),
        got_h: frame.height(),
        want_w: window.source_width,
        want_h: window.source_height,
    })
}

/// What the model's pictures are compared with, at its output size: the real frame cut as in
/// training, the mean training frame, and the nearest training frame when the training set is
/// there.
struct Baselines {
    window: CropWindow,
    size: u32,
    mean: Rgb8,
    library: Option<TrainingFrames>,
}

impl Baselines {
    fn load(card: &TargetCard, size: u32) -> Result<Baselines, EvalError> {
        let library = match card.dataset.as_deref().map(Dataset::open) {
            Some(Ok(dataset)) => Some(TrainingFrames::load(&dataset, size)?),
            Some(Err(e)) => {
                tracing::warn!("no nearest-frame baseline: {e}");
                None
            }
            None => None,
        };
        Ok(Baselines {
            window: card.window,
            size,
            mean: crate::frame::square(card.mean_frame.clone(), size),
            library,
        })
    }
}

/// What evaluation gathers frame by frame: the model's and the baselines' judgements, the
/// frames without a face, the first and last frame judged, and the preview grid's rows.
#[derive(Default)]
struct Tally {
    model: Vec<Judged>,
    baseline: Vec<Judged>,
    nearest: Vec<Judged>,
    without_face: usize,
    first: Option<u64>,
    last: u64,
    rows: Vec<Vec<Rgb8>>,
}

impl Tally {
    /// Judges what `target` shows for `frame`, whose face has `landmarks`, beside the
    /// baselines; with `keep_row`, keeps the pictures for the preview.
    fn add(
        &mut self,
        target: &Target,
        frame: &Frame,
        landmarks: &Landmarks,
        baselines: &Baselines,
        keep_row: bool,
    ) {
        let (window, size) = (baselines.window, baselines.size);
        let real = window.cut(&frame.image, size);
        let own = landmarks.map(|p| window.to_output(p, size));
        let regions = Regions::of(&own, size);
        self.model.push(regions.judge(target.generated(), &real));
        self.baseline.push(regions.judge(&baselines.mean, &real));
        let closest = baselines.library.as_ref().and_then(|l| l.nearest(&own));
        if let Some(frame) = closest {
            self.nearest.push(regions.judge(frame, &real));
        }
        if keep_row {
            let mut row = vec![target.sketch().clone(), baselines.mean.clone()];
            row.extend(closest.cloned());
            row.extend([target.generated().clone(), real]);
            self.rows.push(row);
        }
        self.first.get_or_insert(frame.index);
        self.last = frame.index;
    }

    fn report(&self, retargeted: bool, video: &Path) -> Result<ReenactReport, EvalError> {
        let Some(first) = self.first else {
            return Err(EvalError::NothingToEvaluate(video.to_path_buf()));
        };
        Ok(ReenactReport {
            frames: self.model.len(),
            frames_without_face: self.without_face,
            range: (first, self.last),
            retargeted,
            model: summarise(&self.model),
            baseline: summarise(&self.baseline),
            nearest: (!self.nearest.is_empty()).then(|| summarise(&self.nearest)),
        })
    }
}

/// A grid of [`PREVIEW_ROWS`] of `rows`, spread over them, written to `path`.
fn write_preview(rows: &[Vec<Rgb8>], path: &Path) -> Result<(), EvalError> {
    let stride = rows.len().div_ceil(PREVIEW_ROWS).max(1);
    let chosen: Vec<&Vec<Rgb8>> = rows.iter().step_by(stride).collect();
    let grid = crate::train::report::preview_grid(&chosen);
    crate::frame::save_png_with_text(&grid, path, &crate::output::compose::SYNTHETIC_PNG_TEXT)
        .map_err(|e| EvalError::Write {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

fn summarise(items: &[Judged]) -> Figures {
    let mean =
        |pick: fn(&Judged) -> Quality| metrics::mean(&items.iter().map(pick).collect::<Vec<_>>());
    let (whole, face, mouth) = (mean(|j| j.whole), mean(|j| j.face), mean(|j| j.mouth));
    Figures {
        l1: whole.l1,
        psnr: whole.psnr,
        ssim: whole.ssim,
        face_l1: face.l1,
        face_psnr: face.psnr,
        face_ssim: face.ssim,
        mouth_psnr: mouth.psnr,
    }
}
