//! Nearest ×2 upsampling followed by a "same" convolution, rewritten as one convolution on the
//! small image whose output channels are the four pixel phases, then `DepthToSpace` to put them
//! in place (exact: every output pixel of the original sums the same weights over the same
//! input pixels). The upsampled image is never made, a 4×4 kernel becomes 3×3, and the Resize,
//! slow on bytes in ONNX Runtime, is gone.

use super::graph::{drop_unused_initializers, group, ints_attr, rebuilt, str_attr, Index};
use crate::onnx::{Attr, Initializer, Model, Node, TensorData};

/// Rewrites each nearest-neighbour ×2 upsampling followed by a "same" convolution.
pub(super) fn subpixel_upsampling(model: &mut Model) {
    // One pass: a rewrite puts the phased convolution in its convolution's place, marks the
    // Resize removed and the DepthToSpace to go after it, all made at the end, so the index
    // stays good. No rewrite changes what another looks at (its Resize and convolution).
    let mut index = Index::of(model);
    let mut removed = vec![false; model.nodes.len()];
    let mut inserted: Vec<Option<Node>> = vec![None; model.nodes.len()];
    for resize in 0..model.nodes.len() {
        if let Some(plan) = subpixel_candidate(model, &index, resize) {
            removed[plan.resize] = true;
            let conv = plan.conv;
            inserted[conv] = Some(apply_subpixel(model, &mut index, plan));
        }
    }
    if removed.contains(&true) {
        let nodes = std::mem::take(&mut model.nodes);
        model.nodes = rebuilt(nodes, &removed, inserted);
        drop_unused_initializers(model);
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
        // Only "same" convolutions keep the ×2 size the phases assume; checked sums, since
        // the pads come from the file.
        let same = before.checked_add(after) == k.checked_sub(1);
        if k < 1 || !same || before < 0 || after < 0 {
            return None;
        }
        // With 0 ≤ before < k, every offset below lies within (−k, k): no overflow.
        let offset = |r: i64, tap: i64| (r + tap - before).div_euclid(2);
        let (lo, hi) = (offset(0, 0), offset(1, k - 1));
        let taps = [0, 1].map(|r| {
            (0..k)
                .map(|t| usize::try_from(offset(r, t) - lo))
                .collect::<Result<Vec<_>, _>>()
        });
        let [Ok(even), Ok(odd)] = taps else {
            return None;
        };
        Some(PhaseTaps {
            taps: [even, odd],
            size: usize::try_from(hi - lo + 1).ok()?,
            pads: (-lo, hi),
        })
    }
}

/// One rewrite, checked: everything it needs, read before the graph is touched.
struct SubpixelPlan {
    resize: usize,
    conv: usize,
    /// The Resize's input, the image before upsampling.
    small: String,
    /// The convolution's output, which the `DepthToSpace` takes over.
    out: String,
    /// `[o, i, kh, kw]`.
    shape: [usize; 4],
    weight: Vec<f32>,
    /// One value per output channel (zeros when the convolution has none).
    bias: Vec<f32>,
    rows: PhaseTaps,
    cols: PhaseTaps,
}

fn subpixel_candidate(model: &Model, index: &Index, resize: usize) -> Option<SubpixelPlan> {
    let node = &model.nodes[resize];
    if node.op_type != "Resize" || !nearest_doubling(model, index, node) {
        return None;
    }
    let small = node.inputs.first().filter(|s| !s.is_empty())?;
    let up = node.outputs.first().filter(|u| !u.is_empty())?;
    let [conv] = index.readers(up) else {
        return None;
    };
    let conv = *conv;
    if index.is_output(up) || conv == resize || model.nodes[conv].inputs.first() != Some(up) {
        return None;
    }
    let c = &model.nodes[conv];
    // A convolution without an output (the file can say so) has nothing to rewrite.
    let out = c.outputs.first().filter(|o| !o.is_empty())?;
    let (dims, weight) = index.float_constant(model, c.inputs.get(1)?)?;
    let plain = c.op_type == "Conv"
        && c.outputs.len() == 1
        && group(c) == 1
        && ints_attr(c, "strides").is_none_or(|s| s.iter().all(|&v| v == 1))
        && ints_attr(c, "dilations").is_none_or(|d| d.iter().all(|&v| v == 1))
        && str_attr(c, "auto_pad").is_none_or(|a| a == "NOTSET");
    if !plain {
        return None;
    }
    // `float_constant` checked that the values are the product of the dimensions, so each
    // dimension fits in usize.
    let [o, i, kh, kw] = dims else {
        return None;
    };
    let shape = [*o, *i, *kh, *kw].map(|d| usize::try_from(d).unwrap_or(0));
    if shape.contains(&0) {
        return None;
    }
    let bias = match c.inputs.get(2).filter(|b| !b.is_empty()) {
        Some(name) => {
            let (_, bias) = index.float_constant(model, name)?;
            (bias.len() == shape[0]).then(|| bias.to_vec())?
        }
        None => vec![0.0; shape[0]],
    };
    let pads = ints_attr(c, "pads").unwrap_or(vec![0; 4]);
    let [top, left, bottom, right] = pads[..] else {
        return None;
    };
    let rows = PhaseTaps::of(*kh, top, bottom)?;
    let cols = PhaseTaps::of(*kw, left, right)?;
    // The phased kernel holds 4 · o · i · nh · nw values; nh ≤ kh + 1, so it is at most 16
    // times the old one, but the product is checked rather than trusted.
    [4, shape[0], shape[1], rows.size, cols.size]
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))?;
    Some(SubpixelPlan {
        resize,
        conv,
        small: small.clone(),
        out: out.clone(),
        shape,
        weight: weight.to_vec(),
        bias,
        rows,
        cols,
    })
}

/// Whether `node` (a Resize) doubles height and width by copying each pixel, which is
/// what nearest-neighbour with these coordinate modes does at scale 2.
fn nearest_doubling(model: &Model, index: &Index, node: &Node) -> bool {
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
        .and_then(|name| index.float_constant(model, name));
    let doubled = matches!(scales, Some((_, v)) if v == [1.0, 1.0, 2.0, 2.0]);
    copies && doubled && node.inputs.get(3).is_none_or(|s| s.is_empty())
}

/// Puts the phased convolution in the place of the plan's convolution; the `DepthToSpace`
/// that interleaves its phases, to go after it.
fn apply_subpixel(model: &mut Model, index: &mut Index, plan: SubpixelPlan) -> Node {
    let phased = phased_weights(&plan.weight, plan.shape, &plan);
    let o = plan.shape[0];
    let out = &plan.out;
    let constant = |dims, values| Initializer {
        name: String::new(),
        dims,
        data: TensorData::Float(values),
    };
    let weight_dims = vec![
        4 * o as i64,
        plan.shape[1] as i64,
        plan.rows.size as i64,
        plan.cols.size as i64,
    ];
    let weight = index.add_constant(
        model,
        &format!("{out}/phased_weight"),
        constant(weight_dims, phased),
    );
    let bias_name = index.add_constant(
        model,
        &format!("{out}/phased_bias"),
        constant(vec![4 * o as i64], plan.bias.repeat(4)),
    );
    let phases = index.fresh(&format!("{out}/phases"));
    let inputs = [plan.small.as_str(), &weight, &bias_name];
    let (convolution, shuffle) = phased_nodes(inputs, &phases, out, &plan);
    model.nodes[plan.conv] = convolution;
    shuffle
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
fn phased_nodes(
    [small, weight, bias]: [&str; 3],
    phases: &str,
    out: &str,
    plan: &SubpixelPlan,
) -> (Node, Node) {
    let (nh, nw) = (plan.rows.size, plan.cols.size);
    let convolution = Node::new(
        "Conv",
        &format!("{out}/phased"),
        &[small, weight, bias],
        &[phases],
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
        &[phases],
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
