//! An INT8 copy of a generator, calibrated on what the live path feeds it: the calibration
//! frames run through the same session a camera's would (tracking, sketch or alignment), so
//! the ranges are set on exactly the generator's inputs; the last fifth are held out to judge
//! the copy against its parent. `mimic quantize` and the trainers' `--int8` both use it.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::data::{dataset, faceset};
use crate::infer::quantize::{quantize, Feed, Method, QuantizeError, Quantized, Request, Trial};
use crate::infer::{DevicePreference, InferError, ModelCard, QuantizationSpec};
use crate::pipeline::{PipelineError, Session, SessionConfig};
use crate::video::{VideoError, VideoReader};
use crate::{files, onnx, progress};

#[derive(Debug, thiserror::Error)]
pub enum Int8Error {
    #[error("--out is the model itself: give another path")]
    OutIsModel,
    #[error("--frames must be at least 2: some to calibrate on, one to check the result")]
    TooFewFrames,
    #[error("cannot read model '{}': {reason}", model.display())]
    Unreadable { model: PathBuf, reason: String },
    #[error("cannot quantise '{}': {reason}", model.display())]
    Unquantisable {
        model: PathBuf,
        reason: QuantizeError,
    },
    #[error("'{}' gave {found} frame(s) with a face the model could run on ({read} read): calibrate on the target's own video, dataset or face set", calibration.display())]
    NoFaces {
        calibration: PathBuf,
        found: usize,
        read: usize,
    },
    #[error("cannot copy '{}' beside the INT8 model: {reason}", path.display())]
    Copy { path: PathBuf, reason: String },
    #[error(transparent)]
    Quantize(#[from] QuantizeError),
    #[error(transparent)]
    Infer(#[from] InferError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Video(#[from] VideoError),
    #[error(transparent)]
    Dataset(#[from] dataset::DatasetError),
    #[error(transparent)]
    File(#[from] files::FileError),
    #[error("cannot name the method: {0}")]
    Json(#[from] serde_json::Error),
}

type Result<T> = std::result::Result<T, Int8Error>;

#[derive(Serialize)]
pub struct Report {
    pub model: PathBuf,
    /// None for a model without a card: its INT8 copy runs as it does, card-less.
    pub card: Option<PathBuf>,
    pub frames: usize,
    pub held_out: usize,
    pub method: Method,
    pub psnr_db: f64,
    pub trials: Vec<Trial>,
    pub bytes_float: usize,
    pub bytes_int8: usize,
}

/// The generator's inputs on the calibration frames, and what its output is.
struct Captured {
    feeds: Vec<Feed>,
    output: String,
    range: [f32; 2],
}

/// What to quantise, on what, and where to write it.
pub struct Job<'a> {
    pub model: &'a Path,
    pub calibration: &'a Path,
    /// Default: `NAME.int8.onnx` beside the model.
    pub out: Option<PathBuf>,
    pub frames: usize,
    /// Default: each tried, the closer to the parent kept.
    pub method: Option<Method>,
    /// Replace an INT8 model (and card) already at the output path.
    pub replace: bool,
}

impl Job<'_> {
    /// The command's defaults for `model`, calibrated on `calibration`.
    pub fn defaults<'a>(model: &'a Path, calibration: &'a Path) -> Job<'a> {
        Job {
            model,
            calibration,
            out: None,
            frames: DEFAULT_FRAMES,
            method: None,
            replace: false,
        }
    }
}

/// Calibration frames when none are asked for (`--frames`' default).
pub const DEFAULT_FRAMES: usize = 300;

/// Writes the INT8 copy of `job.model` and its card; nothing is written when the model has
/// an operator mimic cannot quantise or the calibration frames show no face.
pub fn int8_copy(job: &Job) -> Result<Report> {
    let out = job.out.clone().unwrap_or_else(|| int8_path(job.model));
    if out == job.model {
        return Err(Int8Error::OutIsModel);
    }
    if job.frames < 2 {
        return Err(Int8Error::TooFewFrames);
    }
    files::refuse_existing(&out, job.replace)?;
    files::refuse_existing(&ModelCard::path_for(&out), job.replace)?;
    let unreadable = |reason: String| Int8Error::Unreadable {
        model: job.model.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(job.model).map_err(|e| unreadable(e.to_string()))?;
    let model = onnx::read::decode(&bytes).map_err(|e| unreadable(e.to_string()))?;
    // Refused before the calibration frames are run, not after.
    crate::infer::quantize::check(&model).map_err(|e| Int8Error::Unquantisable {
        model: job.model.to_path_buf(),
        reason: e,
    })?;
    let source = frames_of(job.calibration)?;
    let captured = capture(job.model, &source, job.frames)?;
    let held_out = (captured.feeds.len() / 5).max(1);
    let (calibration, held) = captured.feeds.split_at(captured.feeds.len() - held_out);
    let methods = job.method.map_or(Method::ALL.to_vec(), |m| vec![m]);
    let quantized = quantize(
        &model,
        &Request {
            calibration,
            held_out: held,
            output: &captured.output,
            range: captured.range,
            methods: &methods,
        },
    )?;
    // The pictures the card names first, then the card with the model: a model that is there
    // runs as its card says.
    let encoded = quantized.model.encode();
    let card = match ModelCard::read_beside(job.model)? {
        Some(card) => {
            let card = int8_card(card, job, &out, &quantized, calibration.len(), held.len())?;
            Some(card.write_with(&out, Some(&encoded))?)
        }
        None => {
            files::write_atomically(&out, &encoded)?;
            None
        }
    };
    let report = Report {
        model: out,
        card,
        frames: calibration.len(),
        held_out: held.len(),
        method: quantized.method,
        psnr_db: best(&quantized),
        trials: quantized.trials.clone(),
        bytes_float: bytes.len(),
        bytes_int8: encoded.len(),
    };
    Ok(report)
}

/// `NAME.onnx` → `NAME.int8.onnx`.
fn int8_path(model: &Path) -> PathBuf {
    let stem = model.file_stem().unwrap_or_default().to_string_lossy();
    model.with_file_name(format!("{stem}.int8.onnx"))
}

/// Where calibration frames are read, and where they stop.
struct Source {
    path: PathBuf,
    /// The first frame not to use (a dataset's held-out frames).
    until: Option<u64>,
}

/// The frames a calibration source holds: a dataset's training frames in its source video,
/// a face set's faces, or the video or image folder itself.
fn frames_of(source: &Path) -> Result<Source> {
    Ok(if source.join(dataset::MANIFEST).is_file() {
        let manifest = dataset::Dataset::open(source)?.manifest;
        Source {
            path: manifest.source,
            until: Some(manifest.holdout_from),
        }
    } else if source.join(faceset::MANIFEST).is_file() {
        Source {
            path: source.join(faceset::FACES_DIR),
            until: None,
        }
    } else {
        Source {
            path: source.to_path_buf(),
            until: None,
        }
    })
}

/// Runs the float model's live path on `source`, keeping the generator's inputs of up to
/// `wanted` frames with a face, spread evenly over the source.
fn capture(model: &Path, source: &Source, wanted: usize) -> Result<Captured> {
    let mut session = Session::open(&calibration_config(model), false)?;
    let mut reader = VideoReader::open(&source.path)?;
    let total = match (reader.info().frame_count, source.until) {
        (Some(n), Some(until)) => Some(n.min(until)),
        (n, until) => n.or(until),
    };
    let stride = total.map_or(1, |n| (n as usize / wanted).max(1));
    let bar = progress::progress(total, "calibrating");
    let mut feeds = Vec::with_capacity(wanted);
    let mut index = 0usize;
    while feeds.len() < wanted && source.until.is_none_or(|u| (index as u64) < u) {
        let Some(frame) = reader.next_frame()? else {
            break;
        };
        // Frames between the kept ones are not run: every frame is detected afresh anyway.
        let kept = index.is_multiple_of(stride);
        index += 1;
        bar.inc(1);
        if !kept {
            continue;
        }
        if session.process(&frame).face {
            feeds.push(session.generator().last_inputs());
        }
    }
    bar.finish_and_clear();
    if feeds.len() < 2 {
        return Err(Int8Error::NoFaces {
            calibration: source.path.clone(),
            found: feeds.len(),
            read: index,
        });
    }
    let generator = session.generator();
    Ok(Captured {
        feeds,
        output: generator.output_name().to_string(),
        range: generator.output_range(),
    })
}

/// The live path's defaults, detecting on every frame (an image folder's pictures are not
/// a video the tracker can follow), on the CPU.
fn calibration_config(model: &Path) -> SessionConfig {
    SessionConfig {
        model: model.to_path_buf(),
        detect_every: 1,
        device: DevicePreference::Cpu,
        serial: true,
        mark: false,
        ..SessionConfig::default()
    }
}

/// The parent's card with the quantisation said, for the INT8 model; the pictures it names
/// are copied along when the model goes to another folder.
fn int8_card(
    mut card: ModelCard,
    job: &Job,
    out: &Path,
    quantized: &Quantized,
    frames: usize,
    held_out: usize,
) -> Result<ModelCard> {
    card.quantization = Some(QuantizationSpec {
        precision: "int8".into(),
        parent: file_name(job.model),
        calibration: job.calibration.display().to_string(),
        frames,
        held_out,
        method: quantized.method.name().to_string(),
        psnr_db: best(quantized),
    });
    let pictures = [
        card.reference.as_ref().map(|r| r.image.clone()),
        card.detail.as_ref().map(|d| d.image.clone()),
    ];
    for picture in pictures.into_iter().flatten() {
        let (from, to) = (
            job.model.with_file_name(&picture),
            out.with_file_name(&picture),
        );
        if from != to {
            std::fs::copy(&from, &to).map_err(|e| Int8Error::Copy {
                path: from.clone(),
                reason: e.to_string(),
            })?;
        }
    }
    Ok(card)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

fn best(quantized: &Quantized) -> f64 {
    quantized
        .trials
        .iter()
        .find(|t| t.method == quantized.method)
        .map_or(f64::NAN, |t| t.psnr_db)
}
