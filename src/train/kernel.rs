//! mimic's CPU ops as kernels on plain slices. A candle custom op receives storages and
//! layouts; [`CpuOp`] takes them apart once, for every op, and hands each kernel
//! ([`Kernel1`], [`Kernel2`], [`Kernel3`] by their number of inputs) its inputs' contiguous
//! values and the first input's layout. Callers make the inputs contiguous.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Result, Shape, Tensor};

use super::cpu_slice;

/// What a kernel computes: the output's values and shape.
pub type Output = Result<(Vec<f32>, Shape)>;
/// What candle's ops give back: the output's storage and shape.
type Stored = Result<(CpuStorage, Shape)>;
/// The gradients of a two-input op's inputs.
pub type Grads2 = (Option<Tensor>, Option<Tensor>);
/// The gradients of a three-input op's inputs.
pub type Grads3 = (Option<Tensor>, Option<Tensor>, Option<Tensor>);

/// A one-input op's CPU work.
pub trait Kernel1: Send + Sync {
    const NAME: &'static str;

    fn cpu(&self, x: &[f32], l: &Layout) -> Output;

    /// The input's gradient; an op that is itself a backward pass has none.
    fn backward(&self, _x: &Tensor, _grad: &Tensor) -> Result<Option<Tensor>> {
        Err(candle_core::Error::BackwardNotSupported { op: Self::NAME })
    }
}

/// A two-input op's CPU work.
pub trait Kernel2: Send + Sync {
    const NAME: &'static str;

    fn cpu(&self, x: [&[f32]; 2], l: &Layout) -> Output;

    /// The inputs' gradients; an op that is itself a backward pass has none.
    fn backward(&self, _x: [&Tensor; 2], _grad: &Tensor) -> Result<Grads2> {
        Err(candle_core::Error::BackwardNotSupported { op: Self::NAME })
    }
}

/// A three-input op's CPU work.
pub trait Kernel3: Send + Sync {
    const NAME: &'static str;

    fn cpu(&self, x: [&[f32]; 3], l: &Layout) -> Output;

    /// The inputs' gradients; an op that is itself a backward pass has none.
    fn backward(&self, _x: [&Tensor; 3], _grad: &Tensor) -> Result<Grads3> {
        Err(candle_core::Error::BackwardNotSupported { op: Self::NAME })
    }
}

/// A kernel as a candle op.
pub struct CpuOp<K>(pub K);

/// A kernel's output as candle stores it.
fn stored(output: Output) -> Stored {
    let (values, shape) = output?;
    Ok((CpuStorage::F32(values), shape))
}

impl<K: Kernel1> CustomOp1 for CpuOp<K> {
    fn name(&self) -> &'static str {
        K::NAME
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Stored {
        stored(self.0.cpu(cpu_slice(s, l)?, l))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        self.0.backward(x, grad)
    }
}

impl<K: Kernel2> CustomOp2 for CpuOp<K> {
    fn name(&self) -> &'static str {
        K::NAME
    }

    fn cpu_fwd(&self, a: &CpuStorage, al: &Layout, b: &CpuStorage, bl: &Layout) -> Stored {
        stored(self.0.cpu([cpu_slice(a, al)?, cpu_slice(b, bl)?], al))
    }

    fn bwd(&self, a: &Tensor, b: &Tensor, _y: &Tensor, grad: &Tensor) -> Result<Grads2> {
        self.0.backward([a, b], grad)
    }
}

impl<K: Kernel3> CustomOp3 for CpuOp<K> {
    fn name(&self) -> &'static str {
        K::NAME
    }

    fn cpu_fwd(
        &self,
        a: &CpuStorage,
        al: &Layout,
        b: &CpuStorage,
        bl: &Layout,
        c: &CpuStorage,
        cl: &Layout,
    ) -> Stored {
        let x = [cpu_slice(a, al)?, cpu_slice(b, bl)?, cpu_slice(c, cl)?];
        stored(self.0.cpu(x, al))
    }

    fn bwd(&self, a: &Tensor, b: &Tensor, c: &Tensor, _y: &Tensor, g: &Tensor) -> Result<Grads3> {
        self.0.backward([a, b, c], g)
    }
}
