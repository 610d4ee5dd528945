//! One face swapped: its landmarks steadied over time, aligned to the template exactly as the
//! training faces were ([`AlignedCrop`] with the model card's size and padding), turned into
//! the other person's face by its model's generator, and blended back into the frame through
//! the inverse transform (with the mouth mask, the driver's own mouth kept over it).

use std::time::{Duration, Instant};

use crate::face::smooth::{OnRepeat, SmoothSettings, SteadyLandmarks};
use crate::face::{AlignedCrop, Landmarks};
use crate::frame::change::FrameChange;
use crate::frame::{copy_into, Rgb8};
use crate::geometry::{Point, Similarity};
use crate::infer::{Generator, GeneratorTimings, InferError, ModelCard};
use crate::pipeline::{PipelineError, Tracked};
use crate::swap::blend::{Blend, BlendOptions};
use crate::swap::detail::Detail;

/// One face of the frame and what follows it from frame to frame, with buffers reused.
pub struct FaceSwap {
    crop: AlignedCrop,
    steady: SteadyLandmarks,
    blend: Blend,
    /// The target's fine detail, when the model keeps keyframes (added when the blend options
    /// want it).
    detail: Option<Detail>,
    /// The frame's face in the model's crop, the generator's input.
    aligned: Rgb8,
    generated: Rgb8,
    /// Frame → crop for the last frame's face.
    to_crop: Option<Similarity>,
    /// The last frame's face's (steadied) landmarks in the crop.
    in_crop: Option<Landmarks>,
}

/// What swapping one face cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct FaceCost {
    /// Cutting out the aligned face.
    pub prepare: Duration,
    pub generator: Duration,
    /// The generator's phases within it.
    pub phases: GeneratorTimings,
    /// Mask, colour match and blend back into the frame.
    pub blend: Duration,
}

impl FaceSwap {
    /// A face for `generator`, whose card must say which aligned crop it was trained on;
    /// `smoothing`: how to steady its landmarks over time (`None`: raw).
    pub fn new(
        generator: &Generator,
        blend: BlendOptions,
        smoothing: Option<SmoothSettings>,
    ) -> Result<FaceSwap, PipelineError> {
        let card = || ModelCard::path_for(generator.path());
        let alignment = generator.alignment().ok_or_else(|| InferError::Card {
            path: card(),
            reason: "it has no [alignment] (the aligned crop a swap model was trained on): train the model with `mimic train swap`, which writes it".into(),
        })?;
        let (size, out) = (alignment.size, generator.output_size());
        if out != size || generator.input_size() != size {
            return Err(InferError::Card {
                path: card(),
                reason: format!(
                    "its aligned crop is {size}×{size} but the model takes {}×{} faces and makes {out}×{out} ones (a swap model makes faces the size of its crop): use the card written with the model",
                    generator.input_size(), generator.input_size()
                ),
            }
            .into());
        }
        let detail = match generator.card().and_then(|c| c.detail.as_ref()) {
            Some(spec) => Some(Detail::load(spec, generator.path(), size)?),
            None => None,
        };
        Ok(FaceSwap {
            detail,
            crop: AlignedCrop::new(size, alignment.padding),
            steady: SteadyLandmarks::new(smoothing, OnRepeat::Hold),
            blend: Blend::new(blend, size),
            aligned: Rgb8::new(size, size),
            generated: Rgb8::new(out, out),
            to_crop: None,
            in_crop: None,
        })
    }

    /// Swaps the `role`-th face tracked in `frame`, taken at `t` seconds, by `generator`,
    /// into `out` (the frame, or the frame with other faces swapped already); `None` when
    /// the frame does not show it.
    pub fn swap(
        &mut self,
        generator: &mut Generator,
        (frame, out): (&Rgb8, &mut Rgb8),
        (found, role): (&Tracked, usize),
        t: f64,
    ) -> Result<Option<FaceCost>, PipelineError> {
        let started = Instant::now();
        if found.change == FrameChange::Cut {
            self.forget_face(); // another shot, in other light
        }
        let landmarks = found
            .steadied(role, &mut self.steady, t)
            .map(|(_, landmarks)| landmarks.clone());
        let Some((landmarks, to_crop)) =
            landmarks.and_then(|l| self.crop.transform(&l).map(|to_crop| (l, to_crop)))
        else {
            self.to_crop = None;
            self.in_crop = None;
            self.forget_face();
            return Ok(None);
        };
        to_crop.warp_into(frame, &mut self.aligned);
        let aligned = Instant::now();
        generator.run(&self.aligned, &mut self.generated)?;
        let generated = Instant::now();
        let in_crop = landmarks.map(|p| to_crop.apply(p));
        self.blend.shape(&in_crop);
        self.blend.see_occlusion(frame, &landmarks, &to_crop);
        self.blend.match_colors(&mut self.generated, &self.aligned);
        if let Some(detail) = self.detail.as_mut().filter(|_| self.blend.options().detail) {
            detail.add_to(&mut self.generated, &in_crop, self.blend.mask());
        }
        self.blend.make_seamless(&mut self.generated, &self.aligned);
        self.blend.paste(&self.generated, &self.crop, &to_crop, out);
        self.to_crop = Some(to_crop);
        self.in_crop = Some(in_crop);
        Ok(Some(FaceCost {
            prepare: aligned - started,
            generator: generated - aligned,
            phases: generator.timings(),
            blend: generated.elapsed(),
        }))
    }

    /// Forgets what followed the face's looks over the last frames (its colours, its detail).
    pub fn forget_face(&mut self) {
        self.blend.forget();
        if let Some(detail) = &mut self.detail {
            detail.forget();
        }
    }

    /// Frames start again from a new source: its motion and looks are forgotten.
    pub fn restart(&mut self) {
        self.steady.reset();
        self.forget_face();
    }

    /// The aligned crop the model works in.
    pub fn crop(&self) -> &AlignedCrop {
        &self.crop
    }

    pub fn blend(&self) -> &Blend {
        &self.blend
    }

    pub fn blend_mut(&mut self) -> &mut Blend {
        &mut self.blend
    }

    /// The face's steadied landmarks in the last frame (frame pixels), if it showed it.
    pub fn landmarks(&self) -> Option<&Landmarks> {
        self.to_crop.and(self.steady.current())
    }

    /// The last generated face.
    pub fn generated(&self) -> &Rgb8 {
        &self.generated
    }

    /// The blend mask's weight at frame pixel `p` in the last frame (0 where it showed no face).
    pub fn mask_weight(&self, p: Point) -> f32 {
        self.to_crop
            .map_or(0.0, |to_crop| self.blend.weight(to_crop.apply(p)))
    }

    /// The mouth mask's weight at frame pixel `p` in the last frame: 1 where the frame's own
    /// mouth was kept whole, 0 where none was kept (or the mouth mask is off).
    pub fn mouth_weight(&self, p: Point) -> f32 {
        self.to_crop
            .map_or(0.0, |to_crop| self.blend.mouth_weight(to_crop.apply(p)))
    }

    /// The last frame, `frame`, with this face swapped again into `out` with the mouth mask
    /// on or off whatever the options say, from the same generated face (its colours and
    /// detail as they were). `false` when the last frame did not show it.
    pub fn swap_again(&mut self, frame: &Rgb8, mouth: bool, out: &mut Rgb8) -> bool {
        let (Some(to_crop), Some(in_crop)) = (self.to_crop, self.in_crop.as_ref()) else {
            return false;
        };
        copy_into(out, frame);
        if mouth {
            self.blend.shape_mouth(in_crop);
        }
        self.blend
            .paste_as(mouth, &self.generated, &self.crop, &to_crop, out);
        true
    }
}
