//! Issue 30, hostile inputs: files that are readable but say nonsense get one sentence and
//! exit status 2 from the binary, never a panic.
//!
//! The crafted models here each crashed mimic's graph simplifier before ONNX Runtime saw them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{arg, onnx_model, testdata};
use mimic::infer::{ColorOrder, Layout, ModelCard, ModelKind, TensorSpec};
use mimic::onnx::{Attr, Initializer, Node, TensorData};

/// The side of the crafted models' pictures (no card: a style model of that size).
const SIDE: i64 = 64;

fn tensor(name: &str, dims: Vec<i64>, data: Vec<f32>) -> Initializer {
    Initializer {
        name: name.into(),
        dims,
        data: TensorData::Float(data),
    }
}

fn image_dims() -> Vec<i64> {
    vec![1, 3, SIDE, SIDE]
}

/// A batch norm of 3 channels from `from` into `output`, its parameters named after it.
fn batch_norm(from: &str) -> (Node, Vec<Initializer>) {
    let names = ["bn_scale", "bn_bias", "bn_mean", "bn_var"];
    let node = Node::new(
        "BatchNormalization",
        "bn",
        &[from, names[0], names[1], names[2], names[3]],
        &["output"],
    );
    let values = [1.0, 0.0, 0.0, 1.0];
    let params = names
        .iter()
        .zip(values)
        .map(|(n, v)| tensor(n, vec![3], vec![v; 3]))
        .collect();
    (node, params)
}

/// A nearest ×2 upsampling of the input into `up`.
fn doubling() -> (Node, Initializer) {
    let node = Node::new("Resize", "up", &["input", "", "scales"], &["up"])
        .attr("mode", Attr::Str("nearest".into()));
    (node, tensor("scales", vec![4], vec![1.0, 1.0, 2.0, 2.0]))
}

/// Runs `mimic bench` on `model` for two frames of d0.
fn bench(model: &Path) -> Output {
    common::mimic(&[
        "bench",
        "--model",
        arg(model),
        "--input",
        arg(&testdata("video/d0.mp4")),
        "--frames",
        "2",
    ])
}

/// Runs `mimic quantize` on `model`, calibrated on d0.
fn quantize(model: &Path) -> Output {
    common::mimic(&[
        "quantize",
        arg(model),
        "--calibration",
        arg(&testdata("video/d0.mp4")),
        "--frames",
        "4",
    ])
}

/// A run refused with exit status 2 and one sentence on stderr, not a panic.
fn refused_in_one_sentence(run: &Output, what: &str) -> String {
    let said = common::refusal(run);
    assert!(!said.contains("panicked"), "{what}: {said}");
    assert_eq!(said.trim().lines().count(), 1, "{what}: {said}");
    said
}

/// The crafted models, each with what it says that is wrong, and a card beside it (a style
/// model of [`SIDE`] pixels) so that nothing but the refusal is said.
fn crafted(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let models = crafted_models(dir);
    let spec = TensorSpec {
        size: SIDE as u32,
        layout: Layout::Nchw,
        range: [-1.0, 1.0],
        color: ColorOrder::Rgb,
    };
    for (_, model) in &models {
        ModelCard::new(ModelKind::Stylize, spec)
            .write_beside(model)
            .unwrap();
    }
    models
}

fn crafted_models(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let mut models = Vec::new();
    // A convolution of 3 channels whose bias has 2 values, then a batch norm: the fold read
    // the bias as one value per channel, past its end.
    let (bn, mut params) = batch_norm("y");
    params.push(tensor("w", vec![3, 3, 3, 3], vec![0.1; 81]));
    params.push(tensor("b", vec![2], vec![0.0; 2]));
    let conv = Node::new("Conv", "conv", &["input", "w", "b"], &["y"])
        .attr("pads", Attr::Ints(vec![1; 4]));
    models.push((
        "a bias shorter than the channels",
        onnx_model(dir, "short_bias", image_dims(), vec![conv, bn], params),
    ));
    // A convolution weight whose first dimension is −1 (no values): the fold cast it to a
    // channel count of 2⁶⁴ − 1 and made a vector that long.
    let (bn, mut params) = batch_norm("y");
    for p in &mut params {
        p.dims = vec![1];
        p.data = TensorData::Float(vec![1.0]);
    }
    params.push(tensor("w", vec![-1, 3, 3, 3], vec![]));
    let conv = Node::new("Conv", "conv", &["input", "w"], &["y"]);
    models.push((
        "a negative channel count",
        onnx_model(dir, "negative_dim", image_dims(), vec![conv, bn], params),
    ));
    // An upsampling convolution of 2³² × 2³² channels and no values: the product of its
    // dimensions wrapped to 0, which matched, and the rewrite indexed its kernel.
    let (up, scales) = doubling();
    let w = tensor("w", vec![1 << 32, 1 << 32, 1, 1], vec![]);
    let conv = Node::new("Conv", "conv", &["up", "w"], &["output"]);
    models.push((
        "dimensions whose product overflows",
        onnx_model(
            dir,
            "overflow",
            image_dims(),
            vec![up, conv],
            vec![scales, w],
        ),
    ));
    // An upsampling followed by a convolution with no output: the rewrite took its first.
    let (up, scales) = doubling();
    let w = tensor("w", vec![3, 3, 3, 3], vec![0.1; 81]);
    let conv = Node::new("Conv", "conv", &["up", "w"], &[]).attr("pads", Attr::Ints(vec![1; 4]));
    let relu = Node::new("Relu", "relu", &["input"], &["output"]);
    models.push((
        "a convolution without outputs",
        onnx_model(
            dir,
            "no_output",
            image_dims(),
            vec![up, conv, relu],
            vec![scales, w],
        ),
    ));
    models
}

#[test]
fn crafted_models_are_refused_in_one_sentence_by_bench() {
    let dir = tempfile::tempdir().unwrap();
    for (what, model) in crafted(dir.path()) {
        let said = refused_in_one_sentence(&bench(&model), what);
        assert!(said.contains(arg(&model)), "{what}: {said}");
    }
}

#[test]
fn crafted_models_are_refused_in_one_sentence_by_quantize() {
    let dir = tempfile::tempdir().unwrap();
    for (what, model) in crafted(dir.path()) {
        refused_in_one_sentence(&quantize(&model), what);
        assert!(!model.with_extension("int8.onnx").exists(), "{what}");
    }
}
