//! Calibration: the float model run through ONNX Runtime on the generator's own inputs with
//! the values to quantise exposed as outputs, their distributions gathered (range, then a
//! histogram), and a range chosen from them by a [`Method`].

use std::collections::HashMap;

use ndarray::ArrayD;
use ort::session::Session;
use ort::value::TensorRef;

use super::QuantizeError;
use crate::infer::runtime;
use crate::onnx::{Io, Model};
use crate::progress::progress;

/// One call's inputs: each graph input by name.
pub type Feed = Vec<(String, ArrayD<f32>)>;

/// Bins of each value's histogram.
const BINS: usize = 2048;

/// How a value's range is chosen from what calibration saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Everything seen: no value clips, the rare extremes stretch the steps.
    MinMax,
    /// The central 99.99 %: the rarest values clip, every other one gets finer steps.
    Percentile,
}

impl Method {
    pub const ALL: [Method; 2] = [Method::MinMax, Method::Percentile];

    /// The method's name as the command line and the card write it.
    pub fn name(self) -> &'static str {
        match self {
            Method::MinMax => "min-max",
            Method::Percentile => "percentile",
        }
    }
}

/// The share of values a percentile range keeps (split between the two tails).
const KEEP: f64 = 0.9999;

/// What calibration saw of one value.
#[derive(Debug, Clone)]
struct Seen {
    min: f32,
    max: f32,
    histogram: Vec<u64>,
}

impl Seen {
    fn bin(&self, v: f32) -> usize {
        let width = (self.max - self.min).max(f32::MIN_POSITIVE);
        (((v - self.min) / width) * BINS as f32).clamp(0.0, (BINS - 1) as f32) as usize
    }

    fn edge(&self, bin: usize) -> f32 {
        self.min + (self.max - self.min) * bin as f32 / BINS as f32
    }

    fn range(&self, method: Method) -> (f32, f32) {
        match method {
            Method::MinMax => (self.min, self.max),
            Method::Percentile => {
                let total: u64 = self.histogram.iter().sum();
                let tail = ((1.0 - KEEP) / 2.0 * total as f64) as u64;
                let lo = self.quantile_bin(tail, self.histogram.iter());
                let hi = BINS - 1 - self.quantile_bin(tail, self.histogram.iter().rev());
                (self.edge(lo), self.edge(hi + 1))
            }
        }
    }

    /// The first bin (counted along `bins`) where more than `tail` values lie behind.
    fn quantile_bin<'a>(&self, tail: u64, bins: impl Iterator<Item = &'a u64>) -> usize {
        let mut sum = 0;
        for (i, count) in bins.enumerate() {
            sum += count;
            if sum > tail {
                return i;
            }
        }
        0
    }
}

/// The distributions of the observed values over the calibration inputs.
pub struct Activations {
    seen: HashMap<String, Seen>,
}

impl Activations {
    /// Runs `model` on each feed twice (ranges, then histograms within them), watching
    /// `values`.
    pub fn observe(
        model: &Model,
        values: &[String],
        feeds: &[Feed],
    ) -> Result<Activations, QuantizeError> {
        if feeds.is_empty() {
            return Err(QuantizeError::NoCalibration);
        }
        let mut watched = model.clone();
        watched.outputs = values
            .iter()
            .map(|v| Io {
                name: v.clone(),
                dims: vec![],
            })
            .collect();
        let mut runner = Runner::new(&watched)?;
        let mut seen: HashMap<String, Seen> = values
            .iter()
            .map(|v| {
                let empty = Seen {
                    min: f32::INFINITY,
                    max: f32::NEG_INFINITY,
                    histogram: vec![0; BINS],
                };
                (v.clone(), empty)
            })
            .collect();
        let bar = progress(Some(2 * feeds.len() as u64), "calibrating");
        for feed in feeds {
            runner.each_output(feed, |name, values| {
                if let Some(s) = seen.get_mut(name) {
                    for &v in values {
                        s.min = s.min.min(v);
                        s.max = s.max.max(v);
                    }
                }
            })?;
            bar.inc(1);
        }
        for feed in feeds {
            runner.each_output(feed, |name, values| {
                if let Some(s) = seen.get_mut(name) {
                    for &v in values {
                        let bin = s.bin(v);
                        s.histogram[bin] += 1;
                    }
                }
            })?;
            bar.inc(1);
        }
        bar.finish_and_clear();
        Ok(Activations { seen })
    }

    /// The range of `value` by `method`.
    pub fn range(&self, value: &str, method: Method) -> Option<(f32, f32)> {
        self.seen
            .get(value)
            .filter(|s| s.min.is_finite() && s.max.is_finite())
            .map(|s| s.range(method))
    }
}

/// A session on a model held in memory.
pub struct Runner {
    session: Session,
}

impl Runner {
    pub fn new(model: &Model) -> Result<Runner, QuantizeError> {
        let runtime = runtime().map_err(|e| QuantizeError::Runtime(e.to_string()))?;
        let fail = |e: ort::Error| QuantizeError::Runtime(e.to_string());
        let session = Session::builder(&runtime.environment)
            .map_err(fail)?
            .commit_from_memory(&model.encode())
            .map_err(fail)?;
        Ok(Runner { session })
    }

    /// Runs the model on `feed` and hands each output's values to `visit`.
    pub fn each_output(
        &mut self,
        feed: &Feed,
        mut visit: impl FnMut(&str, &[f32]),
    ) -> Result<(), QuantizeError> {
        let fail = |e: ort::Error| QuantizeError::Runtime(e.to_string());
        let mut inputs = Vec::with_capacity(feed.len());
        for (name, array) in feed {
            let tensor = TensorRef::from_array_view(array.view()).map_err(fail)?;
            inputs.push((
                std::borrow::Cow::from(name.as_str()),
                ort::session::SessionInputValue::from(tensor),
            ));
        }
        let outputs = self.session.run(inputs).map_err(fail)?;
        for (name, value) in outputs.iter() {
            let array = value.try_extract_array::<f32>().map_err(fail)?;
            match array.as_slice() {
                Some(values) => visit(name, values),
                None => visit(name, &array.iter().copied().collect::<Vec<_>>()),
            }
        }
        Ok(())
    }

    /// The values of the output `name` on `feed`.
    pub fn output(&mut self, feed: &Feed, name: &str) -> Result<Vec<f32>, QuantizeError> {
        let mut found = None;
        self.each_output(feed, |output, values| {
            if output == name {
                found = Some(values.to_vec());
            }
        })?;
        found.ok_or_else(|| QuantizeError::Internal(format!("the model has no output '{name}'")))
    }
}
