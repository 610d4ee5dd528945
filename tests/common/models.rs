//! Reenactment datasets extracted from the test clips, and the pix2pix models trained on them.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;

use mimic::data::dataset::Dataset;
use mimic::data::extract::{extract_reenact, ReenactOptions};
use mimic::face::{DetectOptions, FaceAnalyzer};
use mimic::reenact::sketch::SketchStyle;
use mimic::train::pix2pix::{self, Options, Preset, TrainSummary};

use super::{scratch, testdata};

/// The face analyser the datasets here are extracted with: no upsampling.
pub fn analyzer() -> FaceAnalyzer {
    FaceAnalyzer::new(DetectOptions {
        upsample: 0,
        ..Default::default()
    })
    .unwrap()
}

/// The testdata clip `video` extracted into `dir` as a reenactment dataset: 128-pixel crops,
/// the last 10 % held out.
pub fn reenact_dataset(video: &str, dir: &Path) -> Dataset {
    let options = ReenactOptions {
        size: 128,
        holdout: 0.1,
        sketch: SketchStyle::default(),
    };
    extract_reenact(&testdata(video), dir, &analyzer(), &options).unwrap();
    Dataset::open(dir).unwrap()
}

/// A pix2pix model trained on `dataset` into `model` as `options` say, never stopped early.
pub fn train_reenact(dataset: &Dataset, model: &Path, options: &Options) -> TrainSummary {
    let source = pix2pix::Source::Reenact(dataset);
    pix2pix::train(source, model, options, &AtomicBool::new(false)).unwrap()
}

/// A tiny reenactment model of d0's person (the tiny preset, untrained: the tests that use it
/// are about the loop, not the likeness), made once per test binary in `live-model`, its
/// dataset in `data` beside it.
pub fn tiny_d0_model() -> &'static Path {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL.get_or_init(|| {
        let dir = scratch("live-model");
        let dataset = reenact_dataset("video/d0.mp4", &dir.join("data"));
        let model = dir.join("d0.onnx");
        train_reenact(&dataset, &model, &Options::new(Preset::Tiny, Some(0)));
        model
    })
}
