//! The pix2pix GAN as a trainer: both networks with their optimisers ([`Pix2Pix`]), the book's
//! step, the batches prepared on a thread of their own in a seeded order, the preview grid, and
//! the checkpoint (weights, optimisers and batch-norm statistics).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};

use candle_core::{Device, Tensor};

use super::examples::{Batch, Example, TrainingSet};
use super::model::{self, Architecture};
use super::L1_WEIGHT;
use crate::train::adam::{Adam, AdamConfig};
use crate::train::driver::Trainer;
use crate::train::images::to_image;
use crate::train::layers::{l1, mse_to, weighted_l1};
use crate::train::params::{load_tensors, save_tensors, Params, Rng};
use crate::train::report::save_preview;
use crate::train::unet::{PatchGan, UNet};
use crate::train::{on_candle_threads, TrainError};

const ADAM: AdamConfig = AdamConfig {
    lr: 2e-4,
    beta1: 0.5,
    beta2: 0.999,
    eps: 1e-8,
};

/// The two networks of a run, their optimisers and their data.
pub struct Pix2Pix {
    pub arch: Architecture,
    pub generator: UNet,
    pub discriminator: PatchGan,
    g_params: Params,
    d_params: Params,
    g_opt: Adam,
    d_opt: Adam,
    device: Device,
    examples: Arc<Vec<Example>>,
    previews: Vec<Example>,
    batches: Option<mpsc::Receiver<Result<Batch, TrainError>>>,
    about: toml::Table,
}

/// The losses of one step: discriminator, generator's adversarial term, generator's L1.
pub type Losses = [f32; 3];

impl Pix2Pix {
    pub fn new(arch: Architecture, device: &Device, seed: u64) -> Result<Pix2Pix, TrainError> {
        let mut g_params = Params::new(device, seed);
        let mut d_params = Params::new(device, seed.wrapping_add(1));
        let generator = model::generator(&mut g_params, arch)?;
        let discriminator = model::discriminator(&mut d_params, arch)?;
        let g_opt = Adam::new(g_params.vars(), ADAM)?;
        let d_opt = Adam::new(d_params.vars(), ADAM)?;
        Ok(Pix2Pix {
            arch,
            generator,
            discriminator,
            g_params,
            d_params,
            g_opt,
            d_opt,
            device: device.clone(),
            examples: Arc::new(Vec::new()),
            previews: Vec::new(),
            batches: None,
            about: toml::Table::new(),
        })
    }

    pub fn generator_parameters(&self) -> usize {
        self.g_params.count()
    }

    /// One training step on a batch. It runs on candle's thread pool (`on_candle_threads`), so
    /// the parallel ops inside it run inline instead of each handing work to the pool and
    /// waiting.
    pub fn train_step(&mut self, batch: &Batch) -> Result<Losses, TrainError> {
        on_candle_threads(|| self.step_inline(batch))
    }

    fn step_inline(&mut self, batch: &Batch) -> Result<Losses, TrainError> {
        let Batch {
            input,
            real,
            weight,
        } = batch;
        let sketch = input.narrow(1, 0, 3)?;
        let fake = self.generator.forward(input, true)?;

        let pair = |image: &Tensor| Tensor::cat(&[image, &sketch], 1);
        let d_real = self.discriminator.forward(&pair(real)?, true)?;
        let d_fake = self.discriminator.forward(&pair(&fake.detach())?, true)?;
        let d_loss = ((mse_to(&d_real, 1.0)? + mse_to(&d_fake, 0.0)?)? * 0.5)?;
        self.d_opt.backward_step(&d_loss)?;

        let scored = self.discriminator.forward(&pair(&fake)?, true)?;
        let g_gan = mse_to(&scored, 1.0)?;
        let g_l1 = match weight {
            Some(weight) => weighted_l1(&fake, real, weight)?,
            None => l1(&fake, real)?,
        };
        let g_loss = (&g_gan + (&g_l1 * L1_WEIGHT)?)?;
        self.g_opt.backward_step(&g_loss)?;

        Ok([d_loss.to_scalar()?, g_gan.to_scalar()?, g_l1.to_scalar()?])
    }

    /// The generator's output for its input (a sketch, and the moved reference beside it for
    /// `warp`), at inference (no dropout, running statistics).
    pub fn generate(&mut self, input: &Tensor) -> Result<Tensor, TrainError> {
        self.generator.forward(input, false)
    }

    /// Gives the run its examples and previews, and what its state file says of it.
    pub(super) fn learn_from(&mut self, set: TrainingSet, about: toml::Table) {
        self.examples = Arc::new(set.examples);
        self.previews = set.previews;
        self.about = about;
    }

    /// How many examples the run trains on.
    pub(super) fn examples(&self) -> usize {
        self.examples.len()
    }

    fn norm_stats(&mut self) -> HashMap<String, Tensor> {
        let mut stats = HashMap::new();
        let norms = self
            .generator
            .norms_mut()
            .chain(self.discriminator.norms_mut());
        for (i, norm) in norms.enumerate() {
            if let Some((m, v)) = norm.running_stats() {
                stats.insert(format!("mean.{i}"), m.clone());
                stats.insert(format!("var.{i}"), v.clone());
            }
        }
        stats
    }
}

impl Trainer<3> for Pix2Pix {
    const LOSSES: [&'static str; 3] = ["d_loss", "g_gan", "g_l1"];

    fn start(&mut self, step: u64, seed: u64) -> Result<(), TrainError> {
        self.batches = Some(spawn_loader(
            Arc::clone(&self.examples),
            seed,
            step,
            self.device.clone(),
        ));
        Ok(())
    }

    fn step(&mut self, lr_scale: f64) -> Result<Losses, TrainError> {
        self.g_opt.set_lr_scale(lr_scale);
        self.d_opt.set_lr_scale(lr_scale);
        let batch = self
            .batches
            .as_ref()
            .ok_or(TrainError::Internal("the batch loader was not started"))?
            .recv()
            .map_err(|_| TrainError::Internal("batch loader stopped"))??;
        self.train_step(&batch)
    }

    /// Rows of sketch | (moved reference |) generated | real on held-out pairs.
    fn preview(&mut self, dir: &Path, step: u64) -> Result<PathBuf, TrainError> {
        let device = Device::Cpu;
        let mut rows = Vec::with_capacity(self.previews.len());
        for example in self.previews.clone() {
            let input = example.input_tensor(&device)?;
            let generated = to_image(&self.generate(&input)?)?;
            let mut row = vec![example.sketch.clone()];
            row.extend(example.warped.clone());
            row.extend([generated, example.frame.clone()]);
            rows.push(row);
        }
        save_preview(&rows, dir, step)
    }

    fn save(&mut self, dir: &Path) -> Result<(), TrainError> {
        self.g_params.save(&dir.join("generator.safetensors"))?;
        self.d_params.save(&dir.join("discriminator.safetensors"))?;
        self.g_opt.save(&dir.join("adam_generator.safetensors"))?;
        self.d_opt
            .save(&dir.join("adam_discriminator.safetensors"))?;
        save_tensors(&self.norm_stats(), &dir.join("norm_stats.safetensors"))
    }

    fn load(&mut self, dir: &Path) -> Result<(), TrainError> {
        self.g_params.load(&dir.join("generator.safetensors"))?;
        self.d_params.load(&dir.join("discriminator.safetensors"))?;
        self.g_opt.load(&dir.join("adam_generator.safetensors"))?;
        self.d_opt
            .load(&dir.join("adam_discriminator.safetensors"))?;
        let path = dir.join("norm_stats.safetensors");
        let stats = load_tensors(&path, self.g_params.device())?;
        let norms = self
            .generator
            .norms_mut()
            .chain(self.discriminator.norms_mut());
        for (i, norm) in norms.enumerate() {
            if norm.running_stats().is_some() {
                let (Some(m), Some(v)) = (
                    stats.get(&format!("mean.{i}")),
                    stats.get(&format!("var.{i}")),
                ) else {
                    return Err(TrainError::Checkpoint {
                        path,
                        reason: format!("batch-norm statistics {i} are missing"),
                    });
                };
                norm.set_running_stats(m.clone(), v.clone());
            }
        }
        Ok(())
    }

    fn about(&self) -> toml::Table {
        self.about.clone()
    }
}

/// Prepares batches on its own thread, in a seeded order that a resumed run reproduces: each
/// epoch is a permutation drawn from (seed, epoch).
fn spawn_loader(
    examples: Arc<Vec<Example>>,
    seed: u64,
    start: u64,
    device: Device,
) -> mpsc::Receiver<Result<Batch, TrainError>> {
    let (tx, rx) = mpsc::sync_channel(2);
    std::thread::spawn(move || {
        let n = examples.len() as u64;
        let mut step = start;
        loop {
            let epoch = step / n;
            let order = permutation(examples.len(), seed ^ epoch.wrapping_mul(0x9E37_79B9));
            let batch = examples[order[(step % n) as usize]].batch(&device);
            if tx.send(batch).is_err() {
                return;
            }
            step += 1;
        }
    });
    rx
}

fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = Rng::new(seed);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    order
}
