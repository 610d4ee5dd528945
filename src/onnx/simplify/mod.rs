//! Exact rewrites of a float generator that leave less for the runtime to do: constants
//! made initializers, identities dropped, batch norms and per-channel affines that follow a
//! convolution folded into its weights, and nearest ×2 upsampling followed by a convolution
//! made one convolution on the small image whose output channels are the four pixel phases
//! (`DepthToSpace` puts them in place). Each computes what the model computed, up to float
//! rounding; mimic applies them when it loads a generator and before it quantises one.
//!
//! The graph helpers are in `graph.rs`, the folding into convolutions in `fold.rs`, and the
//! sub-pixel rewrite in `subpixel.rs`.
//!
//! A model comes from a file, which can say anything: a graph that is not well formed (a
//! tensor whose values its dimensions do not describe, two constants of one name, a value
//! made twice) is left as it is, for ONNX Runtime to load or refuse with its own reason, and
//! each rewrite leaves alone what it cannot make sense of (a bias that is not one value per
//! channel, a convolution without output).

mod fold;
mod graph;
mod subpixel;

use std::collections::HashSet;

use self::graph::{consumers, rename_uses, rename_value};
pub use self::graph::{drop_unused_initializers, int_attr};
use super::{Attr, Initializer, Model};

/// The first opset with `DepthToSpace`'s `mode`.
const DEPTH_TO_SPACE_MODE: i64 = 11;

/// The most nodes a graph may have to be simplified. The rewrites look a value's readers up
/// by going through the graph, so their time grows with the square of its size: a second
/// or so at this size, where generators have hundreds. A larger graph is left as it is.
const MAX_NODES: usize = 10_000;

/// `model` with every exact rewrite applied; as it is when it is not well formed or larger
/// than [`MAX_NODES`].
pub fn simplify(mut model: Model) -> Model {
    if model.nodes.len() > MAX_NODES {
        tracing::debug!(
            "the graph is left as it is: {} nodes, more than the {MAX_NODES} simplified",
            model.nodes.len()
        );
        return model;
    }
    if let Err(reason) = well_formed(&model) {
        tracing::debug!("the graph is left as it is: {reason}");
        return model;
    }
    constants_to_initializers(&mut model);
    drop_identities(&mut model);
    fold::fold_into_convolutions(&mut model);
    if model.opset.unwrap_or(super::OPSET) >= DEPTH_TO_SPACE_MODE {
        subpixel::subpixel_upsampling(&mut model);
    }
    model
}

/// Whether the rewrites can trust what `model` says of itself: every constant's values are
/// those its dimensions describe, no two constants share a name, and no value is made twice
/// (by two nodes, or by a node and a constant or a graph input). Otherwise, why not.
fn well_formed(model: &Model) -> Result<(), String> {
    let constants = model
        .initializers
        .iter()
        .chain(model.nodes.iter().flat_map(|n| {
            n.attributes.iter().filter_map(|(_, value)| match value {
                Attr::Tensor(t) => Some(t),
                _ => None,
            })
        }));
    for tensor in constants {
        if !tensor.is_whole() {
            return Err(format!(
                "tensor '{}' has dimensions {:?} but holds {} values",
                tensor.name,
                tensor.dims,
                tensor.data.len()
            ));
        }
    }
    let mut made = HashSet::new();
    let sources = model.initializers.iter().map(|i| &i.name);
    let sources = sources.chain(model.inputs.iter().map(|io| &io.name));
    // An empty output name is an optional output left out, not a value.
    let sources = sources.chain(model.nodes.iter().flat_map(|n| &n.outputs));
    for name in sources.filter(|name| !name.is_empty()) {
        if !made.insert(name.as_str()) {
            return Err(format!("the value '{name}' is made more than once"));
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::{Io, Node, TensorData};

    fn tensor(name: &str, dims: Vec<i64>, data: Vec<f32>) -> Initializer {
        Initializer {
            name: name.into(),
            dims,
            data: TensorData::Float(data),
        }
    }

    fn model(nodes: Vec<Node>, initializers: Vec<Initializer>) -> Model {
        let io = |name: &str| Io {
            name: name.into(),
            dims: vec![1, 3, 8, 8],
        };
        Model {
            nodes,
            initializers,
            inputs: vec![io("x")],
            outputs: vec![io("z")],
            ..Default::default()
        }
    }

    /// A 3-channel convolution with `bias` followed by a multiplication by 2 per channel.
    fn conv_mul(bias: Initializer) -> Model {
        model(
            vec![
                Node::new("Conv", "c", &["x", "w", "b"], &["y"]),
                Node::new("Mul", "m", &["y", "k"], &["z"]),
            ],
            vec![
                tensor("w", vec![3, 3, 1, 1], vec![1.0; 9]),
                bias,
                tensor("k", vec![3, 1, 1], vec![2.0; 3]),
            ],
        )
    }

    #[test]
    fn a_bias_of_one_value_per_channel_is_folded_and_a_shorter_one_left() {
        let folded = simplify(conv_mul(tensor("b", vec![3], vec![1.0; 3])));
        assert_eq!(folded.nodes.len(), 1);
        let short = conv_mul(tensor("b", vec![2], vec![1.0; 2]));
        assert_eq!(simplify(short.clone()), short);
    }

    #[test]
    fn a_graph_that_is_not_well_formed_is_left_as_it_is() {
        let mut negative = conv_mul(tensor("b", vec![3], vec![1.0; 3]));
        negative.initializers[0] = tensor("w", vec![-1, 3, 1, 1], vec![]);
        let mut overflow = negative.clone();
        overflow.initializers[0] = tensor("w", vec![1 << 32, 1 << 32, 1, 1], vec![]);
        let mut twice = conv_mul(tensor("b", vec![3], vec![1.0; 3]));
        twice.initializers.push(tensor("w", vec![1], vec![0.0]));
        let mut made_twice = conv_mul(tensor("b", vec![3], vec![1.0; 3]));
        made_twice
            .nodes
            .push(Node::new("Relu", "r", &["x"], &["y"]));
        for model in [negative, overflow, twice, made_twice] {
            assert_eq!(simplify(model.clone()), model);
        }
    }

    #[test]
    fn an_upsampling_convolution_without_output_is_left_as_it_is() {
        let resize = Node::new("Resize", "r", &["x", "", "s"], &["up"]);
        let scales = tensor("s", vec![4], vec![1.0, 1.0, 2.0, 2.0]);
        let weight = tensor("w", vec![3, 3, 3, 3], vec![0.5; 81]);
        let pads = Attr::Ints(vec![1; 4]);
        let conv = Node::new("Conv", "c", &["up", "w"], &[]).attr("pads", pads.clone());
        let relu = Node::new("Relu", "n", &["x"], &["z"]);
        let without = model(
            vec![resize.clone(), conv, relu],
            vec![scales.clone(), weight.clone()],
        );
        assert_eq!(simplify(without.clone()), without);
        // Out of order (the convolution first), it is rewritten, and the Resize is what goes.
        let conv = Node::new("Conv", "c", &["up", "w"], &["z"]).attr("pads", pads);
        let reversed = simplify(model(vec![conv, resize], vec![scales, weight]));
        let ops: Vec<&str> = reversed.nodes.iter().map(|n| n.op_type.as_str()).collect();
        assert_eq!(ops, ["Conv", "DepthToSpace"]);
    }
}
