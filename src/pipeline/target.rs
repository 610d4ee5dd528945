//! The target as a reenactment model shows them: landmarks in the model's pixels in, a frame of
//! the target out. The landmarks are drawn as a sketch (the renderer the training set was made
//! with) and, for a model that takes one, the target's nearest keyframes are moved onto them;
//! then the generator runs. The live loop, `eval reenact` and `eval drive` all go through here.

use std::time::{Duration, Instant};

use super::PipelineError;
use crate::face::reference::{KeyframeChoice, Reference, ReferenceError};
use crate::face::Landmarks;
use crate::frame::Rgb8;
use crate::infer::Generator;
use crate::reenact::sketch::SketchRenderer;

/// A reenactment generator with its sketch renderer and reference, every buffer allocated once.
pub struct Target {
    generator: Generator,
    renderer: SketchRenderer,
    reference: Option<Reference>,
    keyframe: KeyframeChoice,
    warped: Rgb8,
    generated: Rgb8,
    /// The landmarks of the last frame shown.
    shown: Option<Landmarks>,
}

/// How long the last frame took to prepare (sketch and warp) and to generate.
#[derive(Debug, Clone, Copy, Default)]
pub struct TargetTimes {
    pub prepare: Duration,
    pub generator: Duration,
}

impl Target {
    /// The target of `generator`, with the sketch style and reference its card gives.
    pub fn new(generator: Generator) -> Result<Target, PipelineError> {
        let size = generator.input_size();
        let card = generator.card();
        let style = card.and_then(|c| c.sketch).unwrap_or_default();
        let reference = match (
            card.and_then(|c| c.reference.as_ref()),
            generator.takes_reference(),
        ) {
            (Some(spec), true) => Some(Reference::load(spec, generator.path(), size)?),
            (None, true) => return Err(ReferenceError::NotInCard.into()),
            (_, false) => None,
        };
        let out = generator.output_size();
        Ok(Target {
            renderer: SketchRenderer::new(size, size, style),
            reference,
            keyframe: KeyframeChoice::default(),
            warped: Rgb8::new(size, size),
            generated: Rgb8::new(out, out),
            shown: None,
            generator,
        })
    }

    /// Shows the target with `landmarks` (model input pixels).
    pub fn show(&mut self, landmarks: &Landmarks) -> Result<TargetTimes, PipelineError> {
        let started = Instant::now();
        let sketch = self.renderer.render(landmarks);
        if let Some(reference) = &self.reference {
            let pick = self.keyframe.choose(reference, landmarks);
            reference.warp_into(pick, landmarks, &mut self.warped);
        }
        let prepared = Instant::now();
        self.shown = Some(landmarks.clone());
        match &self.reference {
            Some(_) => {
                self.generator
                    .run_with_reference(sketch, &self.warped, &mut self.generated)?
            }
            None => self.generator.run(sketch, &mut self.generated)?,
        }
        Ok(TargetTimes {
            prepare: prepared - started,
            generator: prepared.elapsed(),
        })
    }

    /// Runs the generator once before the first frame.
    pub fn warm_up(&mut self) -> Result<(), PipelineError> {
        Ok(self.generator.warm_up()?)
    }

    pub fn generator(&self) -> &Generator {
        &self.generator
    }

    /// The last sketch.
    pub fn sketch(&self) -> &Rgb8 {
        self.renderer.canvas()
    }

    /// The last generated frame.
    pub fn generated(&self) -> &Rgb8 {
        &self.generated
    }

    /// The landmarks the last frame was drawn from (model input pixels).
    pub fn shown(&self) -> Option<&Landmarks> {
        self.shown.as_ref()
    }
}
