//! One generator step through ONNX Runtime on the CPU: tensor conversion in and out around a
//! 3×3 convolution with tanh at 256 px, on a real photo.

use criterion::{criterion_group, criterion_main, Criterion};
use mimic::frame::Rgb8;
use mimic::infer::{DevicePreference, Generator};
use mimic::onnx::{Attr, Initializer, Io, Model, Node, TensorData};

const SIZE: i64 = 256;

/// A 3→3 channel 3×3 convolution with tanh, shaped like a generator's last layer.
fn conv_model(path: &std::path::Path) {
    let weights: Vec<f32> = (0..3 * 3 * 9)
        .map(|i| ((i % 7) as f32 - 3.0) / 20.0)
        .collect();
    let model = Model {
        graph_name: "conv".into(),
        producer: "mimic-bench".into(),
        opset: None,
        ir_version: None,
        nodes: vec![
            Node::new("Conv", "conv", &["input", "w"], &["c"])
                .attr("pads", Attr::Ints(vec![1, 1, 1, 1])),
            Node::new("Tanh", "tanh", &["c"], &["output"]),
        ],
        initializers: vec![Initializer {
            name: "w".into(),
            dims: vec![3, 3, 3, 3],
            data: TensorData::Float(weights),
        }],
        inputs: vec![Io {
            name: "input".into(),
            dims: vec![1, 3, SIZE, SIZE],
        }],
        outputs: vec![Io {
            name: "output".into(),
            dims: vec![1, 3, SIZE, SIZE],
        }],
        metadata: vec![],
    };
    std::fs::write(path, model.encode()).expect("write model");
}

fn generator(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("conv.onnx");
    conv_model(&path);
    let mut generator = Generator::open(&path, DevicePreference::Cpu).expect("model loads");
    let photo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testdata/faces/misc/astronaut.png");
    let photo = mimic::frame::read_image(&photo).expect("test data");
    let input = image::imageops::resize(
        &photo,
        SIZE as u32,
        SIZE as u32,
        image::imageops::FilterType::Triangle,
    );
    let mut output = Rgb8::new(SIZE as u32, SIZE as u32);
    c.bench_function("generator_conv3x3_256_cpu", |b| {
        b.iter(|| generator.run(&input, &mut output).expect("run"))
    });
}

criterion_group!(benches, generator);
criterion_main!(benches);
