//! What a generator's graph says of itself, read before its first frame: its image input and
//! output (and a DeepFaceLive model's morph input, or a reenactment model's reference input),
//! checked against its card, or without a card the tensor layout and range inferred from the
//! shapes.

use std::path::Path;

use ort::session::Session;
use ort::value::ValueType;

use crate::infer::card::MAX_MODEL_SIDE;
use crate::infer::{ColorOrder, InferError, Layout, ModelCard, TensorSpec};

/// The input that names a DeepFaceLive model (`in_face:0`, NHWC, BGR, [0, 1]).
pub const DFM_INPUT: &str = "in_face:0";
/// The output of a DeepFaceLive model that holds the swapped face (the others are masks).
pub const DFM_FACE: &str = "out_celeb_face:0";
/// The second input of DeepFaceLive's morphable (AMP) models.
pub(super) const DFM_MORPH_INPUT: &str = "morph_value:0";
/// The second input of a reenactment model that takes the target's reference picture moved
/// onto the drawn landmarks (the `warp` architecture).
pub const REFERENCE_INPUT: &str = "reference";

/// The shapes a session declares for its image input and output.
pub(super) struct Signature {
    input: Vec<i64>,
    output: Vec<i64>,
    pub(super) output_index: usize,
    /// DeepFaceLive's signature: the input is `in_face:0`.
    pub(super) dfm: bool,
    /// A DeepFaceLive model with a `morph_value:0` input.
    pub(super) morph: bool,
    /// A model with a second image input for the target's reference picture.
    pub(super) reference: bool,
}

impl Signature {
    pub(super) fn read(session: &Session, path: &Path) -> Result<Signature, InferError> {
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
    pub(super) fn specs(
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
    let size = u32::try_from(h)
        .ok()
        .filter(|&s| s <= MAX_MODEL_SIDE)
        .ok_or_else(|| {
            format!("shape {shape:?} is larger than the {MAX_MODEL_SIDE}-pixel pictures mimic runs")
        })?;
    Ok(TensorSpec {
        size,
        layout,
        range,
        color,
    })
}
