//! Live-path stages on real frames: composing the three panels of d9.mp4 (beside the `image`
//! crate's filtered resize the composer replaced), one tracked frame (landmarks followed from
//! the previous frame) beside a full detection, and the swap's blend stage on a frame of
//! WDA_AlexandriaOcasioCortez_000.mp4.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use image::imageops::{self, FilterType};
use mimic::face::reference::Reference;
use mimic::face::track::{FaceTracker, TrackOptions};
use mimic::face::{AlignedCrop, DetectOptions, FaceAnalyzer};
use mimic::frame::Rgb8;
use mimic::geometry::Point;
use mimic::output::compose::{Composer, Overlay, View};
use mimic::swap::blend::{Blend, BlendOptions};
use mimic::swap::detail::Detail;
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
                .compose(&frame, Some(&generated), Some(&sketch), Overlay::default())
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

/// The swap's blend stage on a 512×512 frame of WDA_AlexandriaOcasioCortez_000.mp4 with a
/// 128-pixel face (the `tiny128` preset): the mask and the colour match, the target's detail
/// (one keyframe), the paste, all of it as the live path runs it, and what the mouth mask and
/// occlusion add.
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
    let crop = AlignedCrop::new(128, 0.1);
    let to_crop = crop.transform(&face.landmarks).expect("alignment");
    let in_crop = face.landmarks.map(|p| to_crop.apply(p));
    let original = crop.warp(&frame, &to_crop);
    let generated = imageops::flip_horizontal(&original);
    let keyframes = Reference::new(vec![(original.clone(), in_crop.clone())]).expect("a keyframe");
    let mut detail = Detail::new(keyframes, [Point::new(0.0, 0.0); 68], 128);
    let mut blend = Blend::new(BlendOptions::default(), 128);
    blend.shape(&in_crop);
    let mut group = c.benchmark_group("swap_blend_512_crop128");
    group.bench_function("shape_and_rct", |b| {
        b.iter(|| {
            let mut g = generated.clone();
            blend.shape(&in_crop);
            blend.match_colors(&mut g, &original);
            g
        })
    });
    group.bench_function("detail", |b| {
        b.iter(|| {
            let mut g = generated.clone();
            detail.add_to(&mut g, &in_crop, blend.mask());
            g
        })
    });
    group.bench_function("paste", |b| {
        b.iter(|| {
            let mut out = frame.clone();
            blend.paste(&generated, &crop, &to_crop, &mut out);
            out
        })
    });
    let with_mouth = BlendOptions {
        mouth: true,
        ..BlendOptions::default()
    };
    let mut mouth = Blend::new(with_mouth, 128);
    mouth.shape(&in_crop);
    group.bench_function("mouth_mask", |b| b.iter(|| mouth.shape_mouth(&in_crop)));
    // Occlusion, once it knows the face: the frame held still by the eyes and nose, each
    // pixel's colours, the windows, and the result carried into the model's crop.
    let with_occlusion = BlendOptions {
        occlusion: true,
        ..BlendOptions::default()
    };
    let mut occlusion = Blend::new(with_occlusion, 128);
    occlusion.shape(&in_crop);
    for _ in 0..30 {
        occlusion.see_occlusion(&frame, &face.landmarks, &to_crop);
    }
    group.bench_function("occlusion", |b| {
        b.iter(|| occlusion.see_occlusion(&frame, &face.landmarks, &to_crop))
    });
    group.bench_function("blend_stage", |b| {
        b.iter(|| {
            let (mut g, mut out) = (generated.clone(), frame.clone());
            blend.shape(&in_crop);
            blend.match_colors(&mut g, &original);
            detail.add_to(&mut g, &in_crop, blend.mask());
            blend.paste(&g, &crop, &to_crop, &mut out);
            out
        })
    });
    group.finish();
}

criterion_group!(benches, compose, tracking, swap_blend);
criterion_main!(benches);
