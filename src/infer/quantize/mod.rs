//! INT8 generators: a float ONNX generator rewritten in the QDQ form that ONNX Runtime fuses
//! into integer kernels — weights symmetric int8 per output channel, activations uint8 with
//! ranges calibrated on the generator's own inputs — and judged against its float parent on
//! inputs calibration did not see.

mod calibrate;
mod graph;
mod qdq;

pub use calibrate::{Feed, Method};

use std::collections::HashMap;

use calibrate::{Activations, Runner};
use qdq::{Params, Plan};

use crate::onnx::Model;
use crate::progress::progress;

#[derive(Debug, thiserror::Error)]
pub enum QuantizeError {
    #[error("the model uses {op} (node '{node}'), which mimic cannot quantise: it quantises generators made of Conv, ConvTranspose, Gemm, Resize, Concat, Add, Mul, pooling, the usual activations and normalisations")]
    UnsupportedOp { op: String, node: String },
    #[error("the model is quantised already (it has quantised operators): give its float parent")]
    AlreadyQuantized,
    #[error("calibration gave the generator nothing to run on")]
    NoCalibration,
    #[error("ONNX Runtime failed while quantising: {0}")]
    Runtime(String),
    #[error("quantisation went wrong: {0}")]
    Internal(String),
}

/// What to calibrate on and how to judge the result.
pub struct Request<'a> {
    /// Inputs whose activations set the ranges.
    pub calibration: &'a [Feed],
    /// Inputs the INT8 model is compared with its parent on.
    pub held_out: &'a [Feed],
    /// The output compared, and the range of its values (the card's).
    pub output: &'a str,
    pub range: [f32; 2],
    /// The calibration methods to try; the one closest to the parent is kept.
    pub methods: &'a [Method],
}

/// An INT8 model and how close each method came to its float parent.
pub struct Quantized {
    pub model: Model,
    pub method: Method,
    pub trials: Vec<Trial>,
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Trial {
    pub method: Method,
    /// PSNR of the INT8 output against the float one, over the held-out inputs (dB, the
    /// output's range as the peak).
    pub psnr_db: f64,
}

/// Whether mimic can quantise `model`: the sentence naming what it cannot, before any
/// calibration runs.
pub fn check(model: &Model) -> Result<(), QuantizeError> {
    Plan::of(&graph::prepare(model.clone())?).map(|_| ())
}

/// Quantises `model`, calibrating with each of the request's methods and keeping the one
/// whose output is closest to the float model's on the held-out inputs.
pub fn quantize(model: &Model, request: &Request) -> Result<Quantized, QuantizeError> {
    if request.calibration.is_empty() || request.held_out.is_empty() {
        return Err(QuantizeError::NoCalibration);
    }
    let prepared = graph::prepare(model.clone())?;
    let plan = Plan::of(&prepared)?;
    let seen = Activations::observe(&prepared, &plan.observed, request.calibration)?;
    let comparisons = (1 + request.methods.len()) * request.held_out.len();
    let bar = progress(Some(comparisons as u64), "comparing");
    let mut parent = Runner::new(model)?;
    let mut expected = Vec::with_capacity(request.held_out.len());
    for feed in request.held_out {
        expected.push(parent.output(feed, request.output)?);
        bar.inc(1);
    }
    let mut best: Option<Quantized> = None;
    let mut trials = Vec::new();
    for &method in request.methods {
        let candidate = qdq::rewrite(&prepared, &plan.params(&ranges(&plan, &seen, method)?))?;
        let mut runner = Runner::new(&candidate)?;
        let mut error = Squared::default();
        for (feed, expected) in request.held_out.iter().zip(&expected) {
            let got = runner.output(feed, request.output)?;
            error.add(&got, expected, request.range);
            bar.inc(1);
        }
        let trial = Trial {
            method,
            psnr_db: error.psnr(request.range),
        };
        trials.push(trial);
        if best.as_ref().is_none_or(|b| trial.psnr_db > best_psnr(b)) {
            best = Some(Quantized {
                model: candidate,
                method,
                trials: vec![trial],
            });
        }
    }
    bar.finish_and_clear();
    let mut best = best.ok_or(QuantizeError::NoCalibration)?;
    best.trials = trials;
    best.model
        .metadata
        .push(("mimic.precision".into(), "int8".into()));
    Ok(best)
}

fn best_psnr(q: &Quantized) -> f64 {
    q.trials.first().map_or(f64::NEG_INFINITY, |t| t.psnr_db)
}

/// Each observed value's parameters under `method` (a rectified value's range starts at 0).
fn ranges(
    plan: &Plan,
    seen: &Activations,
    method: Method,
) -> Result<HashMap<String, Params>, QuantizeError> {
    plan.observed
        .iter()
        .map(|value| {
            let (lo, hi) = seen.range(value, method).ok_or_else(|| {
                QuantizeError::Internal(format!("calibration never saw a value of '{value}'"))
            })?;
            let lo = if plan.rectified.contains(value) {
                0.0
            } else {
                lo
            };
            Ok((value.clone(), Params::covering(lo, hi)))
        })
        .collect()
}

/// Squared error summed over outputs clamped to their range.
#[derive(Default)]
struct Squared {
    sum: f64,
    count: usize,
}

impl Squared {
    fn add(&mut self, got: &[f32], expected: &[f32], [lo, hi]: [f32; 2]) {
        let (lo, hi) = (lo.min(hi), hi.max(lo));
        for (g, e) in got.iter().zip(expected) {
            let d = f64::from(g.clamp(lo, hi) - e.clamp(lo, hi));
            self.sum += d * d;
        }
        self.count += got.len().min(expected.len());
    }

    fn psnr(&self, [lo, hi]: [f32; 2]) -> f64 {
        let peak = f64::from(hi - lo).abs();
        let mse = self.sum / self.count.max(1) as f64;
        10.0 * (peak * peak / mse.max(1e-20)).log10()
    }
}
