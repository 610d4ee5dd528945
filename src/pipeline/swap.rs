//! Face swap, one frame at a time: the tracked face's landmarks steadied over time,
//! aligned to the template exactly as the training faces were ([`AlignedCrop`] with the model card's size and padding), turned into
//! the other person's face by the generator, and blended back through the inverse transform
//! (with the mouth mask, the driver's own mouth kept from the frame over it).

use std::time::{Duration, Instant};

use super::{PipelineError, Process, StageTimes, Tracked};
use crate::face::smooth::{OnRepeat, SmoothSettings, SteadyLandmarks};
use crate::face::{AlignedCrop, Landmarks};
use crate::frame::change::FrameChange;
use crate::frame::{copy_into, Rgb8};
use crate::geometry::{Point, Similarity};
use crate::infer::{Generator, InferError, ModelCard};
use crate::output::Control;
use crate::swap::blend::{Blend, BlendOptions};
use crate::swap::detail::Detail;

/// Turns the driver's face into the target's, in place in the frame, with buffers reused.
pub struct Swapper {
    generator: Generator,
    crop: AlignedCrop,
    steady: SteadyLandmarks,
    blend: Blend,
    /// The target's fine detail, when the model keeps keyframes (added when the blend options
    /// want it).
    detail: Option<Detail>,
    /// The frame's face in the model's crop, the generator's input.
    aligned: Rgb8,
    generated: Rgb8,
    swapped: Rgb8,
    /// Frame → crop for the last frame's face.
    to_crop: Option<Similarity>,
    /// The last frame's face's (steadied) landmarks in the crop.
    in_crop: Option<Landmarks>,
    times: StageTimes,
}

impl Swapper {
    /// A swapper for `generator`, whose card must say which aligned crop it was trained on;
    /// `smoothing`: how to steady the driver's landmarks over time (`None`: raw).
    pub fn new(
        generator: Generator,
        blend: BlendOptions,
        smoothing: Option<SmoothSettings>,
    ) -> Result<Swapper, PipelineError> {
        let alignment = generator
            .alignment()
            .ok_or_else(|| InferError::Card {
                path: ModelCard::path_for(generator.path()),
                reason: "it has no [alignment] (the aligned crop a swap model was trained on): train the model with `mimic train swap`, which writes it".into(),
            })?;
        let crop = AlignedCrop::new(alignment.size, alignment.padding);
        let out = generator.output_size();
        if out != alignment.size || generator.input_size() != alignment.size {
            return Err(InferError::Card {
                path: ModelCard::path_for(generator.path()),
                reason: format!(
                    "its aligned crop is {}×{} but the model takes {}×{} faces and makes {out}×{out} ones (a swap model makes faces the size of its crop): use the card written with the model",
                    alignment.size, alignment.size, generator.input_size(), generator.input_size()
                ),
            }
            .into());
        }
        let detail = match generator.card().and_then(|c| c.detail.as_ref()) {
            Some(spec) => Some(Detail::load(spec, generator.path(), alignment.size)?),
            None => None,
        };
        Ok(Swapper {
            detail,
            generator,
            crop,
            steady: SteadyLandmarks::new(smoothing, OnRepeat::Hold),
            blend: Blend::new(blend, alignment.size),
            aligned: Rgb8::new(alignment.size, alignment.size),
            generated: Rgb8::new(out, out),
            swapped: Rgb8::new(0, 0),
            to_crop: None,
            in_crop: None,
            times: StageTimes::default(),
        })
    }

    /// The aligned crop the model works in.
    pub fn crop(&self) -> &AlignedCrop {
        &self.crop
    }

    pub fn blend_mut(&mut self) -> &mut Blend {
        &mut self.blend
    }

    /// Swaps the face tracked in one frame, taken at `t` seconds; `Ok(false)` when it shows
    /// no face (the frame is passed through).
    fn swap(&mut self, frame: &Rgb8, found: &Tracked, t: f64) -> Result<bool, PipelineError> {
        let tracked = Instant::now();
        self.times.tracked(found);
        copy_into(&mut self.swapped, frame);
        if found.change == FrameChange::Cut {
            self.forget_face(); // another shot, in other light
        }
        let landmarks = found
            .steadied(&mut self.steady, t)
            .map(|(_, landmarks)| landmarks.clone());
        let Some((landmarks, to_crop)) =
            landmarks.and_then(|l| self.crop.transform(&l).map(|to_crop| (l, to_crop)))
        else {
            self.to_crop = None;
            self.in_crop = None;
            self.forget_face();
            self.times.prepare = Duration::ZERO;
            self.times.generator = Duration::ZERO;
            self.times.blend = Duration::ZERO;
            return Ok(false);
        };
        to_crop.warp_into(frame, &mut self.aligned);
        let aligned = Instant::now();
        self.times.prepare = aligned - tracked;
        self.generator.run(&self.aligned, &mut self.generated)?;
        let generated = Instant::now();
        self.times.generator = generated - aligned;
        let in_crop = landmarks.map(|p| to_crop.apply(p));
        self.blend.shape(&in_crop);
        self.blend.match_colors(&mut self.generated, &self.aligned);
        if let Some(detail) = self.detail.as_mut().filter(|_| self.blend.options().detail) {
            detail.add_to(&mut self.generated, &in_crop, self.blend.mask());
        }
        self.blend.make_seamless(&mut self.generated, &self.aligned);
        self.blend
            .paste(&self.generated, &self.crop, &to_crop, &mut self.swapped);
        self.to_crop = Some(to_crop);
        self.in_crop = Some(in_crop);
        self.times.blend = generated.elapsed();
        Ok(true)
    }

    /// Forgets what followed the face's looks over the last frames (its colours, its detail).
    fn forget_face(&mut self) {
        self.blend.forget();
        if let Some(detail) = &mut self.detail {
            detail.forget();
        }
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

    /// The last frame, `frame`, swapped again into `out` with the mouth mask on or off
    /// whatever the options say, from the same generated face (its colours and detail as they
    /// were): the two compared on the same frames (`eval swap`). `false` when the last frame
    /// showed no face (`out` is left as it was).
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

    /// The last swapped frame and generated face.
    pub fn outputs(&self) -> (&Rgb8, &Rgb8) {
        (&self.swapped, &self.generated)
    }
}

impl Process for Swapper {
    fn restart(&mut self) {
        self.steady.reset();
        self.forget_face();
    }

    fn warm_up(&mut self) -> Result<(), PipelineError> {
        Ok(self.generator.warm_up()?)
    }

    fn process(&mut self, frame: &Rgb8, found: &Tracked, t: f64) -> Result<bool, PipelineError> {
        self.swap(frame, found, t)
    }

    fn times(&self) -> StageTimes {
        self.times
    }

    fn generator(&self) -> &Generator {
        &self.generator
    }

    fn landmarks(&self) -> Option<&Landmarks> {
        self.steady.current()
    }

    /// The swapped frame and the generated face.
    fn panels(&self) -> (&Rgb8, &Rgb8) {
        self.outputs()
    }

    fn shows_frames_without_a_face(&self) -> bool {
        true
    }

    /// `m`, `k`, `p`, `d` and `o`: the next mask or colour match, seamless, the target's
    /// detail or the mouth mask on or off.
    fn control(&mut self, control: Control) -> Option<String> {
        let mut options = self.blend.options();
        match control {
            Control::CycleMask => options.mask = options.mask.next(),
            Control::CycleColor => options.color = options.color.next(),
            Control::ToggleSeamless => options.seamless = !options.seamless,
            Control::ToggleDetail => options.detail = !options.detail,
            Control::ToggleMouth => options.mouth = !options.mouth,
            _ => return None,
        }
        self.blend.set_options(options);
        Some(format!(
            "mask {:?}, colour {:?}, seamless {}, detail {}, mouth {}",
            options.mask, options.color, options.seamless, options.detail, options.mouth
        ))
    }
}
