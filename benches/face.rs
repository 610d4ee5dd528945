//! Face analysis per frame: detection by HOG and MTCNN at full and half scale (the live
//! loop's choice),
//! landmarks in a known box (tracking between detections), alignment warp, descriptor.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use mimic::face::{AlignedCrop, DetectOptions, DetectorKind, FaceAnalyzer};
use mimic::frame::read_image;

fn frame_path() -> PathBuf {
    // A 512×512 talking-head frame is what the live loop sees; the astronaut is one.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata/faces/misc/astronaut.png")
}

fn detection(c: &mut Criterion) {
    let frame = read_image(&frame_path()).expect("test data");
    let mut group = c.benchmark_group("detect_512");
    let detectors = [("hog", DetectorKind::Hog), ("mtcnn", DetectorKind::Mtcnn)];
    for (detector_name, detector) in detectors {
        for (scale_name, scale) in [("scale_1.0", 1.0), ("scale_0.5", 0.5)] {
            let analyzer = FaceAnalyzer::new(DetectOptions {
                detector,
                upsample: 0,
                scale,
            })
            .expect("models");
            group.bench_function(format!("{detector_name}_{scale_name}"), |b| {
                b.iter(|| analyzer.faces(&frame).expect("analysis"))
            });
        }
    }
    group.finish();
}

fn landmarks_alignment_descriptor(c: &mut Criterion) {
    let frame = read_image(&frame_path()).expect("test data");
    let analyzer = FaceAnalyzer::new(DetectOptions {
        upsample: 0,
        ..Default::default()
    })
    .and_then(FaceAnalyzer::with_descriptors)
    .expect("models");
    let face = analyzer.faces(&frame).expect("analysis").remove(0);
    c.bench_function("landmarks_in_box_512", |b| {
        b.iter(|| {
            analyzer
                .landmarks_in(&frame, &face.bbox)
                .expect("landmarks")
        })
    });
    let crop = AlignedCrop::new(256, 0.2);
    let to_crop = crop.transform(&face.landmarks).expect("transform");
    c.bench_function("align_warp_256", |b| b.iter(|| crop.warp(&frame, &to_crop)));
    c.bench_function("descriptor_512", |b| {
        b.iter(|| analyzer.descriptor(&frame, &face.bbox).expect("descriptor"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = detection, landmarks_alignment_descriptor
}
criterion_main!(benches);
