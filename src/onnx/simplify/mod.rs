//! Exact rewrites of a float generator that leave less for the runtime to do: constants
//! made initializers, identities dropped, batch norms and per-channel affines that follow a
//! convolution folded into its weights, and nearest ×2 upsampling followed by a convolution
//! made one convolution on the small image whose output channels are the four pixel phases
//! (`DepthToSpace` puts them in place). Each computes what the model computed, up to float
//! rounding; mimic applies them when it loads a generator and before it quantises one.
//!
//! The graph helpers are in `graph.rs`, the folding into convolutions in `fold.rs`, and the
//! sub-pixel rewrite in `subpixel.rs`.

mod fold;
mod graph;
mod subpixel;

use self::graph::{consumers, rename_uses, rename_value};
pub use self::graph::{drop_unused_initializers, int_attr};
use super::{Attr, Initializer, Model};

/// The first opset with `DepthToSpace`'s `mode`.
const DEPTH_TO_SPACE_MODE: i64 = 11;

/// `model` with every exact rewrite applied.
pub fn simplify(mut model: Model) -> Model {
    constants_to_initializers(&mut model);
    drop_identities(&mut model);
    fold::fold_into_convolutions(&mut model);
    if model.opset.unwrap_or(super::OPSET) >= DEPTH_TO_SPACE_MODE {
        subpixel::subpixel_upsampling(&mut model);
    }
    model
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
