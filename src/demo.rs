//! The demo's driving face and its model, both made from one public-domain portrait (NASA's
//! astronaut photo, fetched by `setup.sh`): the portrait moved like a head in front of a
//! webcam drives the loop, and the bundled generator was trained on the same portrait moved
//! along other paths. Nothing in the demo comes from a person who did not consent to it.

use std::f32::consts::TAU;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::capture::{Generated, Source, SourceInfo};
use crate::data::dataset::{Dataset, DatasetError};
use crate::data::extract::{extract_reenact, ExtractError, ReenactOptions};
use crate::face::{FaceAnalyzer, FaceError};
use crate::frame::Rgb8;
use crate::geometry::{Point, Similarity};
use crate::infer::{InferError, ModelCard};
use crate::reenact::sketch::SketchStyle;
use crate::train::pix2pix::{self, Options, Preset};
use crate::train::TrainError;
use crate::video::{VideoError, VideoWriter, WriterOptions};

/// What the demo model's card says it is, and what it was trained on.
const DEMO_DESCRIPTION: &str =
    "mimic's demo model: pix2pix reenactment (micro preset) of NASA's public-domain astronaut portrait";
const DEMO_SOURCE: &str =
    "runtime/demo/astronaut.png, moved along Motion::training paths (src/demo.rs)";

/// The demo's frame rate.
pub const FPS: f64 = 25.0;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "no face found in the demo portrait; the face models may be damaged: run ./setup.sh again"
    )]
    NoFace,
    #[error(transparent)]
    Face(#[from] FaceError),
    #[error(transparent)]
    Video(#[from] VideoError),
    #[error(transparent)]
    Extract(#[from] ExtractError),
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error(transparent)]
    Infer(#[from] InferError),
    #[error("cannot use the scratch folder '{path}': {source}")]
    Scratch {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write '{path}': {source}")]
    Write {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// How a head moves: turning in the picture plane, drifting, leaning in and out, each a slow
/// sine with its own period (seconds) and phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Motion {
    /// Largest turn, in radians.
    pub turn: f32,
    /// Largest drift, as a fraction of the frame.
    pub drift: f32,
    /// Largest lean, as a fraction of the face's size.
    pub lean: f32,
    pub periods: [f32; 4],
    pub phases: [f32; 4],
}

impl Motion {
    /// The path the demo plays.
    pub fn demo() -> Motion {
        Motion {
            turn: 0.10,
            drift: 0.05,
            lean: 0.08,
            periods: [3.1, 4.3, 3.7, 5.3],
            phases: [0.0, 1.0, 2.0, 0.5],
        }
    }

    /// A wider path for the model's training frames, with periods and phases from `seed`.
    pub fn training(seed: u64) -> Motion {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = || {
            // xorshift64*: enough to vary the paths, and the same on every machine.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32
        };
        Motion {
            turn: 0.16,
            drift: 0.08,
            lean: 0.12,
            periods: [
                2.0 + 3.0 * next(),
                2.0 + 3.0 * next(),
                2.0 + 3.0 * next(),
                3.0 + 3.0 * next(),
            ],
            phases: [TAU * next(), TAU * next(), TAU * next(), TAU * next()],
        }
    }

    /// The turn (radians), drift (x, y; fractions of the frame) and scale at time `t` seconds.
    fn at(&self, t: f32) -> (f32, f32, f32, f32) {
        let wave = |i: usize| (TAU * t / self.periods[i] + self.phases[i]).sin();
        (
            self.turn * wave(0),
            self.drift * wave(1),
            self.drift * wave(2),
            1.0 + self.lean * wave(3),
        )
    }
}

/// A still portrait moved like a head in front of a camera.
pub struct MovingPortrait {
    portrait: Rgb8,
    center: Point,
}

impl MovingPortrait {
    /// The portrait, moved about the centre of its largest face.
    pub fn new(portrait: Rgb8, analyzer: &FaceAnalyzer) -> Result<MovingPortrait, DemoError> {
        let face = analyzer
            .faces(&portrait)?
            .into_iter()
            .next()
            .ok_or(DemoError::NoFace)?;
        Ok(MovingPortrait {
            portrait,
            center: face.bbox.center(),
        })
    }

    /// The frame at time `t` seconds along `motion`, as large as the portrait. The picture is
    /// zoomed in a little so its edges stay out of view as it turns and drifts.
    pub fn frame(&self, motion: &Motion, t: f32) -> Rgb8 {
        let (w, h) = self.portrait.dimensions();
        let (turn, dx, dy, scale) = motion.at(t);
        let k = 1.2 * scale;
        let (a, b) = (k * turn.cos(), k * turn.sin());
        let c = self.center;
        let to_frame = Similarity {
            a,
            b,
            tx: c.x + dx * w as f32 - (a * c.x - b * c.y),
            ty: c.y + dy * h as f32 - (b * c.x + a * c.y),
        };
        to_frame.warp(&self.portrait, w, h)
    }

    /// The portrait moving along the demo's path for `seconds`, as a live loop's source; at
    /// the demo's pace when someone watches (`paced`), else as fast as it is asked for.
    pub fn into_source(self, seconds: f64, paced: bool) -> Source {
        let (width, height) = self.portrait.dimensions();
        let motion = Motion::demo();
        Source::generated(Generated {
            picture: Box::new(move |t: Duration| {
                (t.as_secs_f64() < seconds).then(|| self.frame(&motion, t.as_secs_f32()))
            }),
            info: SourceInfo {
                width,
                height,
                fps: FPS,
            },
            paced,
        })
    }
}

/// Trains the demo model (the `micro` preset, so it is small enough to ship) on `frames`
/// frames of the portrait moved along training paths; writes the model, its card, its mean
/// frame and its reference picture beside `model`, and everything else (video, dataset, previews, checkpoints) to
/// `scratch`.
pub fn train_model(
    portrait: &MovingPortrait,
    analyzer: &FaceAnalyzer,
    scratch: &Path,
    model: &Path,
    frames: u32,
    steps: u64,
    stop: &AtomicBool,
) -> Result<(), DemoError> {
    let scratch_error = |source| DemoError::Scratch {
        path: scratch.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(scratch).map_err(scratch_error)?;
    let video = scratch.join("portrait.mp4");
    let (w, h) = portrait.portrait.dimensions();
    let mut writer = VideoWriter::create(&video, WriterOptions::new(w, h, FPS))?;
    // Several paths, each a few seconds long, so the model sees many poses.
    for i in 0..frames {
        let motion = Motion::training(u64::from(i / 100));
        writer.write(&portrait.frame(&motion, i as f32 / FPS as f32))?;
    }
    writer.finish()?;
    let data = scratch.join("data");
    let options = ReenactOptions {
        size: Preset::Micro.size(),
        holdout: 0.05,
        sketch: SketchStyle::default(),
    };
    extract_reenact(&video, &data, analyzer, &options)?;
    let dataset = Dataset::open(&data)?;
    let trained = scratch.join("demo.onnx");
    pix2pix::train(
        pix2pix::Source::Reenact(&dataset),
        &trained,
        &Options::new(Preset::Micro, Some(steps)),
        stop,
    )?;
    let beside = |model: &Path, ext: &str| model.with_extension(ext);
    let mut files = vec![(trained.clone(), model.to_path_buf())];
    for ext in ["mean.png", "reference.png"] {
        if beside(&trained, ext).is_file() {
            files.push((beside(&trained, ext), beside(model, ext)));
        }
    }
    for (from, to) in files {
        std::fs::copy(&from, &to).map_err(|source| DemoError::Write { path: to, source })?;
    }
    // The card says what the model was trained on, rather than where the scratch video lay.
    let mut card = ModelCard::read_beside(&trained)?.ok_or_else(|| DemoError::Write {
        path: ModelCard::path_for(&trained),
        source: std::io::ErrorKind::NotFound.into(),
    })?;
    card.description = DEMO_DESCRIPTION.to_string();
    if let Some(training) = &mut card.training {
        training.insert("source".into(), DEMO_SOURCE.into());
        training.insert("dataset".into(), "models/demo.work/data".into());
    }
    card.write_beside(model)?;
    Ok(())
}
