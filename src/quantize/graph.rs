//! The float graph made ready for quantisation: each operator sorted by how the rewrite
//! treats it (unknown ones refused by name), constants made initializers, identities
//! dropped, and batch norms and per-channel affines that follow a convolution folded into
//! its weights, which computes the same and leaves one integer kernel where there were two.

use std::collections::HashMap;

use super::QuantizeError;
use crate::onnx::{Attr, Initializer, Model, Node, TensorData};

/// Opset whose QuantizeLinear / DequantizeLinear take per-axis scales.
const QDQ_OPSET: i64 = 13;

/// How the rewrite treats an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Has constant weights, quantised per output channel (`axis` of the weight tensor);
    /// ONNX Runtime runs it as an integer kernel.
    Weighted { axis: usize },
    /// Runs on integers in ONNX Runtime given quantised inputs and output (LeakyRelu,
    /// Sigmoid, Concat, Add, Resize, pooling, reshapes).
    Integer,
    /// `Relu`: vanishes into the quantisation of its output (a zero point of 0 clamps).
    Rectifier,
    /// Stays float between a dequantise and a quantise (Tanh, the normalisations, …).
    Float,
}

const INTEGER: &[&str] = &[
    "LeakyRelu",
    "Sigmoid",
    "Concat",
    "Resize",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "Reshape",
    "Flatten",
    "Transpose",
    "Squeeze",
    "Unsqueeze",
];

const FLOAT: &[&str] = &[
    "Tanh",
    "Clip",
    "Elu",
    "Selu",
    "PRelu",
    "HardSigmoid",
    "Softplus",
    "BatchNormalization",
    "InstanceNormalization",
    "LayerNormalization",
    "Sub",
    "Div",
    "Pad",
    "Identity",
    "Upsample",
];

/// `node`'s role, or the sentence that it cannot be quantised.
pub fn role(node: &Node, constant: impl Fn(&str) -> bool) -> Result<Role, QuantizeError> {
    let op = node.op_type.as_str();
    let weighted = node.inputs.get(1).is_some_and(|w| constant(w));
    Ok(match op {
        "Conv" if weighted => Role::Weighted { axis: 0 },
        "ConvTranspose" if weighted && group(node) == 1 => Role::Weighted { axis: 1 },
        "Gemm" if weighted && node.inputs.len() == 3 => Role::Weighted {
            axis: usize::from(int_attr(node, "transB") == Some(1)) ^ 1,
        },
        // Two activations meet: an integer kernel; a constant operand: kept float, since a
        // per-channel constant loses its precision in one per-tensor scale.
        "Add" | "Mul" if node.inputs.iter().all(|i| !constant(i)) => Role::Integer,
        "Add" | "Mul" => Role::Float,
        "Relu" => Role::Rectifier,
        _ if INTEGER.contains(&op) => Role::Integer,
        _ if FLOAT.contains(&op) => Role::Float,
        "QuantizeLinear" | "DequantizeLinear" | "QLinearConv" => {
            return Err(QuantizeError::AlreadyQuantized)
        }
        _ => {
            return Err(QuantizeError::UnsupportedOp {
                op: op.into(),
                node: node.name.clone(),
            })
        }
    })
}

fn int_attr(node: &Node, name: &str) -> Option<i64> {
    node.attributes.iter().find_map(|(n, v)| match (n, v) {
        (n, Attr::Int(i)) if n == name => Some(*i),
        _ => None,
    })
}

fn float_attr(node: &Node, name: &str) -> Option<f32> {
    node.attributes.iter().find_map(|(n, v)| match (n, v) {
        (n, Attr::Float(f)) if n == name => Some(*f),
        _ => None,
    })
}

fn group(node: &Node) -> i64 {
    int_attr(node, "group").unwrap_or(1)
}

/// The model as the rewrite wants it; computes what `model` computes.
pub fn prepare(mut model: Model) -> Result<Model, QuantizeError> {
    constants_to_initializers(&mut model);
    drop_identities(&mut model);
    fold_into_convolutions(&mut model);
    let names: std::collections::HashSet<String> =
        model.initializers.iter().map(|i| i.name.clone()).collect();
    for node in &model.nodes {
        role(node, |name| names.contains(name))?;
    }
    model.opset = Some(model.opset.unwrap_or(crate::onnx::OPSET).max(QDQ_OPSET));
    Ok(model)
}

fn constants_to_initializers(model: &mut Model) {
    let mut kept = Vec::with_capacity(model.nodes.len());
    for node in std::mem::take(&mut model.nodes) {
        let value = node
            .attributes
            .iter()
            .find_map(|(name, value)| match value {
                Attr::Tensor(t) if name == "value" => Some(t.clone()),
                _ => None,
            });
        match (node.op_type.as_str(), value, node.outputs.first()) {
            ("Constant", Some(tensor), Some(output)) => model.initializers.push(Initializer {
                name: output.clone(),
                ..tensor
            }),
            _ => kept.push(node),
        }
    }
    model.nodes = kept;
}

/// Identities carry no work but would stand between an operator and its quantisation.
fn drop_identities(model: &mut Model) {
    let outputs: Vec<String> = model.outputs.iter().map(|o| o.name.clone()).collect();
    let inputs: Vec<String> = model.inputs.iter().map(|o| o.name.clone()).collect();
    let mut i = 0;
    while i < model.nodes.len() {
        let node = &model.nodes[i];
        let (Some(from), Some(to)) = (node.inputs.first(), node.outputs.first()) else {
            i += 1;
            continue;
        };
        if node.op_type != "Identity" {
            i += 1;
            continue;
        }
        let (from, to) = (from.clone(), to.clone());
        let produced_here = model.nodes.iter().any(|n| n.outputs.contains(&from));
        let from_used_elsewhere = consumers(model, &from) > 1 || outputs.contains(&from);
        if !outputs.contains(&to) {
            model.nodes.remove(i);
            rename_uses(model, &to, &from);
        } else if produced_here && !from_used_elsewhere && !inputs.contains(&from) {
            // The identity names the graph's output: its producer takes that name.
            model.nodes.remove(i);
            rename_value(model, &from, &to);
        } else {
            i += 1;
        }
    }
}

fn consumers(model: &Model, value: &str) -> usize {
    model
        .nodes
        .iter()
        .flat_map(|n| &n.inputs)
        .filter(|i| *i == value)
        .count()
}

fn rename_uses(model: &mut Model, from: &str, to: &str) {
    for input in model.nodes.iter_mut().flat_map(|n| n.inputs.iter_mut()) {
        if input == from {
            *input = to.into();
        }
    }
}

fn rename_value(model: &mut Model, from: &str, to: &str) {
    rename_uses(model, from, to);
    for output in model.nodes.iter_mut().flat_map(|n| n.outputs.iter_mut()) {
        if output == from {
            *output = to.into();
        }
    }
}

/// A per-output-channel affine `y = a·x + b` that follows a convolution.
struct Affine {
    scale: Vec<f32>,
    shift: Vec<f32>,
}

/// Folds each batch norm, and each `Mul`/`Add` by per-channel constants, that is the only
/// consumer of a convolution's output into the convolution (exact: the affine acts after
/// the zero padding, not before it).
fn fold_into_convolutions(model: &mut Model) {
    loop {
        let found = (0..model.nodes.len()).find_map(|i| foldable(model, i).map(|f| (i, f)));
        let Some((conv, (follower, affine))) = found else {
            return;
        };
        fold(model, conv, follower, affine);
    }
}

fn foldable(model: &Model, conv: usize) -> Option<(usize, Affine)> {
    let node = &model.nodes[conv];
    if node.op_type != "Conv" {
        return None;
    }
    let init = initializers(model);
    let weight = init.get(node.inputs.get(1)?.as_str())?;
    let channels = *weight.dims.first()? as usize;
    let out = node.outputs.first()?;
    if consumers(model, out) != 1 || model.outputs.iter().any(|o| &o.name == out) {
        return None;
    }
    let follower = model.nodes.iter().position(|n| n.inputs.contains(out))?;
    let next = &model.nodes[follower];
    let values = |i: usize| -> Option<Vec<f32>> {
        let t = init.get(next.inputs.get(i)?.as_str())?;
        let TensorData::Float(v) = &t.data else {
            return None;
        };
        // Per channel ([C], [C,1,1], [1,C,1,1]) or one value for all.
        let per_channel = t.dims.iter().filter(|&&d| d != 1).count() <= 1;
        match v.len() {
            1 => Some(vec![v[0]; channels]),
            n if n == channels && per_channel => Some(v.clone()),
            _ => None,
        }
    };
    let affine = match next.op_type.as_str() {
        "BatchNormalization" if next.inputs[0] == *out && next.outputs.len() == 1 => {
            let (gamma, beta, mean, var) = (values(1)?, values(2)?, values(3)?, values(4)?);
            let eps = float_attr(next, "epsilon").unwrap_or(1e-5);
            let scale: Vec<f32> = (0..channels)
                .map(|c| gamma[c] / (var[c] + eps).sqrt())
                .collect();
            let shift = (0..channels)
                .map(|c| beta[c] - mean[c] * scale[c])
                .collect();
            Affine { scale, shift }
        }
        "Mul" | "Add" => {
            let other = usize::from(next.inputs.first() == Some(out));
            let v = values(other)?;
            match next.op_type.as_str() {
                "Mul" => Affine {
                    scale: v,
                    shift: vec![0.0; channels],
                },
                _ => Affine {
                    scale: vec![1.0; channels],
                    shift: v,
                },
            }
        }
        _ => return None,
    };
    Some((follower, affine))
}

fn initializers(model: &Model) -> HashMap<&str, &Initializer> {
    model
        .initializers
        .iter()
        .map(|i| (i.name.as_str(), i))
        .collect()
}

fn fold(model: &mut Model, conv: usize, follower: usize, affine: Affine) {
    let weight_name = model.nodes[conv].inputs[1].clone();
    let bias_name = model.nodes[conv].inputs.get(2).cloned();
    let channels = affine.scale.len();
    let bias = bias_name
        .as_ref()
        .and_then(|b| model.initializers.iter().find(|i| &i.name == b))
        .and_then(|i| match &i.data {
            TensorData::Float(v) => Some(v.clone()),
            _ => None,
        })
        .unwrap_or_else(|| vec![0.0; channels]);
    let (new_weight, new_bias) = (
        format!("{weight_name}/folded"),
        format!("{weight_name}/bias"),
    );
    let Some(w) = model.initializers.iter().find(|i| i.name == weight_name) else {
        return;
    };
    let TensorData::Float(values) = &w.data else {
        return;
    };
    let per = values.len() / channels;
    let scaled: Vec<f32> = values
        .iter()
        .enumerate()
        .map(|(i, v)| v * affine.scale[i / per])
        .collect();
    let dims = w.dims.clone();
    let shifted = (0..channels)
        .map(|c| bias[c] * affine.scale[c] + affine.shift[c])
        .collect();
    model.initializers.push(Initializer {
        name: new_weight.clone(),
        dims,
        data: TensorData::Float(scaled),
    });
    model.initializers.push(Initializer {
        name: new_bias.clone(),
        dims: vec![channels as i64],
        data: TensorData::Float(shifted),
    });
    let output = model.nodes[follower].outputs[0].clone();
    let node = &mut model.nodes[conv];
    node.inputs.truncate(1);
    node.inputs.push(new_weight);
    node.inputs.push(new_bias);
    node.outputs[0] = output;
    model.nodes.remove(follower);
    drop_unused_initializers(model);
}

/// Removes initializers no node reads.
pub fn drop_unused_initializers(model: &mut Model) {
    let used: std::collections::HashSet<&String> =
        model.nodes.iter().flat_map(|n| &n.inputs).collect();
    let keep: Vec<bool> = model
        .initializers
        .iter()
        .map(|i| used.contains(&i.name))
        .collect();
    let mut keep = keep.into_iter();
    model.initializers.retain(|_| keep.next().unwrap_or(true));
}
