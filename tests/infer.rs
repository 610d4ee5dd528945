//! The ONNX runner on real ONNX Runtime: a small generator written by mimic's own ONNX
//! encoder runs on a real photo; a model read by mimic's decoder and written back computes
//! exactly what it did; damaged and mismatched models are refused before any frame.

mod common;

use std::path::{Path, PathBuf};

use common::{card, negation, testdata};
use image::imageops::{self, FilterType};
use mimic::frame::{read_image, Rgb8};
use mimic::infer::{
    ColorOrder, DevicePreference, Generator, InferError, Layout, ModelKind, TensorSpec,
};
use mimic::onnx::{Io, Model, Node};

const SIZE: u32 = 64;

/// A "generator" that turns every pixel into its negative: y = -x on [1, 3, 64, 64].
fn negative_model(dir: &Path) -> PathBuf {
    negation(
        dir,
        "negative",
        vec![1, 3, i64::from(SIZE), i64::from(SIZE)],
    )
}

fn portrait() -> Rgb8 {
    let photo = read_image(&testdata("faces/misc/obama.jpg")).unwrap();
    imageops::resize(&photo, SIZE, SIZE, FilterType::Triangle)
}

#[test]
fn runs_a_generator_on_the_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let mut generator =
        Generator::open(&negative_model(dir.path()), DevicePreference::Cpu).unwrap();
    assert_eq!(generator.input_size(), SIZE);
    assert_eq!(generator.provider().to_string(), "CPU");
    let input = portrait();
    let mut output = Rgb8::new(1, 1);
    generator.run(&input, &mut output).unwrap();
    assert_eq!(output.dimensions(), (SIZE, SIZE));
    // In [-1, 1], -x is the photographic negative: 255 - v (±1 for rounding).
    for (a, b) in input.pixels().zip(output.pixels()) {
        for c in 0..3 {
            let expected = 255 - i32::from(a[c]);
            assert!(
                (i32::from(b[c]) - expected).abs() <= 1,
                "pixel {a:?} became {b:?}"
            );
        }
    }
}

/// The bundled demo model (a warp generator: sketch and reference in, frame out), read by
/// mimic's ONNX decoder and written back by its encoder, gives the same picture to the last
/// bit on a real photo, and reads back as the same model.
#[test]
fn a_model_read_and_written_back_computes_the_same() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo.onnx");
    let model = mimic::onnx::read::decode(&std::fs::read(&demo).unwrap()).unwrap();
    assert!(model.nodes.len() > 20 && !model.initializers.is_empty());
    assert_eq!(model.inputs.len(), 2, "sketch and reference");
    let copy = common::scratch("infer-onnx-read").join("demo.onnx");
    std::fs::write(&copy, model.encode()).unwrap();
    std::fs::copy(demo.with_extension("toml"), copy.with_extension("toml")).unwrap();
    let again = mimic::onnx::read::decode(&std::fs::read(&copy).unwrap()).unwrap();
    assert_eq!(again, model);

    let run = |path: &Path| {
        let mut generator = Generator::open(path, DevicePreference::Cpu).unwrap();
        let size = generator.input_size();
        let photo = read_image(&testdata("faces/misc/obama.jpg")).unwrap();
        let input = imageops::resize(&photo, size, size, FilterType::Triangle);
        let mut output = Rgb8::new(1, 1);
        generator
            .run_with_reference(&input, &input, &mut output)
            .unwrap();
        output
    };
    assert_eq!(run(&demo), run(&copy));
}

#[test]
fn card_sets_layout_range_and_colour_order() {
    let dir = tempfile::tempdir().unwrap();
    let model = negative_model(dir.path());
    // A [0, 1] BGR card: -x then lands outside the range and clamps to black everywhere.
    let spec = TensorSpec {
        size: SIZE,
        layout: Layout::Nchw,
        range: [0.0, 1.0],
        color: ColorOrder::Bgr,
    };
    card(ModelKind::Stylize, spec).write_beside(&model).unwrap();
    let mut generator = Generator::open(&model, DevicePreference::Cpu).unwrap();
    assert_eq!(generator.kind(), ModelKind::Stylize);
    let mut output = Rgb8::new(SIZE, SIZE);
    generator.run(&portrait(), &mut output).unwrap();
    assert!(output.pixels().all(|p| p.0 == [0, 0, 0]));
}

#[test]
fn card_that_disagrees_with_the_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = negative_model(dir.path());
    let spec = TensorSpec {
        size: 128,
        layout: Layout::Nchw,
        range: [-1.0, 1.0],
        color: ColorOrder::Rgb,
    };
    card(ModelKind::Reenact, spec).write_beside(&model).unwrap();
    let error = Generator::open(&model, DevicePreference::Cpu)
        .err()
        .expect("mismatch refused");
    assert!(matches!(error, InferError::Signature { .. }), "{error}");
}

#[test]
fn wrong_input_size_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut generator =
        Generator::open(&negative_model(dir.path()), DevicePreference::Cpu).unwrap();
    let mut output = Rgb8::new(1, 1);
    let error = generator.run(&Rgb8::new(32, 32), &mut output).unwrap_err();
    assert!(
        matches!(error, InferError::InputSize { expected: 64, .. }),
        "{error}"
    );
}

#[test]
fn corrupt_and_missing_models_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(negative_model(dir.path())).unwrap();
    let truncated = dir.path().join("truncated.onnx");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let garbage = dir.path().join("garbage.onnx");
    std::fs::write(&garbage, b"this is not an onnx model at all").unwrap();
    for path in [&truncated, &garbage] {
        let error = Generator::open(path, DevicePreference::Cpu)
            .err()
            .expect("corrupt model refused");
        assert!(matches!(error, InferError::ModelInvalid { .. }), "{error}");
    }
    // An opset newer than the runtime's: refused at load with ONNX Runtime's reason.
    let mut future = mimic::onnx::read::decode(&good).unwrap();
    future.opset = Some(99);
    let future_path = dir.path().join("opset99.onnx");
    std::fs::write(&future_path, future.encode()).unwrap();
    let error = Generator::open(&future_path, DevicePreference::Cpu)
        .err()
        .expect("an opset the runtime does not know is refused");
    assert!(matches!(error, InferError::ModelInvalid { .. }), "{error}");
    assert!(
        error.to_string().contains("uses ONNX opset 99")
            && error.to_string().contains("export it again"),
        "{error}"
    );
    let missing = Generator::open(&dir.path().join("none.onnx"), DevicePreference::Cpu)
        .err()
        .unwrap();
    assert!(matches!(missing, InferError::ModelMissing(_)), "{missing}");
}

#[test]
fn a_model_that_is_not_an_image_generator_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = negation(dir.path(), "vector", vec![1, 128]);
    let error = Generator::open(&path, DevicePreference::Cpu)
        .err()
        .expect("refused");
    assert!(matches!(error, InferError::Signature { .. }), "{error}");
}

/// Models checked at the door: a picture model with one or four channels is not an RGB
/// generator, and says so at load rather than failing at warm-up.
#[test]
fn one_and_four_channel_models_are_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    for channels in [1, 4] {
        let path = negation(
            dir.path(),
            &format!("c{channels}"),
            vec![1, channels, 64, 64],
        );
        let error = Generator::open(&path, DevicePreference::Cpu)
            .err()
            .expect("refused");
        assert!(
            matches!(error, InferError::Signature { .. }),
            "{channels}: {error}"
        );
    }
}

/// A model whose picture size is left open (dynamic height and width) and no card to pin it:
/// refused at load with what to do.
#[test]
fn dynamic_dimensions_without_a_card_are_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = negation(dir.path(), "dynamic", vec![1, 3, -1, -1]);
    let error = Generator::open(&path, DevicePreference::Cpu)
        .err()
        .expect("refused");
    assert!(matches!(error, InferError::Signature { .. }), "{error}");
    assert!(
        error.to_string().contains("give the model a card"),
        "{error}"
    );
}

/// Issue 15: a model with an operator mimic cannot quantise is refused with a sentence that
/// names it, before any calibration, and no INT8 file is written.
#[test]
fn quantising_an_unknown_operator_names_it_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let model = negative_model(dir.path());
    let out = dir.path().join("negative.int8.onnx");
    let run = common::mimic(&[
        "quantize",
        common::arg(&model),
        "--calibration",
        common::arg(&testdata("video/d9.mp4")),
    ]);
    assert!(!run.status.success());
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(said.contains("uses Neg"), "{said}");
    assert!(!out.exists());
}

/// Deterministic weights in [-0.25, 0.25] (the arithmetic is what is checked, not a likeness).
fn weights(count: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) / 2.0
        })
        .collect()
}

/// Issue 15: the book's block, Keras padding and all — a stride-2 4×4 convolution with a batch
/// norm after it, LeakyReLU, nearest ×2 upsampling and a 4×4 "same" convolution (pads 1 before,
/// 2 after) — simplified at load (the norm folded, the upsampling made four phases) draws a
/// real photo as the graph as written does, to within one level.
#[test]
fn the_books_upsampling_block_simplifies_exactly() {
    use mimic::infer::{Graph, Loading};
    use mimic::onnx::{Attr, Initializer, TensorData};
    let s = i64::from(SIZE);
    let tensor = |name: &str, dims: Vec<i64>, data: Vec<f32>| Initializer {
        name: name.into(),
        dims,
        data: TensorData::Float(data),
    };
    let keras_4x4 = |node: Node, stride: i64| {
        node.attr("kernel_shape", Attr::Ints(vec![4, 4]))
            .attr("strides", Attr::Ints(vec![stride, stride]))
            .attr("pads", Attr::Ints(vec![1, 1, 2, 2]))
    };
    let positive = |v: Vec<f32>| v.into_iter().map(|x| x.abs() + 0.5).collect();
    let model = Model {
        graph_name: "book_block".into(),
        producer: "mimic-tests".into(),
        opset: Some(17),
        ir_version: None,
        nodes: vec![
            keras_4x4(Node::new("Conv", "down", &["input", "w1", "b1"], &["d"]), 2),
            Node::new(
                "BatchNormalization",
                "bn",
                &["d", "g", "be", "m", "v"],
                &["n"],
            ),
            Node::new("LeakyRelu", "act", &["n"], &["a"]).attr("alpha", Attr::Float(0.2)),
            Node::new("Resize", "up", &["a", "", "scales"], &["u"])
                .attr("mode", Attr::Str("nearest".into())),
            keras_4x4(Node::new("Conv", "conv", &["u", "w2", "b2"], &["c"]), 1),
            Node::new("Tanh", "tanh", &["c"], &["output"]),
        ],
        initializers: vec![
            tensor("w1", vec![8, 3, 4, 4], weights(384, 1)),
            tensor("b1", vec![8], weights(8, 2)),
            tensor("g", vec![8], positive(weights(8, 3))),
            tensor("be", vec![8], weights(8, 4)),
            tensor("m", vec![8], weights(8, 5)),
            tensor("v", vec![8], positive(weights(8, 6))),
            tensor("scales", vec![4], vec![1.0, 1.0, 2.0, 2.0]),
            tensor("w2", vec![3, 8, 4, 4], weights(384, 7)),
            tensor("b2", vec![3], weights(3, 8)),
        ],
        inputs: vec![Io {
            name: "input".into(),
            dims: vec![1, 3, s, s],
        }],
        outputs: vec![Io {
            name: "output".into(),
            dims: vec![1, 3, s, s],
        }],
        metadata: vec![],
    };
    let simplified = mimic::onnx::simplify::simplify(model.clone());
    let ops: Vec<&str> = simplified
        .nodes
        .iter()
        .map(|n| n.op_type.as_str())
        .collect();
    assert_eq!(ops, ["Conv", "LeakyRelu", "Conv", "DepthToSpace", "Tanh"]);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("book_block.onnx");
    std::fs::write(&path, model.encode()).unwrap();
    let run = |graph| {
        let loading = Loading {
            graph,
            ..Loading::default()
        };
        let mut generator = Generator::open_as(&path, DevicePreference::Cpu, loading).unwrap();
        let mut output = Rgb8::new(1, 1);
        generator.run(&portrait(), &mut output).unwrap();
        output
    };
    let (as_is, simple) = (run(Graph::AsIs), run(Graph::Simplified));
    let worst = as_is
        .as_raw()
        .iter()
        .zip(simple.as_raw())
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(worst <= 1, "a pixel moved by {worst} levels");
    assert!(
        as_is.as_raw().iter().any(|&v| v > 20 && v < 235),
        "the block draws something"
    );
}
