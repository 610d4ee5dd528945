//! A generator session: image in, image out, with the tensor layout and value range its card
//! (or, without one, its signature) gives. DeepFaceLive's `.dfm` face-swap models are ONNX
//! with a signature of their own (DESIGN §4) and run here too.
//!
//! Its parts: loading the graph (`load.rs`), reading its signature (`signature.rs`), and
//! converting frames to and from its tensors (`tensor.rs`).

mod load;
mod signature;
mod tensor;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ndarray::Array4;
use ort::session::Session;
use ort::value::TensorRef;

use self::load::{load_failure, simplified};
use self::signature::Signature;
pub use self::signature::{DFM_FACE, DFM_INPUT, REFERENCE_INPUT};
use self::tensor::{fill_tensor, read_tensor};
use super::card::{AlignmentSpec, Layout, ModelCard, ModelKind, TensorSpec};
use super::InferError;
use crate::frame::Rgb8;
use crate::runtime::{choose_provider, runtime, DevicePreference, Provider};

/// The value DeepFaceLive feeds a morphable model's morph input by default: how far the face
/// moves toward the target.
const DFM_MORPH: f32 = 0.75;
/// The aligned crop assumed for a `.dfm` without a card: DeepFaceLive's default face coverage
/// of 2.2 (the landmark template fills 1/2.2 of the crop). A card beside the model overrides it.
pub const DFM_PADDING: f32 = (1.0 - 1.0 / 2.2) / 2.0;

/// How a generator's graph is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Graph {
    /// With mimic's exact rewrites ([`crate::onnx::simplify`]): the same outputs, less work.
    #[default]
    Simplified,
    /// As the file has it.
    AsIs,
}

/// How a generator's session is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loading {
    pub graph: Graph,
    /// Whether ONNX Runtime's worker threads spin between calls (its default): a quicker
    /// start on the next call, but a spinning thread holds a core that tracking, on its own
    /// thread beside the generator, needs.
    pub spin: bool,
}

impl Default for Loading {
    fn default() -> Self {
        Loading {
            graph: Graph::Simplified,
            spin: true,
        }
    }
}

/// An image-to-image model ready to run, its input tensor allocated once.
pub struct Generator {
    session: Session,
    path: PathBuf,
    card: Option<ModelCard>,
    /// Whether it has DeepFaceLive's signature.
    dfm: bool,
    /// The morph value fed to a morphable DeepFaceLive model, if it takes one.
    morph: Option<ndarray::Array1<f32>>,
    /// The second image input of a model that takes the target's reference picture.
    reference: Option<Array4<f32>>,
    input_spec: TensorSpec,
    output_spec: TensorSpec,
    output_index: usize,
    provider: Provider,
    input: Array4<f32>,
    timings: GeneratorTimings,
}

impl Generator {
    /// Loads `model` (and its card, if any), simplified, checks its signature and builds
    /// the session.
    pub fn open(model: &Path, device: DevicePreference) -> Result<Generator, InferError> {
        Self::open_as(model, device, Loading::default())
    }

    /// Loads `model` as [`Self::open`] does, its graph and threads as `loading` says.
    pub fn open_as(
        model: &Path,
        device: DevicePreference,
        loading: Loading,
    ) -> Result<Generator, InferError> {
        if !model.is_file() {
            return Err(InferError::ModelMissing(model.to_path_buf()));
        }
        let card = ModelCard::read_beside(model)?;
        let runtime = runtime()?;
        let invalid = |reason: String| InferError::ModelInvalid {
            path: model.to_path_buf(),
            reason,
        };
        let mut builder =
            Session::builder(&runtime.environment).map_err(|e| invalid(e.to_string()))?;
        let provider = choose_provider(&mut builder, device)?;
        if !loading.spin {
            builder = builder
                .with_intra_op_spinning(false)
                .map_err(|e| invalid(e.to_string()))?;
        }
        let simplified = match loading.graph {
            Graph::Simplified => simplified(model),
            Graph::AsIs => None,
        };
        let session = match &simplified {
            Some(bytes) => builder.commit_from_memory(bytes),
            None => builder.commit_from_file(model),
        }
        .map_err(|e| invalid(load_failure(&e.to_string())))?;
        let signature = Signature::read(&session, model)?;
        let (input_spec, output_spec) = signature.specs(card.as_ref(), model)?;
        if card.is_none() {
            tracing::warn!(
                "model '{}' has no card ({}); running it as {}{:?} {}×{} in {:?}",
                model.display(),
                ModelCard::path_for(model).display(),
                if signature.dfm {
                    "a DeepFaceLive face swap, "
                } else {
                    ""
                },
                input_spec.layout,
                input_spec.size,
                input_spec.size,
                input_spec.range
            );
        }
        let s = input_spec.size as usize;
        let image_tensor = || match input_spec.layout {
            Layout::Nchw => Array4::zeros((1, 3, s, s)),
            Layout::Nhwc => Array4::zeros((1, s, s, 3)),
        };
        let input = image_tensor();
        let reference = signature.reference.then(image_tensor);
        Ok(Generator {
            session,
            path: model.to_path_buf(),
            card,
            dfm: signature.dfm,
            morph: signature
                .morph
                .then(|| ndarray::Array1::from_elem(1, DFM_MORPH)),
            reference,
            input_spec,
            output_spec,
            output_index: signature.output_index,
            provider,
            input,
            timings: GeneratorTimings::default(),
        })
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    pub fn card(&self) -> Option<&ModelCard> {
        self.card.as_ref()
    }

    /// What the model is for: the card's kind; without a card, a face swap for a DeepFaceLive
    /// model and stylisation for any other.
    pub fn kind(&self) -> ModelKind {
        match (&self.card, self.dfm) {
            (Some(card), _) => card.kind,
            (None, true) => ModelKind::Swap,
            (None, false) => ModelKind::Stylize,
        }
    }

    /// The aligned crop a swap model expects: its card's, or for a model without a card (a
    /// DeepFaceLive model, or any model run with `--mode swap`), DeepFaceLive's default
    /// coverage at the model's size.
    pub fn alignment(&self) -> Option<AlignmentSpec> {
        match &self.card {
            Some(card) => card.alignment,
            None => Some(AlignmentSpec {
                size: self.input_spec.size,
                padding: DFM_PADDING,
            }),
        }
    }

    /// How the model's input tensor holds a picture (the card's, or read from its shapes).
    pub fn input_spec(&self) -> &TensorSpec {
        &self.input_spec
    }

    pub fn input_size(&self) -> u32 {
        self.input_spec.size
    }

    pub fn output_size(&self) -> u32 {
        self.output_spec.size
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The name of the output that holds the image.
    pub fn output_name(&self) -> &str {
        self.session.outputs()[self.output_index].name()
    }

    /// The range of the output's values (the card's, or the signature's default).
    pub fn output_range(&self) -> [f32; 2] {
        self.output_spec.range
    }

    /// Whether the model takes the target's reference picture as a second input.
    pub fn takes_reference(&self) -> bool {
        self.reference.is_some()
    }

    /// Runs the model on `input` (input size × input size) into `output` (resized to the
    /// output size if needed).
    pub fn run(&mut self, input: &Rgb8, output: &mut Rgb8) -> Result<(), InferError> {
        self.run_inputs(input, None, output)
    }

    /// Runs a model that takes a reference picture on `input` and `reference` (both input
    /// size × input size) into `output`.
    pub fn run_with_reference(
        &mut self,
        input: &Rgb8,
        reference: &Rgb8,
        output: &mut Rgb8,
    ) -> Result<(), InferError> {
        self.run_inputs(input, Some(reference), output)
    }

    fn run_inputs(
        &mut self,
        input: &Rgb8,
        reference: Option<&Rgb8>,
        output: &mut Rgb8,
    ) -> Result<(), InferError> {
        let expected = self.input_spec.size;
        for image in std::iter::once(input).chain(reference) {
            if image.dimensions() != (expected, expected) {
                return Err(InferError::InputSize {
                    expected,
                    width: image.width(),
                    height: image.height(),
                });
            }
        }
        let started = Instant::now();
        fill_tensor(&mut self.input, input, &self.input_spec);
        match (&mut self.reference, reference) {
            (Some(tensor), Some(image)) => fill_tensor(tensor, image, &self.input_spec),
            (Some(_), None) => return Err(InferError::ReferenceNeeded(self.path.clone())),
            (None, _) => {}
        }
        let filled = Instant::now();
        let path = &self.path;
        let failed = |reason: String| InferError::Run {
            path: path.clone(),
            reason,
        };
        let run_error = |e: ort::Error| failed(e.to_string());
        let tensor = TensorRef::from_array_view(&self.input).map_err(run_error)?;
        let outputs = match (&self.morph, &self.reference) {
            (Some(morph), _) => {
                let morph = TensorRef::from_array_view(morph).map_err(run_error)?;
                self.session.run(ort::inputs![tensor, morph])
            }
            (None, Some(reference)) => {
                let reference = TensorRef::from_array_view(reference).map_err(run_error)?;
                self.session.run(ort::inputs![tensor, reference])
            }
            (None, None) => self.session.run(ort::inputs![tensor]),
        }
        .map_err(run_error)?;
        let ran = Instant::now();
        let array = outputs[self.output_index]
            .try_extract_array::<f32>()
            .map_err(run_error)?;
        read_tensor(&array, &self.output_spec, output).map_err(failed)?;
        self.timings = GeneratorTimings {
            preprocess: filled - started,
            run: ran - filled,
            postprocess: ran.elapsed(),
        };
        Ok(())
    }

    /// Runs the model once on a black frame, so the first real frame does not pay for ONNX
    /// Runtime's lazy initialisation (allocations, kernel selection).
    pub fn warm_up(&mut self) -> Result<(), InferError> {
        let size = self.input_spec.size;
        let mut output = Rgb8::new(self.output_spec.size, self.output_spec.size);
        let black = Rgb8::new(size, size);
        let reference = self.reference.is_some().then_some(&black);
        self.run_inputs(&black, reference, &mut output)
    }

    /// The tensors the last call fed the model, by input name: what the live path gives it,
    /// which is what an INT8 model is calibrated on.
    pub fn last_inputs(&self) -> Vec<(String, ndarray::ArrayD<f32>)> {
        let image = Some(self.input.clone().into_dyn());
        let second = match (&self.morph, &self.reference) {
            (Some(morph), _) => Some(morph.clone().into_dyn()),
            (None, Some(reference)) => Some(reference.clone().into_dyn()),
            (None, None) => None,
        };
        let names = self.session.inputs().iter().map(|i| i.name().to_string());
        names.zip([image, second].into_iter().flatten()).collect()
    }

    /// How long the last [`Self::run`] spent converting in, running, and converting out.
    pub fn timings(&self) -> GeneratorTimings {
        self.timings
    }
}

/// The phases of one generator call.
#[derive(Debug, Clone, Copy, Default)]
pub struct GeneratorTimings {
    pub preprocess: Duration,
    pub run: Duration,
    pub postprocess: Duration,
}
