use candle_core::{Device, Tensor};
use mimic::train::pix2pix::{model::Architecture, Pix2Pix, Preset};
fn main() {
    mimic::train::init_cpu_threads();
    let preset = Preset::Tiny;
    let size = preset.size() as usize;
    let arch = Architecture {
        size,
        filters: preset.filters(),
        norm: mimic::train::NormKind::Instance,
        dropout: 0.0,
    };
    let mut net = Pix2Pix::new(arch, &Device::Cpu, 0).unwrap();
    let s = Tensor::zeros((1, 3, size, size), candle_core::DType::F32, &Device::Cpu).unwrap();
    let t = std::time::Instant::now();
    for _ in 0..40 {
        net.step(&s, &s).unwrap();
    }
    println!("{:.1} ms/step", t.elapsed().as_secs_f64() * 1000.0 / 40.0);
}
