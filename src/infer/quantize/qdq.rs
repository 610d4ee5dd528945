//! The QDQ rewrite: which values are quantised, and the graph with a QuantizeLinear →
//! DequantizeLinear pair on each of them and integer weights behind a DequantizeLinear, the
//! form ONNX Runtime recognises and fuses into its integer kernels (QLinearConv,
//! QLinearLeakyRelu, QLinearConcat, Resize on bytes).

use std::collections::{HashMap, HashSet};

use super::graph::{role, Role};
use super::QuantizeError;
use crate::onnx::simplify::drop_unused_initializers;
use crate::onnx::{element_count, Attr, Initializer, Model, Node, TensorData};

/// The largest magnitude of a symmetric int8 weight (−127…127: the product of two
/// −128s cannot overflow the kernels' 16-bit pair sums).
const WEIGHT_LEVELS: f32 = 127.0;

/// Which activations get quantised, and which share another's parameters.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Values with their own calibrated range, in graph order.
    pub observed: Vec<String>,
    /// Values that take the parameters of another (a Resize's output: ONNX Runtime runs the
    /// Resize on bytes only if its input and output are quantised alike).
    pub shared: HashMap<String, String>,
    /// Values that are never negative (a Relu's output), whose zero point is 0.
    pub rectified: HashSet<String>,
}

/// An activation's quantisation: `real = (q − zero_point) · scale`, `q` in 0…255.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub scale: f32,
    pub zero_point: u8,
}

impl Params {
    /// The parameters that cover `[lo, hi]` (widened to hold 0, which must be exact).
    pub fn covering(lo: f32, hi: f32) -> Params {
        let (lo, hi) = (lo.min(0.0), hi.max(0.0));
        let scale = ((hi - lo) / 255.0).max(1e-8);
        Params {
            scale,
            zero_point: (-lo / scale).round().clamp(0.0, 255.0) as u8,
        }
    }
}

impl Plan {
    /// The values of `model` (prepared) to quantise: every input and output of an
    /// operator with an integer kernel, the inputs of a Relu aside (it vanishes into its
    /// output's quantisation), and an output of the graph only if an integer kernel
    /// writes it.
    pub fn of(model: &Model) -> Result<Plan, QuantizeError> {
        let constants: HashSet<&str> = model.initializers.iter().map(|i| i.name.as_str()).collect();
        let is_constant = |name: &str| constants.contains(name);
        let mut roles = Vec::with_capacity(model.nodes.len());
        for node in &model.nodes {
            roles.push(role(node, is_constant)?);
        }
        let mut uses: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, node) in model.nodes.iter().enumerate() {
            for input in &node.inputs {
                uses.entry(input.as_str()).or_default().push(i);
            }
        }
        let integer = |r: Role| !matches!(r, Role::Float);
        let mut wanted: Vec<String> = Vec::new();
        let mut seen = HashSet::new();
        let want = |wanted: &mut Vec<String>, seen: &mut HashSet<String>, value: &str| {
            if seen.insert(value.to_string()) {
                wanted.push(value.to_string());
            }
        };
        for input in &model.inputs {
            let used = uses
                .get(input.name.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            if used
                .iter()
                .any(|&u| data_input(&model.nodes[u], &input.name) && integer(roles[u]))
            {
                want(&mut wanted, &mut seen, &input.name);
            }
        }
        let mut rectified = HashSet::new();
        let mut shared = HashMap::new();
        for (i, node) in model.nodes.iter().enumerate() {
            let Some(out) = node.outputs.first() else {
                continue;
            };
            let used = uses.get(out.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            let feeds_integer = used
                .iter()
                .any(|&u| data_input(&model.nodes[u], out) && integer(roles[u]));
            let only_relu = !used.is_empty()
                && used.iter().all(|&u| roles[u] == Role::Rectifier)
                && !model.outputs.iter().any(|o| &o.name == out);
            let quantise = (integer(roles[i]) || feeds_integer) && !only_relu;
            if !quantise {
                continue;
            }
            if roles[i] == Role::Rectifier {
                rectified.insert(out.clone());
            }
            let moves_bytes = matches!(node.op_type.as_str(), "Resize" | "DepthToSpace");
            if moves_bytes && node.inputs.first().is_some_and(|x| seen.contains(x)) {
                shared.insert(out.clone(), node.inputs[0].clone());
                seen.insert(out.clone());
                continue;
            }
            want(&mut wanted, &mut seen, out);
        }
        Ok(Plan {
            observed: wanted,
            shared,
            rectified,
        })
    }

    /// The parameters of every quantised value, given those of the observed ones.
    pub fn params(&self, observed: &HashMap<String, Params>) -> HashMap<String, Params> {
        let mut all = observed.clone();
        for (value, source) in &self.shared {
            if let Some(p) = observed.get(source) {
                all.insert(value.clone(), *p);
            }
        }
        all
    }
}

/// Whether `value` is one of `node`'s data inputs (not its weights, shapes or scales).
fn data_input(node: &Node, value: &str) -> bool {
    match node.op_type.as_str() {
        "Concat" | "Add" | "Mul" => true,
        _ => node.inputs.first().is_some_and(|i| i == value),
    }
}

/// `model` (prepared) with a quantise/dequantise pair on each value of `params` and its
/// weighted operators' weights in int8 (biases in int32).
pub fn rewrite(model: &Model, params: &HashMap<String, Params>) -> Result<Model, QuantizeError> {
    let mut out = Model {
        nodes: Vec::with_capacity(model.nodes.len() * 3),
        ..model.clone()
    };
    let constants: HashSet<String> = model.initializers.iter().map(|i| i.name.clone()).collect();
    let graph_outputs: HashSet<&str> = model.outputs.iter().map(|o| o.name.as_str()).collect();
    // A quantised value is read by its consumers through its dequantised copy; a graph
    // output keeps its name on that copy and its producer writes a float value beside it.
    let dequantised = |value: &str| match graph_outputs.contains(value) {
        true => value.to_string(),
        false => format!("{value}/dq"),
    };
    let written = |value: &str| match graph_outputs.contains(value) {
        true => format!("{value}/float"),
        false => value.to_string(),
    };
    for input in &model.inputs {
        if let Some(p) = params.get(&input.name) {
            add_pair(&mut out, &input.name, &dequantised(&input.name), *p);
        }
    }
    for node in &model.nodes {
        let mut node = node.clone();
        let role = role(&node, |n| constants.contains(n))?;
        if let Role::Weighted { axis } = role {
            let x = node.inputs[0].clone();
            let Some(x_params) = params.get(&x) else {
                return Err(QuantizeError::Internal(format!(
                    "the input of '{}' has no calibrated range",
                    node.name
                )));
            };
            quantise_weights(&mut out, &mut node, axis, x_params.scale)?;
        }
        for input in node.inputs.iter_mut() {
            if params.contains_key(input.as_str()) {
                *input = dequantised(input);
            }
        }
        let quantised_outputs: Vec<(String, Params)> = node
            .outputs
            .iter()
            .filter_map(|o| params.get(o).map(|p| (o.clone(), *p)))
            .collect();
        for output in node.outputs.iter_mut() {
            if params.contains_key(output.as_str()) {
                *output = written(output);
            }
        }
        out.nodes.push(node);
        for (value, p) in quantised_outputs {
            add_pair(&mut out, &written(&value), &dequantised(&value), p);
        }
    }
    drop_unused_initializers(&mut out);
    Ok(out)
}

fn add_pair(model: &mut Model, value: &str, dequantised: &str, p: Params) {
    let (scale, zero, q) = (
        format!("{value}/scale"),
        format!("{value}/zero"),
        format!("{value}/q"),
    );
    model
        .initializers
        .push(scalar(&scale, TensorData::Float(vec![p.scale])));
    model
        .initializers
        .push(scalar(&zero, TensorData::Uint8(vec![p.zero_point])));
    model.nodes.push(Node::new(
        "QuantizeLinear",
        &format!("{value}/quantise"),
        &[value, &scale, &zero],
        &[&q],
    ));
    model.nodes.push(Node::new(
        "DequantizeLinear",
        &format!("{value}/dequantise"),
        &[&q, &scale, &zero],
        &[dequantised],
    ));
}

fn scalar(name: &str, data: TensorData) -> Initializer {
    Initializer {
        name: name.into(),
        dims: vec![],
        data,
    }
}

/// Replaces `node`'s float weights (and bias) by int8 (int32) ones behind a
/// DequantizeLinear: symmetric, one scale per output channel along `axis`; the bias's
/// scale is the input's times the weight's, as the integer kernels accumulate.
fn quantise_weights(
    model: &mut Model,
    node: &mut Node,
    axis: usize,
    input_scale: f32,
) -> Result<(), QuantizeError> {
    let weight = float_initializer(model, &node.inputs[1])?;
    // Counted with checked products: the dimensions come from the file.
    let whole = element_count(&weight.dims) == Some(weight.values.len());
    let channels = weight.dims.get(axis).and_then(|&d| usize::try_from(d).ok());
    let inner = weight.dims.get(axis + 1..).and_then(element_count);
    let (true, Some(channels @ 1..), Some(inner)) = (whole, channels, inner) else {
        return Err(QuantizeError::Internal(format!(
            "the weights of '{}' do not match their shape {:?}",
            node.name, weight.dims
        )));
    };
    let channel_of = |i: usize| (i / inner) % channels;
    let mut peak = vec![0f32; channels];
    for (i, v) in weight.values.iter().enumerate() {
        let c = channel_of(i);
        peak[c] = peak[c].max(v.abs());
    }
    let scales: Vec<f32> = peak
        .iter()
        .map(|&m| if m > 0.0 { m / WEIGHT_LEVELS } else { 1.0 })
        .collect();
    let q: Vec<i8> = weight
        .values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            (v / scales[channel_of(i)])
                .round()
                .clamp(-WEIGHT_LEVELS, WEIGHT_LEVELS) as i8
        })
        .collect();
    // Named after the node's output, which is unique where node names need not be.
    let owner = node.outputs.first().cloned().unwrap_or_default();
    let name = format!("{owner}/{}", node.inputs[1]);
    let dequantised = add_dequantised(
        model,
        &name,
        weight.dims.clone(),
        TensorData::Int8(q),
        &scales,
        TensorData::Int8(vec![0; channels]),
        axis,
    );
    node.inputs[1] = dequantised;
    if let Some(bias_name) = node.inputs.get(2).filter(|b| !b.is_empty()).cloned() {
        let bias = float_initializer(model, &bias_name)?;
        if bias.values.len() != channels {
            return Err(QuantizeError::Internal(format!(
                "the bias of '{}' has {} values for {channels} channels",
                node.name,
                bias.values.len()
            )));
        }
        let bias_scales: Vec<f32> = scales.iter().map(|s| s * input_scale).collect();
        let q: Vec<i32> = bias
            .values
            .iter()
            .zip(&bias_scales)
            .map(|(b, s)| (b / s).round().clamp(i32::MIN as f32, i32::MAX as f32) as i32)
            .collect();
        let name = format!("{owner}/{bias_name}");
        node.inputs[2] = add_dequantised(
            model,
            &name,
            vec![channels as i64],
            TensorData::Int32(q),
            &bias_scales,
            TensorData::Int32(vec![0; channels]),
            0,
        );
    }
    Ok(())
}

struct FloatTensor {
    dims: Vec<i64>,
    values: Vec<f32>,
}

fn float_initializer(model: &Model, name: &str) -> Result<FloatTensor, QuantizeError> {
    match model.initializers.iter().find(|i| i.name == name) {
        Some(Initializer {
            dims,
            data: TensorData::Float(values),
            ..
        }) => Ok(FloatTensor {
            dims: dims.clone(),
            values: values.clone(),
        }),
        _ => Err(QuantizeError::Internal(format!(
            "weights '{name}' are not a float constant"
        ))),
    }
}

/// Adds the integer tensor `name`/q, its scales and zero points, and the DequantizeLinear
/// that reads them along `axis`; returns the dequantised value's name.
fn add_dequantised(
    model: &mut Model,
    name: &str,
    dims: Vec<i64>,
    data: TensorData,
    scales: &[f32],
    zeros: TensorData,
    axis: usize,
) -> String {
    let n = scales.len() as i64;
    let (q, scale, zero, dq) = (
        format!("{name}/q"),
        format!("{name}/scale"),
        format!("{name}/zero"),
        format!("{name}/dq"),
    );
    model.initializers.push(Initializer {
        name: q.clone(),
        dims,
        data,
    });
    model.initializers.push(Initializer {
        name: scale.clone(),
        dims: vec![n],
        data: TensorData::Float(scales.to_vec()),
    });
    model.initializers.push(Initializer {
        name: zero.clone(),
        dims: vec![n],
        data: zeros,
    });
    model.nodes.push(
        Node::new(
            "DequantizeLinear",
            &format!("{name}/dequantise"),
            &[&q, &scale, &zero],
            &[&dq],
        )
        .attr("axis", Attr::Int(axis as i64)),
    );
    dq
}

#[cfg(test)]
mod tests {
    use super::Params;

    #[test]
    fn zero_is_exact_and_the_range_is_covered() {
        let p = Params::covering(-1.0, 3.0);
        assert_eq!(p.zero_point, 64);
        assert!((p.scale * 255.0 - 4.0).abs() < 1e-5);
        // A range that does not hold 0 is widened to it (padding and ReLU need 0 exact).
        assert_eq!(Params::covering(0.5, 2.0).zero_point, 0);
        assert_eq!(Params::covering(-2.0, -0.5).zero_point, 255);
    }
}
