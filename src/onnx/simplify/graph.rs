//! Reading and editing a graph for the rewrites: a node's attributes by name, the initializers
//! by name, how many nodes read a value, renaming a value, and dropping what no node reads.

use std::collections::HashSet;

use crate::onnx::{Attr, Model, Node, TensorData};

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

/// Initializer `name` and its values, if it is a float constant whose values its dimensions
/// describe.
pub(super) fn float_constant<'a>(model: &'a Model, name: &str) -> Option<(&'a [i64], &'a [f32])> {
    let init = model.initializers.iter().find(|i| i.name == name)?;
    match &init.data {
        TensorData::Float(v) if init.is_whole() => Some((&init.dims, v)),
        _ => None,
    }
}

/// `base`, or `base` with a number after it, whichever no value of `model` is named yet: a
/// rewrite's new constant must not take the name of another (two convolutions that share a
/// weight are folded into two new ones).
pub(super) fn fresh_name(model: &Model, base: &str) -> String {
    let taken = |name: &str| {
        model.initializers.iter().any(|i| i.name == name)
            || model
                .inputs
                .iter()
                .chain(&model.outputs)
                .any(|io| io.name == name)
            || model
                .nodes
                .iter()
                .any(|n| n.inputs.iter().chain(&n.outputs).any(|v| v == name))
    };
    let mut name = base.to_string();
    let mut n = 1;
    while taken(&name) {
        n += 1;
        name = format!("{base}#{n}");
    }
    name
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
