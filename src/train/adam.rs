//! Adam, with its moment estimates kept as tensors so a checkpoint can carry them and
//! `--resume` continues exactly where the run stopped.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{backprop::GradStore, Tensor, Var};

use super::params::{load_tensors, save_tensors};
use super::TrainError;

/// Adam's hyper-parameters.
#[derive(Debug, Clone, Copy)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
}

/// Adam over a fixed set of variables.
pub struct Adam {
    config: AdamConfig,
    vars: Vec<Var>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    step: usize,
}

impl Adam {
    pub fn new<'a>(
        vars: impl Iterator<Item = &'a Var>,
        config: AdamConfig,
    ) -> Result<Self, TrainError> {
        let vars: Vec<Var> = vars.cloned().collect();
        let m = vars
            .iter()
            .map(|v| v.zeros_like())
            .collect::<Result<Vec<_>, _>>()?;
        let v = m.clone();
        Ok(Self {
            config,
            vars,
            m,
            v,
            step: 0,
        })
    }

    /// One update from the gradients of `loss`.
    pub fn backward_step(&mut self, loss: &Tensor) -> Result<(), TrainError> {
        let grads = loss.backward()?;
        self.step(&grads)
    }

    fn step(&mut self, grads: &GradStore) -> Result<(), TrainError> {
        self.step += 1;
        let AdamConfig {
            lr,
            beta1,
            beta2,
            eps,
        } = self.config;
        let t = self.step as i32;
        let lr_t = lr * (1.0 - beta2.powi(t)).sqrt() / (1.0 - beta1.powi(t));
        for ((var, m), v) in self.vars.iter().zip(&mut self.m).zip(&mut self.v) {
            let Some(g) = grads.get(var) else { continue };
            *m = ((m.affine(beta1, 0.0)? + g.affine(1.0 - beta1, 0.0)?)?).detach();
            *v = ((v.affine(beta2, 0.0)? + g.sqr()?.affine(1.0 - beta2, 0.0)?)?).detach();
            let update = (m.clone() / (v.sqrt()? + eps)?)?.affine(lr_t, 0.0)?;
            var.set(&var.as_tensor().sub(&update)?)?;
        }
        Ok(())
    }

    pub fn steps(&self) -> usize {
        self.step
    }

    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        let mut tensors = HashMap::new();
        for (i, (m, v)) in self.m.iter().zip(&self.v).enumerate() {
            tensors.insert(format!("m.{i}"), m.clone());
            tensors.insert(format!("v.{i}"), v.clone());
        }
        tensors.insert(
            "step".into(),
            Tensor::new(&[self.step as u32], m_device(&self.m))?,
        );
        save_tensors(&tensors, path)
    }

    pub fn load(&mut self, path: &Path) -> Result<(), TrainError> {
        let device = m_device(&self.m).clone();
        let tensors = load_tensors(path, &device)?;
        let bad = |reason: String| TrainError::Checkpoint {
            path: path.to_path_buf(),
            reason,
        };
        for i in 0..self.m.len() {
            let (Some(m), Some(v)) = (
                tensors.get(&format!("m.{i}")),
                tensors.get(&format!("v.{i}")),
            ) else {
                return Err(bad(format!("optimizer state {i} is missing")));
            };
            if m.dims() != self.m[i].dims() || v.dims() != self.v[i].dims() {
                return Err(bad(format!("optimizer state {i} has the wrong shape")));
            }
            self.m[i] = m.clone();
            self.v[i] = v.clone();
        }
        let step = tensors
            .get("step")
            .ok_or_else(|| bad("no step count".into()))?;
        self.step = step.to_vec1::<u32>()?.first().copied().unwrap_or(0) as usize;
        Ok(())
    }
}

fn m_device(m: &[Tensor]) -> &candle_core::Device {
    m.first().map_or(&candle_core::Device::Cpu, |t| t.device())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn adam_minimises_a_quadratic() {
        let x = Var::from_tensor(&Tensor::new(&[3.0f32, -2.0], &Device::Cpu).unwrap()).unwrap();
        let config = AdamConfig {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        };
        let mut adam = Adam::new([x.clone()].iter(), config).unwrap();
        for _ in 0..300 {
            let loss = x.as_tensor().sqr().unwrap().sum_all().unwrap();
            adam.backward_step(&loss).unwrap();
        }
        let v = x.as_tensor().to_vec1::<f32>().unwrap();
        assert!(v.iter().all(|x| x.abs() < 0.05), "{v:?}");
    }
}
