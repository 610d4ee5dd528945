//! A generator session: image in, image out, with the tensor layout and value range its card
//! (or, without one, its signature) gives. DeepFaceLive's `.dfm` face-swap models are ONNX
//! with a signature of their own (DESIGN §4) and run here too.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use image::Rgb;
use ndarray::{Array4, ArrayViewD, Axis};
use ort::session::Session;
use ort::value::{TensorRef, ValueType};

use super::card::{AlignmentSpec, ColorOrder, Layout, ModelCard, ModelKind, TensorSpec};
use super::InferError;
use crate::frame::{Rgb8, ValueRange};
use crate::runtime::{choose_provider, runtime, DevicePreference, Provider};

/// The input that names a DeepFaceLive model (`in_face:0`, NHWC, BGR, [0, 1]).
pub const DFM_INPUT: &str = "in_face:0";
/// The output of a DeepFaceLive model that holds the swapped face (the others are masks).
pub const DFM_FACE: &str = "out_celeb_face:0";
/// The second input of DeepFaceLive's morphable (AMP) models, and the value DeepFaceLive
/// feeds it by default: how far the face moves toward the target.
const DFM_MORPH_INPUT: &str = "morph_value:0";
const DFM_MORPH: f32 = 0.75;
/// The second input of a reenactment model that takes the target's reference picture moved
/// onto the drawn landmarks (the `warp` architecture).
pub const REFERENCE_INPUT: &str = "reference";
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

/// The model's graph simplified, or `None` (then it runs as the file has it) when mimic's
/// reader cannot read it or there is nothing to simplify.
fn simplified(model: &Path) -> Option<Vec<u8>> {
    let bytes = std::fs::read(model).ok()?;
    let read = match crate::onnx::read::decode(&bytes) {
        Ok(read) => read,
        Err(e) => {
            tracing::debug!("running '{}' as it is: {e}", model.display());
            return None;
        }
    };
    let simplified = crate::onnx::simplify::simplify(read.clone());
    (simplified != read).then(|| simplified.encode())
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
        let run_error = |e: ort::Error| InferError::Run(e.to_string());
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
            .map_err(|e| InferError::Run(e.to_string()))?;
        read_tensor(&array, &self.output_spec, output)?;
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

/// Image → tensor: pixel values mapped linearly from [0, 255] onto the spec's range.
/// Why ONNX Runtime could not load a model, for a person: without the C++ source location it
/// comes with, and with what to do where that is known.
fn load_failure(message: &str) -> String {
    let reason = without_source_location(message);
    let number_after = |key: &str| -> Option<u32> {
        let at = reason.find(key)? + key.len();
        let digits: String = reason[at..]
            .chars()
            .skip_while(|c| c.is_whitespace())
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    match (number_after("Opset"), number_after("is till opset")) {
        (Some(used), Some(supported)) => format!(
            "it uses ONNX opset {used}, and this ONNX Runtime supports up to opset {supported}: export it again with opset {supported} or lower"
        ),
        _ => format!("{reason} (is it a complete ONNX file?)"),
    }
}

/// `…failed:/onnxruntime_src/path.h:46 void f(args) reason` → `reason`.
fn without_source_location(message: &str) -> &str {
    let Some(at) = message.find("/onnxruntime_src/") else {
        return message.trim();
    };
    let rest = &message[at..];
    let Some(open) = rest.find('(') else {
        return message.trim();
    };
    let mut depth = 0;
    for (i, c) in rest[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 1 => return rest[open + i + 1..].trim(),
            ')' => depth -= 1,
            _ => {}
        }
    }
    message.trim()
}

fn fill_tensor(tensor: &mut Array4<f32>, image: &Rgb8, spec: &TensorSpec) {
    let range = ValueRange::new(spec.range);
    for (x, y, Rgb(rgb)) in image.enumerate_pixels() {
        let (x, y) = (x as usize, y as usize);
        for c in 0..3 {
            let value = range.value(rgb[channel(spec.color, c)]);
            match spec.layout {
                Layout::Nchw => tensor[[0, c, y, x]] = value,
                Layout::Nhwc => tensor[[0, y, x, c]] = value,
            }
        }
    }
}

/// Tensor → image, clamping values outside the range.
fn read_tensor(
    array: &ArrayViewD<f32>,
    spec: &TensorSpec,
    out: &mut Rgb8,
) -> Result<(), InferError> {
    let view = array
        .view()
        .into_dimensionality::<ndarray::Ix4>()
        .map_err(|e| InferError::Run(format!("output is not a 4-d tensor: {e}")))?;
    let view = view.index_axis(Axis(0), 0);
    let (h, w) = match spec.layout {
        Layout::Nchw => (view.shape()[1], view.shape()[2]),
        Layout::Nhwc => (view.shape()[0], view.shape()[1]),
    };
    if out.dimensions() != (w as u32, h as u32) {
        *out = Rgb8::new(w as u32, h as u32);
    }
    let range = ValueRange::new(spec.range);
    for (x, y, pixel) in out.enumerate_pixels_mut() {
        let (x, y) = (x as usize, y as usize);
        for c in 0..3 {
            let value = match spec.layout {
                Layout::Nchw => view[[c, y, x]],
                Layout::Nhwc => view[[y, x, c]],
            };
            pixel[channel(spec.color, c)] = range.level(value);
        }
    }
    Ok(())
}

/// Tensor channel `c` holds image channel `channel(order, c)`.
fn channel(order: ColorOrder, c: usize) -> usize {
    match order {
        ColorOrder::Rgb => c,
        ColorOrder::Bgr => 2 - c,
    }
}

/// The shapes a session declares for its image input and output.
struct Signature {
    input: Vec<i64>,
    output: Vec<i64>,
    output_index: usize,
    /// DeepFaceLive's signature: the input is `in_face:0`.
    dfm: bool,
    /// A DeepFaceLive model with a `morph_value:0` input.
    morph: bool,
    /// A model with a second image input for the target's reference picture.
    reference: bool,
}

impl Signature {
    fn read(session: &Session, path: &Path) -> Result<Signature, InferError> {
        let bad = |reason: String| InferError::Signature {
            path: path.to_path_buf(),
            reason,
        };
        let (input, morph, reference) = match session.inputs() {
            [input] => (input, false, false),
            [input, morph] if morph.name() == DFM_MORPH_INPUT => (input, true, false),
            [input, reference] if reference.name() == REFERENCE_INPUT => (input, false, true),
            inputs => {
                return Err(bad(format!(
                    "it has {} inputs; an image generator has one (a morphable DeepFaceLive model: {DFM_INPUT} and {DFM_MORPH_INPUT}; a reenactment model with a reference picture: input and {REFERENCE_INPUT})",
                    inputs.len()
                )))
            }
        };
        let dfm = input.name() == DFM_INPUT;
        let input = float_shape(input.dtype())
            .ok_or_else(|| bad("its input is not a float32 tensor of rank 4".into()))?;
        // DeepFaceLive models have several outputs; the image is the one named like a face or
        // the first with three channels.
        let outputs: Vec<(usize, Vec<i64>, &str)> = session
            .outputs()
            .iter()
            .enumerate()
            .filter_map(|(i, o)| float_shape(o.dtype()).map(|s| (i, s, o.name())))
            .collect();
        let (output_index, output, _) = outputs
            .iter()
            .find(|(_, _, name)| *name == DFM_FACE)
            .or_else(|| outputs.iter().find(|(_, s, _)| s[1] == 3 || s[3] == 3))
            .cloned()
            .ok_or_else(|| bad("no output is a 3-channel float32 image tensor".into()))?;
        Ok(Signature {
            input,
            output,
            output_index,
            dfm,
            morph,
            reference,
        })
    }

    /// Input and output specs: the card's, checked against the signature, or inferred.
    fn specs(
        &self,
        card: Option<&ModelCard>,
        path: &Path,
    ) -> Result<(TensorSpec, TensorSpec), InferError> {
        let bad = |reason: String| InferError::Signature {
            path: path.to_path_buf(),
            reason,
        };
        match card {
            Some(card) => {
                check_against(&self.input, &card.input).map_err(|r| bad(format!("input {r}")))?;
                check_against(&self.output, &card.output)
                    .map_err(|r| bad(format!("output {r}")))?;
                Ok((card.input, card.output))
            }
            None => {
                let color = match self.dfm {
                    true => ColorOrder::Bgr,
                    false => ColorOrder::Rgb,
                };
                let input =
                    infer_spec(&self.input, color).map_err(|r| bad(format!("input {r}")))?;
                let output =
                    infer_spec(&self.output, color).map_err(|r| bad(format!("output {r}")))?;
                Ok((input, output))
            }
        }
    }
}

fn float_shape(dtype: &ValueType) -> Option<Vec<i64>> {
    match dtype {
        ValueType::Tensor {
            ty: ort::value::TensorElementType::Float32,
            shape,
            ..
        } if shape.len() == 4 => Some(shape.iter().copied().collect()),
        _ => None,
    }
}

/// A dimension the model fixes must equal the card's; a dynamic one (-1) accepts anything.
fn check_against(shape: &[i64], spec: &TensorSpec) -> Result<(), String> {
    let s = i64::from(spec.size);
    let expected = match spec.layout {
        Layout::Nchw => [1, 3, s, s],
        Layout::Nhwc => [1, s, s, 3],
    };
    let fits = shape.iter().zip(expected).all(|(&d, e)| d < 0 || d == e);
    if fits {
        Ok(())
    } else {
        Err(format!(
            "shape {shape:?} does not match the card's {expected:?} ({:?})",
            spec.layout
        ))
    }
}

/// Without a card: NCHW with 3 channels in [-1, 1] (tanh generators), or NHWC in [0, 1]
/// (DeepFaceLive, whose colours are BGR); the size must be fixed in the model.
fn infer_spec(shape: &[i64], color: ColorOrder) -> Result<TensorSpec, String> {
    let (layout, h, w, range) = if shape[1] == 3 {
        (Layout::Nchw, shape[2], shape[3], [-1.0, 1.0])
    } else if shape[3] == 3 {
        (Layout::Nhwc, shape[1], shape[2], [0.0, 1.0])
    } else {
        return Err(format!("shape {shape:?} has no 3-channel axis"));
    };
    if h <= 0 || h != w {
        return Err(format!(
            "shape {shape:?} is not a fixed square image; give the model a card"
        ));
    }
    Ok(TensorSpec {
        size: h as u32,
        layout,
        range,
        color,
    })
}
