//! Exact rewrites of a float generator that leave less for the runtime to do: constants
//! made initializers, identities dropped, batch norms and per-channel affines that follow a
//! convolution folded into its weights, and nearest ×2 upsampling followed by a convolution
//! made one convolution on the small image whose output channels are the four pixel phases
//! (`DepthToSpace` puts them in place). Each computes what the model computed, up to float
//! rounding; mimic applies them when it loads a generator and before it quantises one.

use std::collections::{HashMap, HashSet};

use super::{Attr, Initializer, Model, Node, TensorData};

/// The first opset with `DepthToSpace`'s `mode`.
const DEPTH_TO_SPACE_MODE: i64 = 11;

/// `model` with every exact rewrite applied.
pub fn simplify(mut model: Model) -> Model {
    constants_to_initializers(&mut model);
    drop_identities(&mut model);
    fold_into_convolutions(&mut model);
    if model.opset.unwrap_or(super::OPSET) >= DEPTH_TO_SPACE_MODE {
        subpixel_upsampling(&mut model);
    }
    model
}

pub fn int_attr(node: &Node, name: &str) -> Option<i64> {
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
    let used: HashSet<&String> = model.nodes.iter().flat_map(|n| &n.inputs).collect();
    let keep: Vec<bool> = model
        .initializers
        .iter()
        .map(|i| used.contains(&i.name))
        .collect();
    let mut keep = keep.into_iter();
    model.initializers.retain(|_| keep.next().unwrap_or(true));
}

fn str_attr<'a>(node: &'a Node, name: &str) -> Option<&'a str> {
    node.attributes.iter().find_map(|(n, v)| match (n, v) {
        (n, Attr::Str(s)) if n == name => Some(s.as_str()),
        _ => None,
    })
}

fn ints_attr(node: &Node, name: &str) -> Option<Vec<i64>> {
    node.attributes.iter().find_map(|(n, v)| match (n, v) {
        (n, Attr::Ints(i)) if n == name => Some(i.clone()),
        _ => None,
    })
}

/// Rewrites each nearest-neighbour ×2 upsampling followed by a "same" convolution as one
/// convolution on the small image with four times the output channels, whose channel
/// groups are the four pixel phases, then `DepthToSpace` (exact: every output pixel of the
/// original sums the same weights over the same input pixels). The upsampled image is never
/// made, a 4×4 kernel becomes 3×3, and the Resize — slow on bytes in ONNX Runtime — is gone.
fn subpixel_upsampling(model: &mut Model) {
    while let Some((resize, conv, plan)) =
        (0..model.nodes.len()).find_map(|i| subpixel_candidate(model, i))
    {
        apply_subpixel(model, resize, conv, plan);
    }
}

/// The new kernel of one axis: for output phase `r`, which new tap each old tap adds into.
#[derive(Debug, Clone)]
struct PhaseTaps {
    /// `taps[r][k]`: the new tap (0…size) of old tap `k` in phase `r`.
    taps: [Vec<usize>; 2],
    size: usize,
    /// Padding of the new convolution before and after.
    pads: (i64, i64),
}

impl PhaseTaps {
    /// For a kernel of `k` taps padded `before`/`after` on the upsampled axis, where
    /// output pixel `2m + r` reads input pixel `m + floor((r + tap − before) / 2)`.
    fn of(k: i64, before: i64, after: i64) -> Option<PhaseTaps> {
        if k < 1 || before + after != k - 1 || before < 0 || after < 0 {
            return None; // only "same" convolutions keep the ×2 size the phases assume
        }
        let offset = |r: i64, tap: i64| (r + tap - before).div_euclid(2);
        let (lo, hi) = (offset(0, 0), offset(1, k - 1));
        let taps = [0, 1].map(|r| (0..k).map(|t| (offset(r, t) - lo) as usize).collect());
        Some(PhaseTaps {
            taps,
            size: (hi - lo + 1) as usize,
            pads: (-lo, hi),
        })
    }
}

struct SubpixelPlan {
    rows: PhaseTaps,
    cols: PhaseTaps,
}

fn subpixel_candidate(model: &Model, resize: usize) -> Option<(usize, usize, SubpixelPlan)> {
    let node = &model.nodes[resize];
    if node.op_type != "Resize" || !nearest_doubling(model, node) {
        return None;
    }
    let up = node.outputs.first()?;
    if consumers(model, up) != 1 || model.outputs.iter().any(|o| &o.name == up) {
        return None;
    }
    let conv = model
        .nodes
        .iter()
        .position(|n| n.inputs.first() == Some(up))?;
    let c = &model.nodes[conv];
    let init = initializers(model);
    let weight = init.get(c.inputs.get(1)?.as_str())?;
    let plain = c.op_type == "Conv"
        && group(c) == 1
        && ints_attr(c, "strides").is_none_or(|s| s.iter().all(|&v| v == 1))
        && ints_attr(c, "dilations").is_none_or(|d| d.iter().all(|&v| v == 1))
        && str_attr(c, "auto_pad").is_none_or(|a| a == "NOTSET")
        && weight.dims.len() == 4
        && weight.dims.iter().all(|&d| d > 0)
        && matches!(&weight.data, TensorData::Float(v) if v.len() as i64 == weight.dims.iter().product::<i64>());
    if !plain {
        return None;
    }
    let pads = ints_attr(c, "pads").unwrap_or(vec![0; 4]);
    if pads.len() != 4 {
        return None;
    }
    let (kh, kw) = (weight.dims[2], weight.dims[3]);
    let rows = PhaseTaps::of(kh, pads[0], pads[2])?;
    let cols = PhaseTaps::of(kw, pads[1], pads[3])?;
    Some((resize, conv, SubpixelPlan { rows, cols }))
}

/// Whether `node` (a Resize) doubles height and width by copying each pixel, which is
/// what nearest-neighbour with these coordinate modes does at scale 2.
fn nearest_doubling(model: &Model, node: &Node) -> bool {
    let mode = str_attr(node, "mode").unwrap_or("nearest");
    let coordinates = str_attr(node, "coordinate_transformation_mode").unwrap_or("half_pixel");
    let rounding = str_attr(node, "nearest_mode").unwrap_or("round_prefer_floor");
    let copies = mode == "nearest"
        && matches!(
            coordinates,
            "half_pixel" | "pytorch_half_pixel" | "asymmetric"
        )
        && matches!(rounding, "floor" | "round_prefer_floor");
    let scales = node
        .inputs
        .get(2)
        .and_then(|name| model.initializers.iter().find(|i| &i.name == name));
    let doubled = matches!(scales, Some(Initializer { data: TensorData::Float(v), .. }) if v == &[1.0, 1.0, 2.0, 2.0]);
    copies && doubled && node.inputs.get(3).is_none_or(|s| s.is_empty())
}

fn apply_subpixel(model: &mut Model, resize: usize, conv: usize, plan: SubpixelPlan) {
    let c = model.nodes[conv].clone();
    let Some(Initializer {
        dims,
        data: TensorData::Float(w),
        ..
    }) = model
        .initializers
        .iter()
        .find(|i| i.name == c.inputs[1])
        .cloned()
    else {
        return;
    };
    let (o, i, kh, kw) = (
        dims[0] as usize,
        dims[1] as usize,
        dims[2] as usize,
        dims[3] as usize,
    );
    let (nh, nw) = (plan.rows.size, plan.cols.size);
    let mut phased = vec![0f32; 4 * o * i * nh * nw];
    for (ry, rx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        let phase = ry * 2 + rx;
        for oc in 0..o {
            for ic in 0..i {
                for ky in 0..kh {
                    for kx in 0..kw {
                        let (ty, tx) = (plan.rows.taps[ry][ky], plan.cols.taps[rx][kx]);
                        let to = (((phase * o + oc) * i + ic) * nh + ty) * nw + tx;
                        phased[to] += w[((oc * i + ic) * kh + ky) * kw + kx];
                    }
                }
            }
        }
    }
    let bias = c
        .inputs
        .get(2)
        .and_then(|b| model.initializers.iter().find(|x| &x.name == b))
        .and_then(|b| match &b.data {
            TensorData::Float(v) => Some(v.clone()),
            _ => None,
        })
        .unwrap_or_else(|| vec![0.0; o]);
    let out = c.outputs[0].clone();
    let (weight, bias_name, phases) = (
        format!("{out}/phased_weight"),
        format!("{out}/phased_bias"),
        format!("{out}/phases"),
    );
    model.initializers.push(Initializer {
        name: weight.clone(),
        dims: vec![4 * o as i64, i as i64, nh as i64, nw as i64],
        data: TensorData::Float(phased),
    });
    model.initializers.push(Initializer {
        name: bias_name.clone(),
        dims: vec![4 * o as i64],
        data: TensorData::Float(bias.repeat(4)),
    });
    let small = model.nodes[resize].inputs[0].clone();
    let convolution = Node::new(
        "Conv",
        &format!("{out}/phased"),
        &[&small, &weight, &bias_name],
        &[&phases],
    )
    .attr("kernel_shape", Attr::Ints(vec![nh as i64, nw as i64]))
    .attr(
        "pads",
        Attr::Ints(vec![
            plan.rows.pads.0,
            plan.cols.pads.0,
            plan.rows.pads.1,
            plan.cols.pads.1,
        ]),
    );
    let shuffle = Node::new(
        "DepthToSpace",
        &format!("{out}/interleave"),
        &[&phases],
        &[&out],
    )
    .attr("blocksize", Attr::Int(2))
    .attr("mode", Attr::Str("DCR".into()));
    model.nodes[conv] = shuffle;
    model.nodes.insert(conv, convolution);
    model.nodes.remove(resize);
    drop_unused_initializers(model);
}

#[cfg(test)]
mod tests {
    use super::PhaseTaps;

    #[test]
    fn a_keras_same_4x4_kernel_becomes_3x3_phases() {
        // Pads 1 before, 2 after: even outputs read input rows m−1, m, m, m+1; odd ones
        // m, m, m+1, m+1.
        let taps = PhaseTaps::of(4, 1, 2).unwrap();
        assert_eq!(taps.size, 3);
        assert_eq!(taps.pads, (1, 1));
        assert_eq!(taps.taps, [vec![0, 1, 1, 2], vec![1, 1, 2, 2]]);
    }

    #[test]
    fn only_same_size_convolutions_are_rewritten() {
        assert!(PhaseTaps::of(3, 1, 1).is_some());
        assert!(PhaseTaps::of(5, 2, 2).is_some());
        assert!(PhaseTaps::of(3, 0, 0).is_none());
        assert!(PhaseTaps::of(4, 2, 2).is_none());
    }
}
