//! The float graph made ready for quantisation: simplified as every generator is
//! ([`crate::onnx::simplify`]), each operator sorted by how the rewrite treats it (unknown
//! ones refused by name), and the opset raised to one with per-axis quantisation.

use super::QuantizeError;
use crate::onnx::simplify::{int_attr, simplify};
use crate::onnx::{Model, Node};

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
    "Slice",
    "DepthToSpace",
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
    // ONNX Runtime's CPU provider has no integer kernel for it: quantised, it would run in
    // float on weights dequantised at every call.
    "ConvTranspose",
];

/// `node`'s role, or the sentence that it cannot be quantised.
pub fn role(node: &Node, constant: impl Fn(&str) -> bool) -> Result<Role, QuantizeError> {
    let op = node.op_type.as_str();
    let weighted = node.inputs.get(1).is_some_and(|w| constant(w));
    Ok(match op {
        "Conv" if weighted => Role::Weighted { axis: 0 },
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

/// The model as the rewrite wants it; computes what `model` computes.
pub fn prepare(mut model: Model) -> Result<Model, QuantizeError> {
    model = simplify(model);
    let names: std::collections::HashSet<String> =
        model.initializers.iter().map(|i| i.name.clone()).collect();
    for node in &model.nodes {
        role(node, |name| names.contains(name))?;
    }
    model.opset = Some(model.opset.unwrap_or(crate::onnx::OPSET).max(QDQ_OPSET));
    Ok(model)
}
