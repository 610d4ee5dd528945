//! A model's trainable parameters: named variables, initialised from a seeded generator so a
//! fixed `--seed` gives the same run twice, and saved to / loaded from safetensors.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor, Var};

use super::TrainError;

/// A small, seedable generator (SplitMix64): weight initialisation and batch order.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.uniform().max(1e-7);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
    }

    /// Uniform integer in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Named trainable variables of one network.
pub struct Params {
    device: Device,
    rng: Rng,
    vars: Vec<(String, Var)>,
}

impl Params {
    pub fn new(device: &Device, seed: u64) -> Self {
        Self {
            device: device.clone(),
            rng: Rng::new(seed),
            vars: Vec::new(),
        }
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// A new variable drawn from N(0, std²) (pix2pix initialises convolutions with std 0.02).
    pub fn normal(&mut self, name: &str, shape: &[usize], std: f32) -> Result<Var, TrainError> {
        let n = shape.iter().product();
        let values: Vec<f32> = (0..n).map(|_| self.rng.normal() * std).collect();
        self.add(name, Tensor::from_vec(values, shape, &self.device)?)
    }

    pub fn constant(&mut self, name: &str, shape: &[usize], value: f32) -> Result<Var, TrainError> {
        self.add(name, Tensor::full(value, shape, &self.device)?)
    }

    fn add(&mut self, name: &str, tensor: Tensor) -> Result<Var, TrainError> {
        let var = Var::from_tensor(&tensor)?;
        self.vars.push((name.to_string(), var.clone()));
        Ok(var)
    }

    pub fn vars(&self) -> impl Iterator<Item = &Var> {
        self.vars.iter().map(|(_, v)| v)
    }

    pub fn count(&self) -> usize {
        self.vars.iter().map(|(_, v)| v.elem_count()).sum()
    }

    pub fn named(&self) -> HashMap<String, Tensor> {
        self.vars
            .iter()
            .map(|(name, var)| (name.clone(), var.as_tensor().clone()))
            .collect()
    }

    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        save_tensors(&self.named(), path)
    }

    /// Loads every variable from a checkpoint; names and shapes must match exactly.
    pub fn load(&self, path: &Path) -> Result<(), TrainError> {
        let tensors = load_tensors(path, &self.device)?;
        for (name, var) in &self.vars {
            let tensor = tensors.get(name).ok_or_else(|| TrainError::Checkpoint {
                path: path.to_path_buf(),
                reason: format!("it has no '{name}'; was it made with another preset or norm?"),
            })?;
            if tensor.dims() != var.dims() {
                return Err(TrainError::Checkpoint {
                    path: path.to_path_buf(),
                    reason: format!(
                        "'{name}' is {:?}, the model needs {:?}",
                        tensor.dims(),
                        var.dims()
                    ),
                });
            }
            var.set(&tensor.to_dtype(DType::F32)?)?;
        }
        Ok(())
    }
}

/// Writes tensors as safetensors, atomically (a crash never leaves a half checkpoint).
pub fn save_tensors(tensors: &HashMap<String, Tensor>, path: &Path) -> Result<(), TrainError> {
    let partial = path.with_extension("partial");
    candle_core::safetensors::save(tensors, &partial)
        .and_then(|()| std::fs::rename(&partial, path).map_err(candle_core::Error::from))
        .map_err(|e| {
            let _ = std::fs::remove_file(&partial);
            TrainError::Write {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }
        })
}

pub fn load_tensors(path: &Path, device: &Device) -> Result<HashMap<String, Tensor>, TrainError> {
    candle_core::safetensors::load(path, device).map_err(|e| TrainError::Checkpoint {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_draws_have_unit_variance() {
        let mut rng = Rng::new(7);
        let draws: Vec<f32> = (0..20_000).map(|_| rng.normal()).collect();
        let mean = draws.iter().sum::<f32>() / draws.len() as f32;
        let var = draws.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / draws.len() as f32;
        assert!(
            mean.abs() < 0.03 && (var - 1.0).abs() < 0.05,
            "mean {mean} var {var}"
        );
        assert_eq!(Rng::new(3).next_u64(), Rng::new(3).next_u64());
    }
}
