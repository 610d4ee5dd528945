use candle_core::{Device, Tensor};
use mimic::train::pix2pix::{model::Architecture, Pix2Pix, Preset};
use std::time::Instant;
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
    for _ in 0..5 {
        net.step(&s, &s).unwrap();
    }
    let n = 30;
    let mut t = [0f64; 5];
    for _ in 0..n {
        let a = Instant::now();
        let fake = net.generator.forward(&s, true).unwrap();
        let b = Instant::now();
        let dr = net.discriminator.forward(&s, &s, true).unwrap();
        let df = net.discriminator.forward(&fake.detach(), &s, true).unwrap();
        let dl = ((dr - 1.0).unwrap().sqr().unwrap().mean_all().unwrap()
            + df.sqr().unwrap().mean_all().unwrap())
        .unwrap();
        let c = Instant::now();
        let _g = dl.backward().unwrap();
        let d = Instant::now();
        let sc = net.discriminator.forward(&fake, &s, true).unwrap();
        let gl = ((sc - 1.0).unwrap().sqr().unwrap().mean_all().unwrap()
            + ((&fake - &s).unwrap().abs().unwrap().mean_all().unwrap() * 100.0).unwrap())
        .unwrap();
        let e = Instant::now();
        let _g2 = gl.backward().unwrap();
        let f = Instant::now();
        for (i, (x, y)) in [(a, b), (b, c), (c, d), (d, e), (e, f)].iter().enumerate() {
            t[i] += (*y - *x).as_secs_f64();
        }
    }
    let names = [
        "G fwd",
        "D fwd x2",
        "D backward",
        "D fwd (G loss)",
        "G loss backward",
    ];
    for (name, v) in names.iter().zip(t) {
        println!("{name}: {:.1} ms", v * 1000.0 / n as f64);
    }
    let a = Instant::now();
    for _ in 0..n {
        net.step(&s, &s).unwrap();
    }
    println!(
        "full step: {:.1} ms",
        a.elapsed().as_secs_f64() * 1000.0 / n as f64
    );
}
