//! MTCNN's three networks (Zhang et al. 2016, as facenet-pytorch ships them), written as ONNX
//! graphs by mimic's own writer from the `.pt` files and run by ONNX Runtime, whose
//! convolutions are several times faster on a CPU than candle's for these small channel
//! counts (the pyramid's P-Net: 14 ms against over 30 ms for its first two layers alone).
//! P-Net proposes faces over the whole picture, R-Net refines 24×24 crops of them, O-Net
//! judges 48×48 crops and places the five points.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ndarray::Array4;
use ort::session::Session;
use ort::value::TensorRef;

use super::weights::{self, Weights};
use super::MtcnnError;
use crate::onnx::{Attr, Initializer, Io, Model, Node, TensorData};
use crate::runtime::runtime;

/// A network's outputs, each as rows (one per crop, or the one picture) of its values.
pub struct Outputs(pub Vec<(Vec<usize>, Vec<f32>)>);

/// One network, open in ONNX Runtime.
pub struct Net {
    session: Mutex<Session>,
    /// The channels of each output (the second dimension), which the cascade indexes.
    channels: &'static [usize],
    path: PathBuf,
}

impl Net {
    /// P-Net: fully convolutional over a picture of any size; per 12×12 window (stride 2)
    /// the box's regression (4 channels) and the face probability (2).
    pub fn pnet(path: &Path) -> Result<Net, MtcnnError> {
        Self::build(path, "pnet", &[1, 3, -1, -1], &[4, 2], |g| {
            let x = g.conv_prelu("input", "conv1", "prelu1")?;
            let x = g.pool(&x, 2, 2);
            let x = g.conv_prelu(&x, "conv2", "prelu2")?;
            let x = g.conv_prelu(&x, "conv3", "prelu3")?;
            let reg = g.conv(&x, "conv4_2")?;
            let face = g.conv(&x, "conv4_1")?;
            let prob = g.softmax(&face);
            Ok(vec![reg, prob])
        })
    }

    /// R-Net: 24×24 crops; the box's regression and the face probability.
    pub fn rnet(path: &Path) -> Result<Net, MtcnnError> {
        Self::build(path, "rnet", &[-1, 3, 24, 24], &[4, 2], |g| {
            let x = g.conv_prelu("input", "conv1", "prelu1")?;
            let x = g.pool(&x, 3, 2);
            let x = g.conv_prelu(&x, "conv2", "prelu2")?;
            let x = g.pool(&x, 3, 2);
            let x = g.conv_prelu(&x, "conv3", "prelu3")?;
            let x = g.flatten_whc(&x);
            let x = g.dense_prelu(&x, "dense4", "prelu4")?;
            let reg = g.dense(&x, "dense5_2")?;
            let face = g.dense(&x, "dense5_1")?;
            let prob = g.softmax(&face);
            Ok(vec![reg, prob])
        })
    }

    /// O-Net: 48×48 crops; the box's regression, the five points (five x then five y, as
    /// shares of the box) and the face probability.
    pub fn onet(path: &Path) -> Result<Net, MtcnnError> {
        Self::build(path, "onet", &[-1, 3, 48, 48], &[4, 10, 2], |g| {
            let x = g.conv_prelu("input", "conv1", "prelu1")?;
            let x = g.pool(&x, 3, 2);
            let x = g.conv_prelu(&x, "conv2", "prelu2")?;
            let x = g.pool(&x, 3, 2);
            let x = g.conv_prelu(&x, "conv3", "prelu3")?;
            let x = g.pool(&x, 2, 2);
            let x = g.conv_prelu(&x, "conv4", "prelu4")?;
            let x = g.flatten_whc(&x);
            let x = g.dense_prelu(&x, "dense5", "prelu5")?;
            let reg = g.dense(&x, "dense6_2")?;
            let points = g.dense(&x, "dense6_3")?;
            let face = g.dense(&x, "dense6_1")?;
            let prob = g.softmax(&face);
            Ok(vec![reg, points, prob])
        })
    }

    /// Reads the weights, writes the graph `layers` makes of them, opens it; its outputs
    /// have `channels`.
    fn build(
        path: &Path,
        name: &str,
        input: &[i64],
        channels: &'static [usize],
        layers: impl FnOnce(&mut Graph) -> Result<Vec<String>, String>,
    ) -> Result<Net, MtcnnError> {
        let bad = |reason: String| MtcnnError::weights(path, reason);
        let mut graph = Graph {
            weights: weights::read(path)?,
            nodes: Vec::new(),
            initializers: Vec::new(),
        };
        let outputs = layers(&mut graph).map_err(bad)?;
        let model = Model {
            graph_name: name.into(),
            producer: "mimic".into(),
            nodes: graph.nodes,
            initializers: graph.initializers,
            inputs: vec![Io {
                name: "input".into(),
                dims: input.to_vec(),
            }],
            outputs: outputs
                .iter()
                .map(|o| Io {
                    name: o.clone(),
                    dims: Vec::new(),
                })
                .collect(),
            ..Default::default()
        };
        let runtime = runtime().map_err(|e| bad(e.to_string()))?;
        let cannot = |e: String| bad(format!("ONNX Runtime cannot run it: {e}"));
        let mut builder = Session::builder(&runtime.environment)
            .map_err(|e| cannot(e.to_string()))?
            // Beside the frames (the tracker's detection thread), idle threads must not spin.
            .with_intra_op_spinning(false)
            .map_err(|e| cannot(e.to_string()))?;
        let session = builder
            .commit_from_memory(&model.encode())
            .map_err(|e| cannot(e.to_string()))?;
        Ok(Net {
            session: Mutex::new(session),
            channels,
            path: path.to_path_buf(),
        })
    }

    /// Runs the network on a batch (N, 3, H, W) of pictures in [−1, 1].
    pub fn run(&self, input: &Array4<f32>) -> Result<Outputs, MtcnnError> {
        let failed = |e: ort::Error| MtcnnError::Run(e.to_string());
        let tensor = TensorRef::from_array_view(input).map_err(failed)?;
        // Twins of an analyzer (the live loop's detection thread beside its tracker) share
        // the networks: one picture runs at a time.
        let mut session = self
            .session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let outputs = session.run(ort::inputs![tensor]).map_err(failed)?;
        let mut all = Vec::with_capacity(self.channels.len());
        for (i, &channels) in self.channels.iter().enumerate() {
            let array = outputs[i].try_extract_array::<f32>().map_err(failed)?;
            let shape = array.shape().to_vec();
            // Weights of other shapes than MTCNN's still make a graph ONNX Runtime runs;
            // the cascade indexes each output by its channels, so they are checked here.
            if shape.len() < 2 || shape[0] != input.shape()[0] || shape[1] != channels {
                return Err(MtcnnError::weights(
                    &self.path,
                    format!("its output {i} has the shape {shape:?}, not {channels} channels for each of {} pictures: these are not MTCNN's weights", input.shape()[0]),
                ));
            }
            all.push((shape, array.iter().copied().collect()));
        }
        Ok(Outputs(all))
    }
}

/// The graph being written, and the weights it takes its layers from.
struct Graph {
    weights: HashMap<String, Weights>,
    nodes: Vec<Node>,
    initializers: Vec<Initializer>,
}

impl Graph {
    /// Adds `name`'s tensor as an initializer, reshaped to `dims` when given.
    fn weight(&mut self, name: &str, dims: Option<Vec<i64>>) -> Result<String, String> {
        let (shape, values) = self
            .weights
            .remove(name)
            .ok_or_else(|| format!("it has no {name}"))?;
        let dims = dims.unwrap_or_else(|| shape.iter().map(|&d| d as i64).collect());
        self.initializers.push(Initializer {
            name: name.into(),
            dims,
            data: TensorData::Float(values),
        });
        Ok(name.into())
    }

    fn node(&mut self, op: &str, inputs: &[&str], attributes: Vec<(&str, Attr)>) -> String {
        let output = format!("{}_{}", op.to_lowercase(), self.nodes.len());
        let mut node = Node::new(op, &output, inputs, &[&output]);
        for (name, value) in attributes {
            node = node.attr(name, value);
        }
        self.nodes.push(node);
        output
    }

    fn conv(&mut self, x: &str, layer: &str) -> Result<String, String> {
        let w = self.weight(&format!("{layer}.weight"), None)?;
        let b = self.weight(&format!("{layer}.bias"), None)?;
        Ok(self.node("Conv", &[x, &w, &b], vec![]))
    }

    /// PReLU with one slope per channel, shaped to broadcast over (C, H, W) or (C).
    fn prelu(&mut self, x: &str, name: &str, spatial: bool) -> Result<String, String> {
        let key = format!("{name}.weight");
        let channels = self.weights.get(&key).map_or(0, |(_, v)| v.len() as i64);
        let dims = match spatial {
            true => vec![channels, 1, 1],
            false => vec![channels],
        };
        let slope = self.weight(&key, Some(dims))?;
        Ok(self.node("PRelu", &[x, &slope], vec![]))
    }

    fn conv_prelu(&mut self, x: &str, conv: &str, prelu: &str) -> Result<String, String> {
        let x = self.conv(x, conv)?;
        self.prelu(&x, prelu, true)
    }

    /// Max pooling with PyTorch's `ceil_mode=True`, as the networks were trained.
    fn pool(&mut self, x: &str, kernel: i64, stride: i64) -> String {
        self.node(
            "MaxPool",
            &[x],
            vec![
                ("kernel_shape", Attr::Ints(vec![kernel, kernel])),
                ("strides", Attr::Ints(vec![stride, stride])),
                ("ceil_mode", Attr::Int(1)),
            ],
        )
    }

    fn dense(&mut self, x: &str, layer: &str) -> Result<String, String> {
        let w = self.weight(&format!("{layer}.weight"), None)?;
        let b = self.weight(&format!("{layer}.bias"), None)?;
        Ok(self.node("Gemm", &[x, &w, &b], vec![("transB", Attr::Int(1))]))
    }

    fn dense_prelu(&mut self, x: &str, dense: &str, prelu: &str) -> Result<String, String> {
        let x = self.dense(x, dense)?;
        self.prelu(&x, prelu, false)
    }

    fn softmax(&mut self, x: &str) -> String {
        self.node("Softmax", &[x], vec![("axis", Attr::Int(1))])
    }

    /// Flattens as facenet-pytorch does before its dense layers: (N, C, H, W) → (N, W·H·C).
    fn flatten_whc(&mut self, x: &str) -> String {
        let t = self.node(
            "Transpose",
            &[x],
            vec![("perm", Attr::Ints(vec![0, 3, 2, 1]))],
        );
        self.node("Flatten", &[&t], vec![("axis", Attr::Int(1))])
    }
}
