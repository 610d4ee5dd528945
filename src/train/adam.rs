//! Adam, with its moment estimates kept so a checkpoint can carry them and `--resume`
//! continues exactly where the run stopped.
//!
//! On the CPU each variable is updated in one pass by an in-place custom op, its moments held
//! as plain vectors (candle's tensor algebra takes eleven passes and as many allocations per
//! variable: 18 ms of a 110 ms tiny step); other devices use the algebra.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use candle_core::{backprop::GradStore, CpuStorage, Device, InplaceOp2, Layout, Tensor, Var};

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

/// First and second moment estimates of one variable.
enum Moments {
    Host { m: Vec<f32>, v: Vec<f32> },
    Device { m: Tensor, v: Tensor },
}

impl Moments {
    fn zeros(var: &Var) -> Result<Moments, TrainError> {
        Ok(if var.device().is_cpu() {
            Moments::Host {
                m: vec![0.0; var.elem_count()],
                v: vec![0.0; var.elem_count()],
            }
        } else {
            Moments::Device {
                m: var.zeros_like()?,
                v: var.zeros_like()?,
            }
        })
    }

    fn tensors(&self, var: &Var) -> Result<(Tensor, Tensor), TrainError> {
        Ok(match self {
            Moments::Host { m, v } => (
                Tensor::from_slice(m, var.shape(), &Device::Cpu)?,
                Tensor::from_slice(v, var.shape(), &Device::Cpu)?,
            ),
            Moments::Device { m, v } => (m.clone(), v.clone()),
        })
    }

    fn set(&mut self, m_new: &Tensor, v_new: &Tensor) -> Result<(), TrainError> {
        match self {
            Moments::Host { m, v } => {
                *m = m_new.flatten_all()?.to_vec1::<f32>()?;
                *v = v_new.flatten_all()?.to_vec1::<f32>()?;
            }
            Moments::Device { m, v } => {
                *m = m_new.to_device(m.device())?;
                *v = v_new.to_device(v.device())?;
            }
        }
        Ok(())
    }
}

/// Adam over a fixed set of variables.
pub struct Adam {
    config: AdamConfig,
    /// The share of `config.lr` the next updates use (a schedule's).
    lr_scale: f64,
    vars: Vec<Var>,
    moments: Vec<Moments>,
    step: usize,
}

impl Adam {
    pub fn new<'a>(
        vars: impl Iterator<Item = &'a Var>,
        config: AdamConfig,
    ) -> Result<Self, TrainError> {
        let vars: Vec<Var> = vars.cloned().collect();
        let moments = vars
            .iter()
            .map(Moments::zeros)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            config,
            lr_scale: 1.0,
            vars,
            moments,
            step: 0,
        })
    }

    /// Sets the learning rate of the next updates to `scale` × the configured one.
    pub fn set_lr_scale(&mut self, scale: f64) {
        self.lr_scale = scale;
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
        let lr_t = lr * self.lr_scale * (1.0 - beta2.powi(t)).sqrt() / (1.0 - beta1.powi(t));
        for (var, moments) in self.vars.iter().zip(&mut self.moments) {
            let Some(g) = grads.get(var) else { continue };
            match moments {
                Moments::Host { m, v } => {
                    let update = AdamUpdate {
                        moments: Mutex::new((m, v)),
                        lr_t: lr_t as f32,
                        beta1: beta1 as f32,
                        beta2: beta2 as f32,
                        eps: eps as f32,
                    };
                    var.as_tensor().inplace_op2(&g.contiguous()?, &update)?;
                }
                Moments::Device { m, v } => {
                    *m = ((m.affine(beta1, 0.0)? + g.affine(1.0 - beta1, 0.0)?)?).detach();
                    *v = ((v.affine(beta2, 0.0)? + g.sqr()?.affine(1.0 - beta2, 0.0)?)?).detach();
                    let update = (m.clone() / (v.sqrt()? + eps)?)?.affine(lr_t, 0.0)?;
                    var.set(&var.as_tensor().sub(&update)?)?;
                }
            }
        }
        Ok(())
    }

    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        let mut tensors = HashMap::new();
        for (i, (var, moments)) in self.vars.iter().zip(&self.moments).enumerate() {
            let (m, v) = moments.tensors(var)?;
            tensors.insert(format!("m.{i}"), m);
            tensors.insert(format!("v.{i}"), v);
        }
        tensors.insert(
            "step".into(),
            Tensor::new(&[self.step as u32], &Device::Cpu)?,
        );
        save_tensors(&tensors, path)
    }

    pub fn load(&mut self, path: &Path) -> Result<(), TrainError> {
        let tensors = load_tensors(path, &Device::Cpu)?;
        let bad = |reason: String| TrainError::Checkpoint {
            path: path.to_path_buf(),
            reason,
        };
        for (i, (var, moments)) in self.vars.iter().zip(&mut self.moments).enumerate() {
            let (Some(m), Some(v)) = (
                tensors.get(&format!("m.{i}")),
                tensors.get(&format!("v.{i}")),
            ) else {
                return Err(bad(format!("optimizer state {i} is missing")));
            };
            if m.dims() != var.dims() || v.dims() != var.dims() {
                return Err(bad(format!("optimizer state {i} has the wrong shape")));
            }
            moments.set(m, v)?;
        }
        let step = tensors
            .get("step")
            .ok_or_else(|| bad("no step count".into()))?;
        self.step = step.to_vec1::<u32>()?.first().copied().unwrap_or(0) as usize;
        Ok(())
    }
}

/// One Adam update of a variable in place, its moments updated beside it.
struct AdamUpdate<'a> {
    moments: Mutex<(&'a mut Vec<f32>, &'a mut Vec<f32>)>,
    lr_t: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
}

impl InplaceOp2 for AdamUpdate<'_> {
    fn name(&self) -> &'static str {
        "mimic-adam"
    }

    fn cpu_fwd(
        &self,
        var: &mut CpuStorage,
        vl: &Layout,
        grad: &CpuStorage,
        gl: &Layout,
    ) -> candle_core::Result<()> {
        let (Some((v0, v1)), Some((g0, g1))) = (vl.contiguous_offsets(), gl.contiguous_offsets())
        else {
            candle_core::bail!("adam needs contiguous tensors")
        };
        let CpuStorage::F32(values) = var else {
            candle_core::bail!("adam updates f32 variables")
        };
        let g = &grad.as_slice::<f32>()?[g0..g1];
        let mut moments = self
            .moments
            .lock()
            .map_err(|_| candle_core::Error::Msg("adam state poisoned".into()))?;
        let (m, v) = &mut *moments;
        let (b1, b2) = (self.beta1, self.beta2);
        for (((x, &g), m), v) in values[v0..v1]
            .iter_mut()
            .zip(g)
            .zip(m.iter_mut())
            .zip(v.iter_mut())
        {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *x -= self.lr_t * *m / (v.sqrt() + self.eps);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// The one-pass update is the textbook one: after one step from zero moments, each value
    /// moves by lr · sign(g) (bias correction makes m̂ = g and v̂ = g²).
    #[test]
    fn first_step_moves_by_the_learning_rate() {
        let x = Var::from_tensor(&Tensor::new(&[1.0f32, 1.0, 1.0], &Device::Cpu).unwrap()).unwrap();
        let config = AdamConfig {
            lr: 0.01,
            beta1: 0.5,
            beta2: 0.999,
            eps: 1e-8,
        };
        let mut adam = Adam::new([x.clone()].iter(), config).unwrap();
        let target = Tensor::new(&[0.0f32, 2.0, 1.5], &Device::Cpu).unwrap();
        let loss = (x.as_tensor() - &target)
            .unwrap()
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap();
        adam.backward_step(&loss).unwrap();
        let v = x.as_tensor().to_vec1::<f32>().unwrap();
        for (got, want) in v.iter().zip([0.99f32, 1.01, 1.01]) {
            assert!((got - want).abs() < 1e-5, "{v:?}");
        }
    }
}
