use candle_core::{Device, Tensor, Var};
use std::time::Instant;
fn random(shape: &[usize], seed: u64) -> Tensor {
    let mut rng = mimic::train::params::Rng::new(seed);
    let n: usize = shape.iter().product();
    Tensor::from_vec((0..n).map(|_| rng.normal()).collect::<Vec<f32>>(), shape, &Device::Cpu).unwrap()
}
fn t<T>(name: &str, f: impl Fn() -> T) -> T { let mut r = f(); let s = Instant::now(); for _ in 0..5 { r = f(); } println!("{name}: {:.2} ms", s.elapsed().as_secs_f64()*1000.0/5.0); r }
fn main() {
    if std::env::var_os("MALLOPT").is_some() { unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30); libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30); libc::mallopt(libc::M_ARENA_MAX, 2);} }
    let x = Var::from_tensor(&random(&[1, 48, 128, 128], 1)).unwrap();
    let w = Var::from_tensor(&random(&[16, 48, 4, 4], 2)).unwrap();
    let cols = random(&[1, 768, 16384], 3);
    let wm = random(&[1, 16, 768], 4);
    let g = random(&[1, 16, 16384], 5);
    t("matmul fwd W x cols", || wm.broadcast_matmul(&cols).unwrap());
    t("matmul grad_cols W^T x g", || wm.t().unwrap().broadcast_matmul(&g).unwrap());
    t("matmul grad_W g x cols^T", || g.broadcast_matmul(&cols.t().unwrap()).unwrap());
    t("conv fwd", || mimic::train::conv::conv2d(&x, &w, 1, mimic::train::layers::Pad::keras_same(4)).unwrap());
    t("conv fwd+bwd", || mimic::train::conv::conv2d(&x, &w, 1, mimic::train::layers::Pad::keras_same(4)).unwrap().sqr().unwrap().sum_all().unwrap().backward().unwrap());
}
