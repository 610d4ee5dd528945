//! Building an ONNX graph from trained layers: each layer appends its nodes and weights,
//! with batch norm folded into one per-channel affine and dropout left out.

use candle_core::Tensor;

use super::TrainError;
use crate::onnx::{Attr, Initializer, Io, Model, Node, TensorData};

/// An ONNX graph under construction; values are named as they are made.
pub struct OnnxGraph {
    model: Model,
    count: usize,
}

impl OnnxGraph {
    pub fn new(name: &str, input: &str, input_dims: Vec<i64>) -> Self {
        let model = Model {
            graph_name: name.into(),
            producer: "mimic".into(),
            inputs: vec![Io {
                name: input.into(),
                dims: input_dims,
            }],
            ..Default::default()
        };
        Self { model, count: 0 }
    }

    /// Adds a second (third…) input to the graph.
    pub fn add_input(&mut self, name: &str, dims: Vec<i64>) {
        self.model.inputs.push(Io {
            name: name.into(),
            dims,
        });
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.count += 1;
        format!("{prefix}_{}", self.count)
    }

    /// Adds a constant tensor (f32) and returns its name.
    pub fn weight(&mut self, prefix: &str, tensor: &Tensor) -> Result<String, TrainError> {
        let name = self.fresh(prefix);
        let dims = tensor.dims().iter().map(|&d| d as i64).collect();
        let data = tensor.flatten_all()?.to_vec1::<f32>()?;
        self.model.initializers.push(Initializer {
            name: name.clone(),
            dims,
            data: TensorData::Float(data),
        });
        Ok(name)
    }

    /// Adds a constant tensor of `f32` values with the given dims.
    pub fn constant(&mut self, prefix: &str, dims: Vec<i64>, data: TensorData) -> String {
        let name = self.fresh(prefix);
        self.model.initializers.push(Initializer {
            name: name.clone(),
            dims,
            data,
        });
        name
    }

    /// Adds a node with one output and returns the output's name.
    pub fn node(&mut self, op: &str, inputs: &[&str], attributes: Vec<(&str, Attr)>) -> String {
        let output = self.fresh(&op.to_lowercase());
        let mut node = Node::new(op, &output, inputs, &[&output]);
        for (name, value) in attributes {
            node = node.attr(name, value);
        }
        self.model.nodes.push(node);
        output
    }

    /// Names `value` as the graph's output, with its dims.
    pub fn finish(self, value: &str, output: &str, dims: Vec<i64>) -> Model {
        self.finish_many(&[(value, output, dims)])
    }

    /// Names each `(value, output name, dims)` as one of the graph's outputs, in order.
    pub fn finish_many(mut self, outputs: &[(&str, &str, Vec<i64>)]) -> Model {
        for (value, output, dims) in outputs {
            let node = format!("{output}_identity");
            let identity = Node::new("Identity", &node, &[value], &[output]);
            self.model.nodes.push(identity);
            self.model.outputs.push(Io {
                name: (*output).into(),
                dims: dims.clone(),
            });
        }
        self.model
    }
}
