//! Live-path stages on real frames: composing the three panels of d9.mp4 (beside the `image`
//! crate's filtered resize the composer replaced), one tracked frame (landmarks followed from
//! the previous frame) beside a full detection, and the swap's blend on a frame of
//! WDA_AlexandriaOcasioCortez_000.mp4.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use image::imageops::{self, FilterType};
use mimic::blend::{Blend, BlendOptions};
use mimic::compose::{Composer, View};
use mimic::face::{AlignedCrop, DetectOptions, FaceAnalyzer};
use mimic::frame::Rgb8;
use mimic::track::{FaceTracker, TrackOptions};
use mimic::video::VideoReader;

fn frames(n: usize) -> Vec<Rgb8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/video/d9.mp4");
    let reader = VideoReader::open(&path).expect("test data");
    reader.take(n).map(|f| f.expect("frame").image).collect()
}

fn compose(c: &mut Criterion) {
    let frame = frames(1).remove(0);
    let generated = imageops::resize(&frame, 128, 128, FilterType::Triangle);
    let sketch = generated.clone();
    let mut group = c.benchmark_group("compose_panels_256");
    let mut composer = Composer::new(View::Panels, 256, true);
    group.bench_function("mimic_composer", |b| {
        b.iter(|| {
            composer
                .compose(&frame, Some(&generated), Some(&sketch), None)
                .width()
        })
    });
    group.bench_function("image_crate_resize_baseline", |b| {
        b.iter(|| {
            let live = imageops::resize(&frame, 274, 256, FilterType::Triangle);
            let g = imageops::resize(&generated, 256, 256, FilterType::Triangle);
            let s = imageops::resize(&sketch, 256, 256, FilterType::Triangle);
            live.width() + g.width() + s.width()
        })
    });
    group.finish();
}

fn tracking(c: &mut Criterion) {
    let clip = frames(2);
    let analyzer = || {
        FaceAnalyzer::new(DetectOptions {
            upsample: 0,
            ..Default::default()
        })
        .expect("models")
    };
    let mut group = c.benchmark_group("face_512x480");
    group.sample_size(30);
    // Detect on the first frame, then follow into the second each iteration.
    let mut tracker = FaceTracker::new(
        analyzer(),
        TrackOptions {
            detect_every: u32::MAX,
            ..Default::default()
        },
    )
    .expect("tracker");
    tracker.track(&clip[0]).expect("track");
    group.bench_function("tracked_frame", |b| {
        b.iter(|| tracker.track(&clip[1]).expect("track"))
    });
    let detector = analyzer();
    group.bench_function("detected_frame", |b| {
        b.iter(|| detector.faces(&clip[1]).expect("detect"))
    });
    group.finish();
}

/// Blending a generated face back into a 512×512 frame of WDA_AlexandriaOcasioCortez_000.mp4:
/// visiting the whole crop's footprint beside only the mask's extent (what `Blend` does).
fn swap_blend(c: &mut Criterion) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testdata/video/WDA_AlexandriaOcasioCortez_000.mp4");
    let frame = VideoReader::open(&path)
        .expect("test data")
        .next()
        .expect("a frame")
        .expect("decoded")
        .image;
    let analyzer = FaceAnalyzer::new(DetectOptions::default()).expect("models");
    let face = analyzer.faces(&frame).expect("detect").remove(0);
    let crop = AlignedCrop::new(64, 0.1);
    let to_crop = crop.transform(&face.landmarks).expect("alignment");
    let original = crop.warp(&frame, &to_crop);
    let generated = imageops::flip_horizontal(&original);
    let mut blend = Blend::new(BlendOptions::default(), 64);
    blend.shape(&face.landmarks.map(|p| to_crop.apply(p)));
    let mut group = c.benchmark_group("swap_blend_512");
    group.bench_function("whole_crop_footprint", |b| {
        b.iter(|| {
            let mut out = frame.clone();
            crop.unwarp_into(&generated, &to_crop, &mut out, |q| blend.weight(q));
            out
        })
    });
    group.bench_function("mask_extent", |b| {
        b.iter(|| {
            let mut out = frame.clone();
            blend.paste(&generated, &crop, &to_crop, &mut out);
            out
        })
    });
    group.bench_function("shape_and_rct", |b| {
        b.iter(|| {
            let mut g = generated.clone();
            blend.shape(&face.landmarks.map(|p| to_crop.apply(p)));
            blend.match_colors(&mut g, &original);
            g
        })
    });
    group.finish();
}

criterion_group!(benches, compose, tracking, swap_blend);
criterion_main!(benches);
