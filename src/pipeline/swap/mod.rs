//! Face swap, one frame at a time: each face the tracker follows swapped in turn into one copy
//! of the frame, by the model mapped to it ([`FaceSwap`] holds what one face needs). One face
//! by default; every face in view, or each person with a model of their own (`--map`), when
//! the tracker follows several.

mod face;

pub use face::{FaceCost, FaceSwap};

use super::{PipelineError, Process, StageTimes, Tracked};
use crate::face::smooth::SmoothSettings;
use crate::face::{AlignedCrop, Landmarks};
use crate::frame::{copy_into, Rgb8};
use crate::geometry::Point;
use crate::infer::{Generator, GeneratorTimings};
use crate::output::compose::{gallery, Label};
use crate::output::Control;
use crate::swap::blend::{Blend, BlendOptions};

/// Turns each face of the frame into its target's, in place in one copy of the frame.
pub struct Swapper {
    /// The models; each face names one.
    generators: Vec<Generator>,
    /// The tracker's faces, in the order of its roles: each with its model and its name
    /// in the window.
    faces: Vec<Cast>,
    swapped: Rgb8,
    /// Every face's generated face, when there are several (see [`gallery`]).
    gallery: Option<Rgb8>,
    times: StageTimes,
    phases: GeneratorTimings,
}

/// One face of the frame, the model it is swapped by, and what the window calls it.
struct Cast {
    face: FaceSwap,
    model: usize,
    name: String,
}

impl Swapper {
    /// A swapper for one face, by `generator` (see [`FaceSwap::new`]).
    pub fn new(
        generator: Generator,
        blend: BlendOptions,
        smoothing: Option<SmoothSettings>,
    ) -> Result<Swapper, PipelineError> {
        Swapper::cast(vec![generator], &[(0, String::new())], blend, smoothing)
    }

    /// A swapper for several faces, the tracker's roles in order: each `(model, name)` says
    /// which of `generators` swaps it and what the window calls it.
    pub fn cast(
        generators: Vec<Generator>,
        faces: &[(usize, String)],
        blend: BlendOptions,
        smoothing: Option<SmoothSettings>,
    ) -> Result<Swapper, PipelineError> {
        let faces = faces
            .iter()
            .map(|(model, name)| {
                let generator = generators.get(*model).ok_or_else(|| PipelineError::Cast {
                    face: name.clone(),
                    models: generators.len(),
                })?;
                Ok(Cast {
                    face: FaceSwap::new(generator, blend, smoothing)?,
                    model: *model,
                    name: name.clone(),
                })
            })
            .collect::<Result<Vec<_>, PipelineError>>()?;
        Ok(Swapper {
            generators,
            gallery: (faces.len() > 1).then(|| Rgb8::new(0, 0)),
            faces,
            swapped: Rgb8::new(0, 0),
            times: StageTimes::default(),
            phases: GeneratorTimings::default(),
        })
    }

    /// The aligned crop the (first face's) model works in.
    pub fn crop(&self) -> &AlignedCrop {
        self.faces[0].face.crop()
    }

    pub fn blend_mut(&mut self) -> &mut Blend {
        self.faces[0].face.blend_mut()
    }

    /// The first face's blend mask's weight at frame pixel `p` in the last frame.
    pub fn mask_weight(&self, p: Point) -> f32 {
        self.faces[0].face.mask_weight(p)
    }

    /// The first face's mouth mask's weight at frame pixel `p` in the last frame.
    pub fn mouth_weight(&self, p: Point) -> f32 {
        self.faces[0].face.mouth_weight(p)
    }

    /// The last frame with the first face swapped again into `out`, the mouth mask on or off
    /// whatever the options say (see [`FaceSwap::swap_again`]): the two compared on the same
    /// frames (`eval swap`).
    pub fn swap_again(&mut self, frame: &Rgb8, mouth: bool, out: &mut Rgb8) -> bool {
        self.faces[0].face.swap_again(frame, mouth, out)
    }

    /// The last swapped frame and generated face: the first face in view's, or with several
    /// faces every face's, in a grid.
    pub fn outputs(&self) -> (&Rgb8, &Rgb8) {
        if let Some(gallery) = &self.gallery {
            return (&self.swapped, gallery);
        }
        let shown = self
            .faces
            .iter()
            .find(|c| c.face.landmarks().is_some())
            .unwrap_or(&self.faces[0]);
        (&self.swapped, shown.face.generated())
    }

    /// Swaps each face tracked in one frame, taken at `t` seconds; `Ok(false)` when it shows
    /// none (the frame is passed through).
    fn swap(&mut self, frame: &Rgb8, found: &Tracked, t: f64) -> Result<bool, PipelineError> {
        self.times = StageTimes::default();
        self.times.tracked(found);
        self.phases = GeneratorTimings::default();
        copy_into(&mut self.swapped, frame);
        for (role, cast) in self.faces.iter_mut().enumerate() {
            let generator = &mut self.generators[cast.model];
            let io = (frame, &mut self.swapped);
            let Some(cost) = cast.face.swap(generator, io, (found, role), t)? else {
                continue;
            };
            self.times.faces += 1;
            self.times.prepare += cost.prepare;
            self.times.generator += cost.generator;
            self.times.blend += cost.blend;
            self.phases.preprocess += cost.phases.preprocess;
            self.phases.run += cost.phases.run;
            self.phases.postprocess += cost.phases.postprocess;
        }
        self.gather();
        Ok(self.times.faces > 0)
    }

    /// Every face's generated face into the gallery, when there are several; the largest
    /// model's size sets each one's.
    fn gather(&mut self) {
        let Some(out) = self.gallery.as_mut() else {
            return;
        };
        let generated: Vec<Option<&Rgb8>> = (self.faces.iter())
            .map(|c| c.face.landmarks().map(|_| c.face.generated()))
            .collect();
        let tile = (self.faces.iter())
            .map(|c| c.face.generated().width())
            .max()
            .unwrap_or(1);
        gallery(&generated, tile, out);
    }
}

impl Process for Swapper {
    fn restart(&mut self) {
        for cast in &mut self.faces {
            cast.face.restart();
        }
    }

    fn warm_up(&mut self) -> Result<(), PipelineError> {
        for generator in &mut self.generators {
            generator.warm_up()?;
        }
        Ok(())
    }

    fn process(&mut self, frame: &Rgb8, found: &Tracked, t: f64) -> Result<bool, PipelineError> {
        self.swap(frame, found, t)
    }

    fn times(&self) -> StageTimes {
        self.times
    }

    fn phases(&self) -> GeneratorTimings {
        self.phases
    }

    fn generator(&self) -> &Generator {
        &self.generators[self.faces[0].model]
    }

    fn landmarks(&self) -> Option<&Landmarks> {
        self.faces.iter().find_map(|c| c.face.landmarks())
    }

    /// Each face in view with its name, where the window shows it.
    fn labels(&self) -> Vec<Label<'_>> {
        self.faces
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.name.is_empty())
            .filter_map(|(role, c)| {
                let bounds = c.face.landmarks()?.bounds();
                Some(Label {
                    bounds,
                    text: &c.name,
                    role,
                })
            })
            .collect()
    }

    /// The swapped frame and the generated face.
    fn panels(&self) -> (&Rgb8, &Rgb8) {
        self.outputs()
    }

    fn shows_frames_without_a_face(&self) -> bool {
        true
    }

    /// `m`, `k`, `p`, `d`, `o` and `i`: the next mask or colour match, seamless, the
    /// target's detail, the mouth mask or occlusion on or off, for every face.
    fn control(&mut self, control: Control) -> Option<String> {
        let mut options = self.faces[0].face.blend().options();
        match control {
            Control::CycleMask => options.mask = options.mask.next(),
            Control::CycleColor => options.color = options.color.next(),
            Control::ToggleSeamless => options.seamless = !options.seamless,
            Control::ToggleDetail => options.detail = !options.detail,
            Control::ToggleMouth => options.mouth = !options.mouth,
            Control::ToggleOcclusion => options.occlusion = !options.occlusion,
            _ => return None,
        }
        for cast in &mut self.faces {
            cast.face.blend_mut().set_options(options);
        }
        Some(format!(
            "mask {:?}, colour {:?}, seamless {}, detail {}, mouth {}, occlusion {}",
            options.mask,
            options.color,
            options.seamless,
            options.detail,
            options.mouth,
            options.occlusion
        ))
    }
}
