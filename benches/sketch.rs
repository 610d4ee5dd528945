//! The sketch renderer (anti-aliased, width-scaled) against imageproc's plain 1-px lines as
//! a baseline for what anti-aliasing and width cost.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use image::Rgb;
use mimic::face::{DetectOptions, FaceAnalyzer, Landmarks};
use mimic::frame::{read_image, Rgb8};
use mimic::sketch::{SketchRenderer, SketchStyle};

fn landmarks() -> Landmarks {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testdata/faces/misc/astronaut.png");
    let frame = read_image(&path).expect("test data");
    let analyzer = FaceAnalyzer::new(DetectOptions::default()).expect("models");
    analyzer
        .faces(&frame)
        .expect("analysis")
        .remove(0)
        .landmarks
}

fn sketch(c: &mut Criterion) {
    let landmarks = landmarks();
    let mut group = c.benchmark_group("sketch_512");
    let mut renderer = SketchRenderer::new(512, 512, SketchStyle::default());
    group.bench_function("mimic_antialiased", |b| {
        b.iter(|| renderer.render(&landmarks).width())
    });
    let mut canvas = Rgb8::new(512, 512);
    group.bench_function("imageproc_1px_baseline", |b| {
        b.iter(|| {
            canvas.iter_mut().for_each(|v| *v = 0);
            for pair in landmarks.points().windows(2) {
                imageproc::drawing::draw_line_segment_mut(
                    &mut canvas,
                    (pair[0].x, pair[0].y),
                    (pair[1].x, pair[1].y),
                    Rgb([255, 255, 255]),
                );
            }
        })
    });
    group.finish();
}

criterion_group!(benches, sketch);
criterion_main!(benches);
