//! `mimic eval swap` (DESIGN §6): a swap model run through the live swap path on frames of
//! the source person, and each output frame's face judged by dlib's identity descriptor and
//! landmarks. `id_success`: the share of frames whose output face is closer to the target's
//! reference than to the source frame's own face, and within the identity threshold of the
//! target. `expression_nme`: how far the output face's landmarks moved from the input's (the
//! swap must keep expression and pose), and the same with and without the mouth mask, each
//! frame pasted both ways from one generated face. And how real it looks ([`super::realism`]):
//! `sharpness_ratio`, the output's inner face's focus measure over the input's (both aligned
//! alike at 128 pixels), and `seam_delta_e`, the colour step across the mask's edge in the
//! output less the one the input frame already had there.

use std::path::Path;

use serde::Serialize;

use super::realism::{self, Seam};
use super::{EvalError, FrameRange};
use crate::face::smooth::SmoothSettings;
use crate::face::track::FaceTracker;
use crate::face::{
    parts, AlignedCrop, Descriptor, FaceAnalyzer, FaceRegion, Landmarks, DEFAULT_IDENTITY_THRESHOLD,
};
use crate::frame::Rgb8;
use crate::geometry::{FaceBox, Point};
use crate::infer::{Generator, ModelKind};
use crate::pipeline::{PipelineError, Process, Swapper, Tracked};
use crate::progress::progress;
use crate::swap::blend::BlendOptions;
use crate::video::VideoReader;

/// The figures of one evaluation.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SwapReport {
    /// Frames whose input and output both showed a face.
    pub frames: u64,
    pub id_success: f64,
    pub id_distance_mean: f64,
    pub expression_nme: f64,
    /// `expression_nme` with the mouth mask (the driver's own mouth kept over the swapped
    /// face)…
    pub expression_nme_mouth_mask: f64,
    /// …and without it: each frame's generated face pasted both ways, on the frames where both
    /// outputs show a face (`mouth_mask_frames`), whichever way the blend options chose.
    pub expression_nme_no_mouth_mask: f64,
    pub mouth_mask_frames: u64,
    /// Mean over frames of the inner face's sharpness (variance of the Laplacian) in the
    /// output over the same in the input, both faces aligned alike at [`SHARPNESS_SIDE`]
    /// pixels: 1 as sharp as the face it replaced.
    pub sharpness_ratio: f64,
    /// Mean over frames of the CIE76 colour step across the blend mask's edge in the output,
    /// less the step the input frame already had there: 0 for no visible seam.
    pub seam_delta_e: f64,
    /// Frames of the video where no face was found in the input or in the output.
    pub frames_without_face: u64,
}

/// What a swap is judged on: frames of a video of A, and a picture of B.
#[derive(Debug, Clone, Copy)]
pub struct Footage<'a> {
    pub video: &'a Path,
    pub frames: FrameRange,
    /// A photo of B, or a video whose first frame shows B alone.
    pub target_reference: &'a Path,
    /// Where to write a grid of a few judged faces, input beside swapped.
    pub preview: Option<&'a Path>,
}

/// Evaluates `generator` on `footage`: A's frames swapped, against B's reference photo.
/// `analyzer` needs its descriptor network; the swap path gets a tracker of its own
/// (`tracker`), smooths the landmarks with `smoothing` and blends with `blend`, as `mimic
/// live` would.
pub fn evaluate(
    generator: Generator,
    tracker: FaceTracker,
    analyzer: &FaceAnalyzer,
    blend: BlendOptions,
    smoothing: Option<SmoothSettings>,
    footage: &Footage,
) -> Result<SwapReport, EvalError> {
    let Footage {
        video,
        frames: range,
        target_reference,
        preview,
    } = *footage;
    if generator.kind() != ModelKind::Swap {
        return Err(EvalError::NotSwap(generator.path().to_path_buf()));
    }
    let target = analyzer.identity_of(target_reference, DEFAULT_IDENTITY_THRESHOLD)?;
    let reference = target.reference().clone();
    let mut tracker = tracker;
    let mut swapper = Swapper::new(generator, blend, smoothing).map_err(pipeline)?;
    let mut reader = VideoReader::open(video)?;
    let bar = progress(reader.info().frame_count, "evaluating");
    let mut tally = Tally {
        keep_faces: preview.is_some(),
        ..Tally::default()
    };
    while let Some(frame) = reader.next_frame()? {
        bar.inc(1);
        if range.is_past(frame.index) {
            break;
        }
        if !range.contains(frame.index) {
            continue;
        }
        let tracked = Tracked::by(&mut tracker, &frame.image);
        let t = frame.t.as_secs_f64();
        match swapper
            .process(&frame.image, &tracked, t)
            .map_err(pipeline)?
        {
            true => tally.judge(&mut swapper, analyzer, &frame.image, &reference)?,
            false => tally.missing += 1,
        }
    }
    bar.finish_and_clear();
    if tally.judged.is_empty() {
        return Err(EvalError::NothingToEvaluate(video.to_path_buf()));
    }
    if let Some(path) = preview {
        write_preview(std::mem::take(&mut tally.shown), path)?;
    }
    Ok(tally.report())
}

/// What the evaluation has judged so far.
#[derive(Default)]
struct Tally {
    judged: Vec<Judged>,
    looks: Vec<Look>,
    /// Frames without a face to judge (in the input, or in the output).
    missing: u64,
    /// Faces kept for the preview (when one is asked for).
    keep_faces: bool,
    shown: Vec<[Rgb8; 2]>,
    /// The frame pasted the other way (mouth mask on or off), and the NME (with, without).
    other_way: Rgb8,
    both_ways: Vec<(f32, f32)>,
}

impl Tally {
    /// Judges the frame `swapper` just swapped: identity, expression (with and without the
    /// mouth mask), looks.
    fn judge(
        &mut self,
        swapper: &mut Swapper,
        analyzer: &FaceAnalyzer,
        frame: &Rgb8,
        reference: &Descriptor,
    ) -> Result<(), EvalError> {
        let (swapped, _) = swapper.outputs();
        let Some(j) = judge(analyzer, frame, swapped, reference)? else {
            self.missing += 1;
            return Ok(());
        };
        let mouth = swapper.blend_mut().options().mouth;
        if swapper.swap_again(frame, !mouth, &mut self.other_way) {
            if let Some(after) = analyzer.faces(&self.other_way)?.into_iter().next() {
                let other = after.landmarks.nme(&j.input);
                self.both_ways.push(match mouth {
                    true => (j.nme, other),
                    false => (other, j.nme),
                });
            }
        }
        self.judged.push(j);
        self.looks.push(look(swapper, frame));
        if self.keep_faces {
            self.shown.extend(face_crops(swapper, frame));
        }
        Ok(())
    }

    fn report(self) -> SwapReport {
        let judged = &self.judged;
        let n = judged.len() as f64;
        let both = &self.both_ways;
        SwapReport {
            frames: judged.len() as u64,
            id_success: judged.iter().filter(|j| j.success).count() as f64 / n,
            id_distance_mean: judged.iter().map(|j| f64::from(j.to_target)).sum::<f64>() / n,
            expression_nme: judged.iter().map(|j| f64::from(j.nme)).sum::<f64>() / n,
            expression_nme_mouth_mask: mean(both.iter().map(|&(with, _)| f64::from(with))),
            expression_nme_no_mouth_mask: mean(both.iter().map(|&(_, no)| f64::from(no))),
            mouth_mask_frames: both.len() as u64,
            sharpness_ratio: mean(self.looks.iter().filter_map(|l| l.sharpness_ratio)),
            seam_delta_e: mean(self.looks.iter().filter_map(|l| l.seam_delta_e)),
            frames_without_face: self.missing,
        }
    }
}

fn pipeline(e: PipelineError) -> EvalError {
    match e {
        PipelineError::Face(e) => EvalError::Face(e),
        PipelineError::Infer(e) => EvalError::Infer(e),
        e => EvalError::Pipeline(e),
    }
}

/// Rows in a preview grid, and the side of each face in it.
const PREVIEW_ROWS: usize = 4;
const PREVIEW_SIDE: u32 = 192;
/// A preview shows the face's landmarks' box grown by this share of its larger side.
const PREVIEW_MARGIN: f32 = 0.25;

/// The face of the input and of the swapped frame, cut out alike (the landmarks' box, grown,
/// square) at the preview's size.
fn face_crops(swapper: &Swapper, input: &Rgb8) -> Option<[Rgb8; 2]> {
    let face = FaceBox::around(swapper.landmarks()?.points());
    let side = face.width().max(face.height()) * (1.0 + 2.0 * PREVIEW_MARGIN);
    let centre = face.center();
    let (w, h) = input.dimensions();
    let left = (centre.x - side / 2.0).clamp(0.0, w as f32 - 1.0) as u32;
    let top = (centre.y - side / 2.0).clamp(0.0, h as f32 - 1.0) as u32;
    let side = (side as u32).min(w - left).min(h - top).max(1);
    let cut = |image: &Rgb8| {
        let part = image::imageops::crop_imm(image, left, top, side, side).to_image();
        crate::frame::square(part, PREVIEW_SIDE)
    };
    let (output, _) = swapper.outputs();
    Some([cut(input), cut(output)])
}

/// A grid of input | swapped for a few frames spread over those judged.
fn write_preview(shown: Vec<[Rgb8; 2]>, path: &Path) -> Result<(), EvalError> {
    let stride = shown.len().div_ceil(PREVIEW_ROWS).max(1);
    let rows: Vec<[Rgb8; 2]> = shown.into_iter().step_by(stride).collect();
    let grid = crate::train::report::preview_grid(&rows);
    crate::frame::save_png_with_text(&grid, path, &crate::output::compose::SYNTHETIC_PNG_TEXT)
        .map_err(|e| EvalError::Write {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

/// How real one swapped frame looks.
struct Look {
    sharpness_ratio: Option<f64>,
    seam_delta_e: Option<f64>,
}

/// The band each side of the mask's edge, as a share of the face's width.
const SEAM_BAND: f32 = 0.04;

/// The side of the aligned face both frames are judged at for sharpness: the size of the
/// faces the live swap tools paste, whatever the model's own size (a 64-pixel model's face,
/// enlarged, is judged as soft as it looks).
pub const SHARPNESS_SIDE: u32 = 128;

/// The swapped frame of `swapper` against `input`: the inner face's sharpness (brows, eyes,
/// nose and mouth: the landmarks' hull without the jaw), both faces aligned alike at
/// [`SHARPNESS_SIDE`] pixels, and the seam.
fn look(swapper: &Swapper, input: &Rgb8) -> Look {
    let (output, _) = swapper.outputs();
    let Some(landmarks) = swapper.landmarks() else {
        return Look {
            sharpness_ratio: None,
            seam_delta_e: None,
        };
    };
    let (w, h) = input.dimensions();
    let sharpness_ratio = sharpness_ratio(input, output, landmarks, swapper.crop().padding);
    let weight: Vec<f32> = (0..w * h)
        .map(|i| swapper.mask_weight(Point::new((i % w) as f32, (i / w) as f32)))
        .collect();
    let p = landmarks.points();
    let center = p.iter().fold(Point::new(0.0, 0.0), |c, q| {
        Point::new(c.x + q.x / p.len() as f32, c.y + q.y / p.len() as f32)
    });
    let width = p[parts::JAW.start].distance(p[parts::JAW.end - 1]);
    let seam = Seam::new(&weight, w, h, center, SEAM_BAND * width);
    let seam_delta_e = seam
        .delta_e(output)
        .zip(seam.delta_e(input))
        .map(|(after, before)| after - before);
    Look {
        sharpness_ratio,
        seam_delta_e,
    }
}

/// The inner face's sharpness in `output` over that in `input`, both cut out by the crop
/// of `landmarks` at [`SHARPNESS_SIDE`] pixels (with `padding`); `None` when the input's is 0.
fn sharpness_ratio(
    input: &Rgb8,
    output: &Rgb8,
    landmarks: &Landmarks,
    padding: f32,
) -> Option<f64> {
    let side = SHARPNESS_SIDE;
    let to_crop = AlignedCrop::new(side, padding).transform(landmarks)?;
    let in_crop = landmarks.map(|p| to_crop.apply(p));
    let inner = FaceRegion::around(&in_crop.points()[parts::JAW.end..]).mask(side, side, 0.0);
    let before = realism::sharpness(&to_crop.warp(input, side, side), &inner);
    let after = realism::sharpness(&to_crop.warp(output, side, side), &inner);
    (before > 0.0).then(|| after / before)
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    sum / n.max(1) as f64
}

/// One frame's verdict.
struct Judged {
    success: bool,
    to_target: f32,
    nme: f32,
    /// The input face's landmarks, that the output's are measured against.
    input: Landmarks,
}

/// The output's main face against the target and against the input's own face.
fn judge(
    analyzer: &FaceAnalyzer,
    input: &Rgb8,
    output: &Rgb8,
    target: &Descriptor,
) -> Result<Option<Judged>, EvalError> {
    let first = |image: &Rgb8| -> Result<_, EvalError> {
        Ok(analyzer.faces_with_descriptors(image)?.into_iter().next())
    };
    let (Some((before, Some(source))), Some((after, Some(swapped)))) =
        (first(input)?, first(output)?)
    else {
        return Ok(None);
    };
    let to_target = swapped.distance(target);
    let to_source = swapped.distance(&source);
    Ok(Some(Judged {
        success: to_target < to_source && to_target <= DEFAULT_IDENTITY_THRESHOLD,
        to_target,
        nme: after.landmarks.nme(&before.landmarks),
        input: before.landmarks,
    }))
}
