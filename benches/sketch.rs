//! The sketch renderer (anti-aliased, width-scaled) against imageproc's plain 1-px lines as
//! a baseline for what anti-aliasing and width cost; and the warp generator's other input, the
//! reference picture moved onto landmarks, at the tiny and small models' sizes.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use image::Rgb;
use mimic::face::reference::{Pick, Reference};
use mimic::face::{DetectOptions, FaceAnalyzer, Landmarks};
use mimic::frame::{read_image, Rgb8};
use mimic::geometry::Point;
use mimic::reenact::sketch::{SketchRenderer, SketchStyle};

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

/// The astronaut at `side` px with its landmarks, moved onto the same face a little to the
/// right and with the mouth opened: what every reenactment frame asks of the reference.
fn reference_warp(c: &mut Criterion) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testdata/faces/misc/astronaut.png");
    let frame = read_image(&path).expect("test data");
    let landmarks = landmarks();
    let mut group = c.benchmark_group("reference_warp");
    for side in [128u32, 256] {
        let scale = side as f32 / frame.width() as f32;
        let picture =
            image::imageops::resize(&frame, side, side, image::imageops::FilterType::Triangle);
        let at_rest = landmarks.map(|p| Point::new(p.x * scale, p.y * scale));
        let reference = Reference::new(vec![(picture, at_rest.clone())]).expect("one keyframe");
        let driven = Landmarks::new(std::array::from_fn(|i| {
            let p = at_rest.points()[i];
            let open = if (57..60).contains(&i) || (65..68).contains(&i) {
                3.0
            } else {
                0.0
            };
            Point::new(p.x + 2.0, p.y + open)
        }));
        let mut out = Rgb8::new(side, side);
        group.bench_function(format!("{side}px"), |b| {
            b.iter(|| reference.warp_into(Pick::only(0), &driven, &mut out))
        });
    }
    group.finish();
}

criterion_group!(benches, sketch, reference_warp);
criterion_main!(benches);
