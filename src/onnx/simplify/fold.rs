//! Folding into a convolution the per-channel affine that follows it: a batch norm, or a
//! `Mul`/`Add` by per-channel constants, when it is the convolution's only consumer (exact: the
//! affine acts after the zero padding, not before it).
//!
//! Everything a fold needs is read and checked before the graph is touched, so a fold either
//! happens whole or not at all: a weight whose first dimension is not a channel count, a bias
//! that is not one value per channel, or a constant that does not broadcast per channel leaves
//! the convolution as it is.

use super::graph::{drop_unused_initializers, float_attr, int_attr, rebuilt, Index};
use crate::onnx::{Initializer, Model, TensorData};

/// A per-output-channel affine `y = a·x + b` that follows a convolution.
struct Affine {
    scale: Vec<f32>,
    shift: Vec<f32>,
}

/// One fold, checked: the convolution at `conv` takes the weights and bias below and the
/// output of the node at `follower`, which goes.
struct Fold {
    conv: usize,
    follower: usize,
    weight_name: String,
    weight_dims: Vec<i64>,
    weight: Vec<f32>,
    /// One value per output channel (zeros when the convolution has none).
    bias: Vec<f32>,
    affine: Affine,
    output: String,
}

/// Folds each batch norm, and each `Mul`/`Add` by per-channel constants, that is the only
/// consumer of a convolution's output into the convolution.
pub(super) fn fold_into_convolutions(model: &mut Model) {
    // One pass: the nodes a fold removes are only marked, so the index stays good, and a
    // convolution takes each affine of a chain after it in turn (its output is then its
    // follower's, whose readers the index knows). A fold changes only its convolution, the
    // node it removes and new constants, so no other convolution's fold changes.
    let mut index = Index::of(model);
    let mut removed = vec![false; model.nodes.len()];
    for conv in 0..model.nodes.len() {
        // Each fold removes a node, so this ends.
        while let Some(found) = foldable(model, &index, conv) {
            removed[found.follower] = true;
            fold(model, &mut index, found);
        }
    }
    if removed.contains(&true) {
        let nodes = std::mem::take(&mut model.nodes);
        model.nodes = rebuilt(nodes, &removed, Vec::new());
        drop_unused_initializers(model);
    }
}

fn foldable(model: &Model, index: &Index, conv: usize) -> Option<Fold> {
    let node = &model.nodes[conv];
    if node.op_type != "Conv" {
        return None;
    }
    let weight_name = node.inputs.get(1)?;
    let (weight_dims, weight) = index.float_constant(model, weight_name)?;
    // A negative or zero channel count is no convolution weight (and a negative one cast to
    // usize would ask for a vector of 2⁶⁴ values below).
    let channels = usize::try_from(*weight_dims.first()?)
        .ok()
        .filter(|&c| c > 0)?;
    let bias = match node.inputs.get(2).filter(|b| !b.is_empty()) {
        Some(name) => {
            let (_, bias) = index.float_constant(model, name)?;
            (bias.len() == channels).then(|| bias.to_vec())?
        }
        None => vec![0.0; channels],
    };
    let out = node.outputs.first().filter(|o| !o.is_empty())?;
    let [follower] = index.readers(out) else {
        return None;
    };
    let follower = *follower;
    if index.is_output(out) || follower == conv {
        return None;
    }
    let next = &model.nodes[follower];
    let output = next.outputs.first().filter(|o| !o.is_empty())?;
    if next.outputs.len() != 1 {
        return None;
    }
    let affine = match next.op_type.as_str() {
        "BatchNormalization" if next.inputs.first() == Some(out) && batch_norm_at_rest(next) => {
            // Scale, bias, mean and variance: one value per channel each.
            let per_channel = |i: usize| -> Option<&[f32]> {
                let (_, v) = index.float_constant(model, next.inputs.get(i)?)?;
                (v.len() == channels).then_some(v)
            };
            let (gamma, beta) = (per_channel(1)?, per_channel(2)?);
            let (mean, var) = (per_channel(3)?, per_channel(4)?);
            let eps = float_attr(next, "epsilon").unwrap_or(1e-5);
            let scale: Vec<f32> = (0..channels)
                .map(|c| gamma[c] / (var[c] + eps).sqrt())
                .collect();
            let shift = (0..channels)
                .map(|c| beta[c] - mean[c] * scale[c])
                .collect();
            Affine { scale, shift }
        }
        "Mul" | "Add" if next.inputs.len() == 2 => {
            let other = usize::from(next.inputs.first() == Some(out));
            let (dims, v) = index.float_constant(model, &next.inputs[other])?;
            let v = broadcast_per_channel(dims, v, channels, weight_dims.len())?;
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
    Some(Fold {
        conv,
        follower,
        weight_name: weight_name.clone(),
        weight_dims: weight_dims.to_vec(),
        weight: weight.to_vec(),
        bias,
        affine,
        output: output.clone(),
    })
}

/// Whether a batch norm normalises by its stored statistics, one pair per channel (not in
/// training mode, and not the per-element kind opsets before 9 allowed).
fn batch_norm_at_rest(node: &crate::onnx::Node) -> bool {
    int_attr(node, "training_mode").unwrap_or(0) == 0 && int_attr(node, "spatial").unwrap_or(1) == 1
}

/// The `channels` values a constant of `dims` adds or multiplies into each channel of a
/// convolution's output of rank `rank` (`[N, C, …]`), if it does: one value for all, or one
/// per channel along the channel axis after numpy broadcasting (`[C, 1, 1]`, `[1, C, 1, 1]`;
/// not `[C]`, which would run along the last axis). A constant of higher rank than the
/// output would change the output's shape, so it is not folded.
fn broadcast_per_channel(
    dims: &[i64],
    v: &[f32],
    channels: usize,
    rank: usize,
) -> Option<Vec<f32>> {
    if dims.len() > rank {
        return None;
    }
    if v.len() == 1 {
        return Some(vec![v[0]; channels]);
    }
    // The output's channel axis (1) seen from the constant, aligned on the right.
    let axis = (dims.len() + 1).checked_sub(rank)?;
    let per_channel = dims.iter().enumerate().all(|(i, &d)| match i == axis {
        true => usize::try_from(d) == Ok(channels),
        false => d == 1,
    });
    per_channel.then(|| v.to_vec())
}

fn fold(model: &mut Model, index: &mut Index, fold: Fold) {
    let Fold {
        conv,
        follower: _,
        weight_name,
        weight_dims,
        weight,
        bias,
        affine,
        output,
    } = fold;
    let channels = affine.scale.len();
    // `foldable` checked that the weight holds whole channels (its first dimension is the
    // channel count and its values are the product of its dimensions).
    let per = weight.len() / channels;
    let scaled: Vec<f32> = weight
        .iter()
        .enumerate()
        .map(|(i, v)| v * affine.scale[i / per])
        .collect();
    let shifted = (0..channels)
        .map(|c| bias[c] * affine.scale[c] + affine.shift[c])
        .collect();
    let constant = |dims, values| Initializer {
        name: String::new(),
        dims,
        data: TensorData::Float(values),
    };
    let new_weight = index.add_constant(
        model,
        &format!("{weight_name}/folded"),
        constant(weight_dims, scaled),
    );
    let new_bias = index.add_constant(
        model,
        &format!("{weight_name}/bias"),
        constant(vec![channels as i64], shifted),
    );
    let node = &mut model.nodes[conv];
    node.inputs.truncate(1);
    node.inputs.push(new_weight);
    node.inputs.push(new_bias);
    node.outputs[0] = output;
}

#[cfg(test)]
mod tests {
    use super::broadcast_per_channel;

    #[test]
    fn only_constants_along_the_channel_axis_are_per_channel() {
        let v = [1.0, 2.0, 3.0];
        assert!(broadcast_per_channel(&[3, 1, 1], &v, 3, 4).is_some());
        assert!(broadcast_per_channel(&[1, 3, 1, 1], &v, 3, 4).is_some());
        // [C] broadcasts along the width, and a rank-5 constant makes a rank-5 output.
        assert!(broadcast_per_channel(&[3], &v, 3, 4).is_none());
        assert!(broadcast_per_channel(&[1, 1, 3, 1, 1], &v, 3, 4).is_none());
        assert!(broadcast_per_channel(&[3, 1, 1], &v, 4, 4).is_none());
        assert_eq!(
            broadcast_per_channel(&[1], &[5.0], 3, 4),
            Some(vec![5.0; 3])
        );
    }
}
