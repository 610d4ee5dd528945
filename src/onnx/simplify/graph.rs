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

pub(super) fn initializers(model: &Model) -> HashMap<&str, &Initializer> {
    model
        .initializers
        .iter()
        .map(|i| (i.name.as_str(), i))
        .collect()
}

/// The float values of initializer `name`, if it is one.
pub(super) fn float_values(model: &Model, name: &str) -> Option<Vec<f32>> {
    match &model.initializers.iter().find(|i| i.name == name)?.data {
        TensorData::Float(v) => Some(v.clone()),
        _ => None,
    }
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
