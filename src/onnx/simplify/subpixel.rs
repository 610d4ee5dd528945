//! Nearest ×2 upsampling followed by a "same" convolution, rewritten as one convolution on the
//! small image whose output channels are the four pixel phases, then `DepthToSpace` to put them
//! in place (exact: every output pixel of the original sums the same weights over the same
//! input pixels). The upsampled image is never made, a 4×4 kernel becomes 3×3, and the Resize,
//! slow on bytes in ONNX Runtime, is gone.

use super::graph::{
    consumers, drop_unused_initializers, float_values, group, initializers, ints_attr, str_attr,
};
use crate::onnx::{Attr, Initializer, Model, Node, TensorData};

/// Rewrites each nearest-neighbour ×2 upsampling followed by a "same" convolution.
pub(super) fn subpixel_upsampling(model: &mut Model) {
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

/// Replaces the Resize at `resize` and the convolution at `conv` after it by the phased
/// convolution and the `DepthToSpace` that interleaves its phases.
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
    let shape: [usize; 4] = std::array::from_fn(|k| dims[k] as usize);
    let phased = phased_weights(&w, shape, &plan);
    let o = shape[0];
    let bias = c
        .inputs
        .get(2)
        .and_then(|b| float_values(model, b))
        .unwrap_or_else(|| vec![0.0; o]);
    let out = c.outputs[0].clone();
    let (weight, bias_name) = (format!("{out}/phased_weight"), format!("{out}/phased_bias"));
    model.initializers.push(Initializer {
        name: weight.clone(),
        dims: vec![
            4 * o as i64,
            shape[1] as i64,
            plan.rows.size as i64,
            plan.cols.size as i64,
        ],
        data: TensorData::Float(phased),
    });
    model.initializers.push(Initializer {
        name: bias_name.clone(),
        dims: vec![4 * o as i64],
        data: TensorData::Float(bias.repeat(4)),
    });
    let small = model.nodes[resize].inputs[0].clone();
    let (convolution, shuffle) = phased_nodes([&small, &weight, &bias_name], &out, &plan);
    model.nodes[conv] = shuffle;
    model.nodes.insert(conv, convolution);
    model.nodes.remove(resize);
    drop_unused_initializers(model);
}

/// The old kernel `w` (`[o, i, kh, kw]`) as the four phases' kernels, phase-major
/// (`[4·o, i, nh, nw]`): each old tap added into the new tap it lands on in each phase.
fn phased_weights(w: &[f32], [o, i, kh, kw]: [usize; 4], plan: &SubpixelPlan) -> Vec<f32> {
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
    phased
}

/// The phased convolution of `small` (with `weight` and `bias`) and the `DepthToSpace` that
/// makes `out` of its phases.
fn phased_nodes([small, weight, bias]: [&str; 3], out: &str, plan: &SubpixelPlan) -> (Node, Node) {
    let phases = format!("{out}/phases");
    let (nh, nw) = (plan.rows.size, plan.cols.size);
    let convolution = Node::new(
        "Conv",
        &format!("{out}/phased"),
        &[small, weight, bias],
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
        &[out],
    )
    .attr("blocksize", Attr::Int(2))
    .attr("mode", Attr::Str("DCR".into()));
    (convolution, shuffle)
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
