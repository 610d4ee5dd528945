//! `mimic quantize`: an INT8 copy of a generator. The calibration frames run through the
//! same live path as a camera's (tracking, sketch or alignment), so the ranges are set on
//! exactly what the generator is fed; the last fifth are held out to judge the copy.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use mimic::infer::quantize::{quantize, Feed, Method, Quantized, Request, Trial};
use mimic::infer::{DevicePreference, ModelCard, QuantizationSpec};
use mimic::video::VideoReader;
use mimic::{data::dataset, data::faceset, files, onnx, progress};
use serde::Serialize;

use crate::cli::{QuantizeArgs, SessionFlags};

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

pub fn run(args: QuantizeArgs) -> anyhow::Result<ExitCode> {
    let report = int8_copy(&Job {
        model: &args.model,
        calibration: &args.calibration,
        out: args.out.clone(),
        frames: args.frames,
        method: args.method,
    })?;
    match args.json.json {
        true => super::print_json(&report)?,
        false => print_summary(&report),
    }
    Ok(ExitCode::SUCCESS)
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
        }
    }
}

/// Calibration frames when none are asked for (`--frames`' default).
pub const DEFAULT_FRAMES: usize = 300;

/// Writes the INT8 copy of `job.model` and its card; nothing is written when the model has
/// an operator mimic cannot quantise or the calibration frames show no face.
pub fn int8_copy(job: &Job) -> anyhow::Result<Report> {
    let out = job.out.clone().unwrap_or_else(|| int8_path(job.model));
    if out == job.model {
        bail!("--out is the model itself: give another path");
    }
    if job.frames < 2 {
        bail!("--frames must be at least 2: some to calibrate on, one to check the result");
    }
    let bytes = std::fs::read(job.model)
        .with_context(|| format!("cannot read model '{}'", job.model.display()))?;
    let model = onnx::read::decode(&bytes)
        .with_context(|| format!("cannot read model '{}'", job.model.display()))?;
    // Refused before the calibration frames are run, not after.
    mimic::infer::quantize::check(&model)
        .with_context(|| format!("cannot quantise '{}'", job.model.display()))?;
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
    // The card (and the pictures it names) first: a model that is there runs as its card says.
    let card = match ModelCard::read_beside(job.model)? {
        Some(card) => Some(write_card(
            card,
            job,
            &out,
            &quantized,
            calibration.len(),
            held.len(),
        )?),
        None => None,
    };
    let encoded = quantized.model.encode();
    files::write_atomically(&out, &encoded)?;
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
fn frames_of(source: &Path) -> anyhow::Result<Source> {
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
fn capture(model: &Path, source: &Source, wanted: usize) -> anyhow::Result<Captured> {
    let flags = calibration_flags(model);
    let mut session = super::session(&flags, false, false)?;
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
        let (face, _) = session.step(&frame)?;
        if face {
            feeds.push(session.processor().generator().last_inputs());
        }
    }
    bar.finish_and_clear();
    if feeds.len() < 2 {
        bail!(
            "'{}' gave {} frame(s) with a face the model could run on ({} read): calibrate on the target's own video, dataset or face set",
            source.path.display(),
            feeds.len(),
            index
        );
    }
    let generator = session.processor().generator();
    Ok(Captured {
        feeds,
        output: generator.output_name().to_string(),
        range: generator.output_range(),
    })
}

/// The live path's defaults, detecting on every frame (an image folder's pictures are not
/// a video the tracker can follow), on the CPU.
fn calibration_flags(model: &Path) -> SessionFlags {
    SessionFlags {
        detect_every: 1,
        device: DevicePreference::Cpu,
        serial: true,
        ..SessionFlags::defaults(model.to_path_buf())
    }
}

/// The parent's card with the quantisation said, beside the INT8 model; the pictures it
/// names are copied along when the model goes to another folder.
fn write_card(
    mut card: ModelCard,
    job: &Job,
    out: &Path,
    quantized: &Quantized,
    frames: usize,
    held_out: usize,
) -> anyhow::Result<PathBuf> {
    card.quantization = Some(QuantizationSpec {
        precision: "int8".into(),
        parent: file_name(job.model),
        calibration: job.calibration.display().to_string(),
        frames,
        held_out,
        method: serde_json::to_value(quantized.method)?
            .as_str()
            .unwrap_or_default()
            .to_string(),
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
            std::fs::copy(&from, &to).with_context(|| {
                format!("cannot copy '{}' beside the INT8 model", from.display())
            })?;
        }
    }
    Ok(card.write_beside(out)?)
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

pub fn print_summary(report: &Report) {
    println!(
        "wrote {} ({:.1} MB, was {:.1} MB)",
        report.model.display(),
        report.bytes_int8 as f64 / 1e6,
        report.bytes_float as f64 / 1e6,
    );
    match &report.card {
        Some(card) => println!("and its card {}", card.display()),
        None => println!("(the float model has no card, so neither has its INT8 copy)"),
    }
    println!(
        "calibrated on {} frames; against the float model on {} held-out frames:",
        report.frames, report.held_out
    );
    for trial in &report.trials {
        let kept = if trial.method == report.method {
            "  (kept)"
        } else {
            ""
        };
        let name = clap::ValueEnum::to_possible_value(&trial.method)
            .map(|v| v.get_name().to_string())
            .unwrap_or_default();
        println!("  {name:<11} PSNR {:.1} dB{kept}", trial.psnr_db);
    }
}
