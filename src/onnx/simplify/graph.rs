//! Reading and editing a graph for the rewrites: a node's attributes by name, the initializers
//! by name, how many nodes read a value, renaming a value, and dropping what no node reads.

use std::collections::{HashMap, HashSet};

use crate::onnx::{Attr, Initializer, Model, Node, TensorData};

pub fn int_attr(node: &Node, name: &str) -> Option<i64> {
    node.attributes.iter().find_map(|(n, v)| match (n, v) {
        (n, Attr::Int(i)) if n == name => Some(*i),
        _ => None,
    })
}

pub(super) fn float_attr(node: &Node, name: &str) -> Option<f32> {
    node.attributes.iter().find_map(|(n, v)| match (n, v) {
        (n, Attr::Float(f)) if n == name => Some(*f),
        _ => None,
    })
}

pub(super) fn group(node: &Node) -> i64 {
    int_attr(node, "group").unwrap_or(1)
}

pub(super) fn str_attr<'a>(node: &'a Node, name: &str) -> Option<&'a str> {
    node.attributes.iter().find_map(|(n, v)| match (n, v) {
        (n, Attr::Str(s)) if n == name => Some(s.as_str()),
        _ => None,
    })
}

pub(super) fn ints_attr(node: &Node, name: &str) -> Option<Vec<i64>> {
    node.attributes.iter().find_map(|(n, v)| match (n, v) {
        (n, Attr::Ints(i)) if n == name => Some(i.clone()),
        _ => None,
    })
}

pub(super) fn consumers(model: &Model, value: &str) -> usize {
    model
        .nodes
        .iter()
        .flat_map(|n| &n.inputs)
        .filter(|i| *i == value)
        .count()
}

pub(super) fn rename_uses(model: &mut Model, from: &str, to: &str) {
    for input in model.nodes.iter_mut().flat_map(|n| n.inputs.iter_mut()) {
        if input == from {
            *input = to.into();
        }
    }
}

pub(super) fn rename_value(model: &mut Model, from: &str, to: &str) {
    rename_uses(model, from, to);
    for output in model.nodes.iter_mut().flat_map(|n| n.outputs.iter_mut()) {
        if output == from {
            *output = to.into();
        }
    }
}

/// Where a pass of rewrites looks things up, made once for the pass so that a graph of
/// thousands of nodes is not gone through once a rewrite: the nodes that read each value (a
/// node once for each time it reads it), the constants by name, the graph's outputs, and
/// every name in use. A pass changes nodes in place and removes them only at its end, so the
/// indices stay good; what it changes is noted here as it goes.
pub(super) struct Index {
    readers: HashMap<String, Vec<usize>>,
    constants: HashMap<String, usize>,
    outputs: HashSet<String>,
    names: HashSet<String>,
}

impl Index {
    pub(super) fn of(model: &Model) -> Index {
        let mut readers: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, node) in model.nodes.iter().enumerate() {
            for input in &node.inputs {
                readers.entry(input.clone()).or_default().push(i);
            }
        }
        let constants = model
            .initializers
            .iter()
            .enumerate()
            .map(|(i, init)| (init.name.clone(), i))
            .collect();
        let outputs = model.outputs.iter().map(|o| o.name.clone()).collect();
        let names = model
            .initializers
            .iter()
            .map(|i| &i.name)
            .chain(model.inputs.iter().chain(&model.outputs).map(|io| &io.name))
            .chain(
                model
                    .nodes
                    .iter()
                    .flat_map(|n| n.inputs.iter().chain(&n.outputs)),
            )
            .cloned()
            .collect();
        Index {
            readers,
            constants,
            outputs,
            names,
        }
    }

    /// The nodes that read `value`, once for each time they read it.
    pub(super) fn readers(&self, value: &str) -> &[usize] {
        self.readers.get(value).map_or(&[], Vec::as_slice)
    }

    /// Whether `value` is an output of the graph.
    pub(super) fn is_output(&self, value: &str) -> bool {
        self.outputs.contains(value)
    }

    /// Constant `name` and its values, if it is a float constant whose values its dimensions
    /// describe.
    pub(super) fn float_constant<'m>(
        &self,
        model: &'m Model,
        name: &str,
    ) -> Option<(&'m [i64], &'m [f32])> {
        let init = model.initializers.get(*self.constants.get(name)?)?;
        match &init.data {
            TensorData::Float(v) if init.is_whole() => Some((&init.dims, v)),
            _ => None,
        }
    }

    /// `base`, or `base` with a number after it, whichever no value has yet; taken from now.
    pub(super) fn fresh(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut n = 1;
        while self.names.contains(&name) {
            n += 1;
            name = format!("{base}#{n}");
        }
        self.names.insert(name.clone());
        name
    }

    /// Adds `init` to `model` as a new constant named `base`, or `base` with a number after
    /// it, whichever is free (two convolutions that share a weight are folded into two new
    /// ones, which must not share a name); its name.
    pub(super) fn add_constant(
        &mut self,
        model: &mut Model,
        base: &str,
        init: Initializer,
    ) -> String {
        let name = self.fresh(base);
        self.constants
            .insert(name.clone(), model.initializers.len());
        model.initializers.push(Initializer {
            name: name.clone(),
            ..init
        });
        name
    }
}

/// `nodes` less those `removed` marks, with `inserted[i]` put after node `i`.
pub(super) fn rebuilt(
    nodes: Vec<Node>,
    removed: &[bool],
    mut inserted: Vec<Option<Node>>,
) -> Vec<Node> {
    let mut out = Vec::with_capacity(nodes.len());
    for (i, node) in nodes.into_iter().enumerate() {
        if !removed.get(i).copied().unwrap_or(false) {
            out.push(node);
        }
        if let Some(after) = inserted.get_mut(i).and_then(Option::take) {
            out.push(after);
        }
    }
    out
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
