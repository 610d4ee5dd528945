//! Training speed: one pix2pix step per preset (throughput in convolution FLOPs, so criterion
//! prints the effective rate), and one convolution layer forward + backward with mimic's op
//! beside candle's own `conv2d` (48→16 channels, 4×4, 128×128).

use candle_core::{Device, Tensor, Var};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mimic::train::conv::conv2d;
use mimic::train::layers::Pad;
use mimic::train::pix2pix::model::Architecture;
use mimic::train::pix2pix::{Batch, Pix2Pix, Preset};
use mimic::train::NormKind;

fn random(shape: &[usize], seed: u64) -> Tensor {
    let mut rng = mimic::train::params::Rng::new(seed);
    let n: usize = shape.iter().product();
    Tensor::from_vec(
        (0..n).map(|_| rng.normal()).collect::<Vec<f32>>(),
        shape,
        &Device::Cpu,
    )
    .expect("tensor")
}

fn convolution(c: &mut Criterion) {
    mimic::train::init_cpu_threads();
    let x = Var::from_tensor(&random(&[1, 48, 128, 128], 1)).expect("var");
    let w = Var::from_tensor(&random(&[16, 48, 4, 4], 2)).expect("var");
    let pad = Pad::keras_same(4);
    let mut group = c.benchmark_group("conv_48to16_k4_128_fwd_bwd");
    group.sample_size(10);
    group.bench_function("mimic_im2col", |b| {
        b.iter(|| {
            conv2d(&x, &w, 1, pad)
                .and_then(|y| y.sqr()?.sum_all()?.backward())
                .expect("step")
        })
    });
    group.bench_function("candle_conv2d", |b| {
        b.iter(|| {
            let padded = x
                .pad_with_zeros(2, 1, 2)
                .and_then(|t| t.pad_with_zeros(3, 1, 2))
                .expect("pad");
            padded
                .conv2d(&w, 0, 1, 1, 1)
                .and_then(|y| y.sqr()?.sum_all()?.backward())
                .expect("step")
        })
    });
    group.finish();
}

fn training_step(c: &mut Criterion) {
    mimic::train::init_cpu_threads();
    let mut group = c.benchmark_group("pix2pix_step");
    group.sample_size(10);
    for preset in [Preset::Tiny, Preset::Small, Preset::Base] {
        let size = preset.size() as usize;
        let arch = Architecture {
            size,
            filters: preset.filters(),
            norm: NormKind::Instance,
            dropout: 0.0,
            reference: false,
        };
        let mut net = Pix2Pix::new(arch, &Device::Cpu, 0).expect("model");
        // Throughput in convolution FLOPs: criterion's "elem/s" reads as FLOP/s.
        group.throughput(Throughput::Elements(arch.step_flops()));
        let batch = Batch {
            input: random(&[1, 3, size, size], 3).tanh().expect("tanh"),
            real: random(&[1, 3, size, size], 4).tanh().expect("tanh"),
            weight: None,
        };
        group.bench_function(preset.name(), |b| {
            b.iter(|| net.train_step(&batch).expect("step"))
        });
    }
    group.finish();
}

criterion_group!(benches, convolution, training_step);
criterion_main!(benches);
