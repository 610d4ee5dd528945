//! The swap's networks as one trainer: the shared encoder, both people's decoders and their
//! one optimiser ([`Autoencoders`]), the step that trains both people at once, and what the run
//! shows of them on held-out faces (the validation error and the preview grid).

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

use super::model::{Decoder, Encoder};
use super::person::{Batch, Person};
use super::{SwapLoss, SwapPreset};
use crate::frame::Rgb8;
use crate::train::adam::{Adam, AdamConfig};
use crate::train::driver::Trainer;
use crate::train::images::{tensor_to_image, SIGMOID};
use crate::train::layers::{l1, weighted_dssim, weighted_l1};
use crate::train::paired::PairedRun;
use crate::train::params::Params;
use crate::train::report::save_preview;
use crate::train::{on_candle_threads, TrainError};

/// Faces per person in a preview grid.
const PREVIEW_ROWS: usize = 3;

/// The encoder, both decoders and their one optimiser.
pub struct Autoencoders {
    pub encoder: Encoder,
    pub decoder_a: Decoder,
    pub decoder_b: Decoder,
    params: Params,
    adam: Adam,
    loss: SwapLoss,
    /// Faces per person in each step.
    batch: usize,
}

/// A run: the networks, both people's faces, the held-out faces and their latest validation
/// error.
pub(super) type SwapRun = PairedRun<Autoencoders, Person>;

impl Trainer<3> for SwapRun {
    const LOSSES: [&'static str; 3] = ["loss_a", "loss_b", "validation_mae"];

    fn start(&mut self, step: u64, seed: u64) -> Result<(), TrainError> {
        self.restart_rng(seed, step);
        Ok(())
    }

    fn step(&mut self, lr_scale: f64) -> Result<[f32; 3], TrainError> {
        self.net.adam.set_lr_scale(lr_scale);
        let (a, b) = &self.sides;
        let batch = self.net.batch;
        let batch_a = a.batch(batch, &mut self.rng, &self.device)?;
        let batch_b = b.batch(batch, &mut self.rng, &self.device)?;
        let [loss_a, loss_b] = self.net.step(&batch_a, &batch_b)?;
        Ok([loss_a, loss_b, self.measured])
    }

    fn preview(&mut self, dir: &Path, step: u64) -> Result<PathBuf, TrainError> {
        self.measured = validation_mae(&self.net, &self.validation)?;
        write_preview(&self.net, &self.validation, dir, step)
    }

    fn save(&mut self, dir: &Path) -> Result<(), TrainError> {
        self.net.params.save(&dir.join("params.safetensors"))?;
        self.net.adam.save(&dir.join("adam.safetensors"))
    }

    fn load(&mut self, dir: &Path) -> Result<(), TrainError> {
        self.net.params.load(&dir.join("params.safetensors"))?;
        self.net.adam.load(&dir.join("adam.safetensors"))
    }

    fn about(&self) -> toml::Table {
        self.about.clone()
    }
}

impl Autoencoders {
    pub fn new(
        preset: SwapPreset,
        loss: SwapLoss,
        device: &Device,
        seed: u64,
    ) -> Result<Autoencoders, TrainError> {
        let mut params = Params::new(device, seed);
        let (f, size) = (preset.filters(), preset.size());
        let encoder = Encoder::new(&mut params, f, size)?;
        let decoder_a = Decoder::new(&mut params, "dec_a", f, size)?;
        let decoder_b = Decoder::new(&mut params, "dec_b", f, size)?;
        let config = AdamConfig {
            lr: preset.learning_rate(),
            beta1: 0.5,
            beta2: 0.999,
            eps: 1e-7,
        };
        let adam = Adam::new(params.vars(), config)?;
        Ok(Autoencoders {
            encoder,
            decoder_a,
            decoder_b,
            params,
            adam,
            loss,
            batch: preset.batch(),
        })
    }

    pub fn parameters(&self) -> usize {
        self.params.count()
    }

    /// One step on a batch of each person; returns the two losses. Both autoencoders' losses
    /// are summed into one update, so the shared encoder learns from both faces in every step.
    pub fn step(&mut self, a: &Batch, b: &Batch) -> Result<[f32; 2], TrainError> {
        on_candle_threads(|| {
            let loss = |decoder: &Decoder, batch: &Batch| -> Result<Tensor, TrainError> {
                let made = decoder.forward(&self.encoder.forward(&batch.input)?)?;
                let error = weighted_l1(&made, &batch.target, &batch.weight)?;
                match self.loss {
                    SwapLoss::L1 => Ok(error),
                    SwapLoss::L1Dssim => {
                        let dssim = weighted_dssim(&made, &batch.target, &batch.weight, 1.0)?;
                        Ok((error + dssim)?)
                    }
                }
            };
            let (loss_a, loss_b) = (loss(&self.decoder_a, a)?, loss(&self.decoder_b, b)?);
            self.adam.backward_step(&(&loss_a + &loss_b)?)?;
            Ok([loss_a.to_scalar()?, loss_b.to_scalar()?])
        })
    }

    /// Faces through the encoder and one decoder (`to_b`: B's).
    pub fn swap(&self, faces: &Tensor, to_b: bool) -> Result<Tensor, TrainError> {
        let embedding = self.encoder.forward(faces)?;
        match to_b {
            true => self.decoder_b.forward(&embedding),
            false => self.decoder_a.forward(&embedding),
        }
    }
}

/// Mean absolute error of A→A and B→B on the held-out faces.
pub(super) fn validation_mae(
    net: &Autoencoders,
    (a, b): &(Tensor, Tensor),
) -> Result<f32, TrainError> {
    let error_a = l1(&net.swap(a, false)?, a)?.to_scalar::<f32>()?;
    let error_b = l1(&net.swap(b, true)?, b)?.to_scalar::<f32>()?;
    Ok((error_a + error_b) / 2.0)
}

/// Rows of A, A→A, A→B, B, B→B, B→A on held-out faces.
fn write_preview(
    net: &Autoencoders,
    (a, b): &(Tensor, Tensor),
    dir: &Path,
    step: u64,
) -> Result<PathBuf, TrainError> {
    let rows_a = PREVIEW_ROWS.min(a.dim(0)?);
    let rows_b = PREVIEW_ROWS.min(b.dim(0)?);
    let (a, b) = (a.narrow(0, 0, rows_a)?, b.narrow(0, 0, rows_b)?);
    let outputs = [
        a.clone(),
        net.swap(&a, false)?,
        net.swap(&a, true)?,
        b.clone(),
        net.swap(&b, true)?,
        net.swap(&b, false)?,
    ];
    let mut rows = Vec::new();
    for n in 0..rows_a.min(rows_b) {
        let row: Vec<Rgb8> = outputs
            .iter()
            .map(|t| tensor_to_image(t, n, SIGMOID))
            .collect::<Result<_, _>>()?;
        rows.push(row);
    }
    save_preview(&rows, dir, step)
}
