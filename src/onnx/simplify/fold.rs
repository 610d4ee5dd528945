//! Folding into a convolution the per-channel affine that follows it: a batch norm, or a
//! `Mul`/`Add` by per-channel constants, when it is the convolution's only consumer (exact: the
//! affine acts after the zero padding, not before it).

use super::graph::{consumers, drop_unused_initializers, float_attr, float_values, initializers};
use crate::onnx::{Initializer, Model, TensorData};

/// A per-output-channel affine `y = a·x + b` that follows a convolution.
struct Affine {
    scale: Vec<f32>,
    shift: Vec<f32>,
}

/// Folds each batch norm, and each `Mul`/`Add` by per-channel constants, that is the only
/// consumer of a convolution's output into the convolution.
pub(super) fn fold_into_convolutions(model: &mut Model) {
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
    let whole =
        matches!(&weight.data, TensorData::Float(v) if channels > 0 && v.len() % channels == 0);
    if !whole {
        return None;
    }
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
        "BatchNormalization" if next.inputs.first() == Some(out) && next.outputs.len() == 1 => {
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
        "Mul" | "Add" if next.inputs.len() == 2 && next.outputs.len() == 1 => {
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

fn fold(model: &mut Model, conv: usize, follower: usize, affine: Affine) {
    let weight_name = model.nodes[conv].inputs[1].clone();
    let bias_name = model.nodes[conv].inputs.get(2).cloned();
    let channels = affine.scale.len();
    let bias = bias_name
        .and_then(|b| float_values(model, &b))
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
