//! Zero padding around the two spatial axes of an NCHW picture: how much a convolution adds on
//! each side, shared by the convolution op ([`super::conv`]) and the layers built on it.

use candle_core::Tensor;

/// Zero padding on each side of the two spatial axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pad {
    pub top: usize,
    pub left: usize,
    pub bottom: usize,
    pub right: usize,
}

impl Pad {
    pub const fn same(p: usize) -> Pad {
        Pad {
            top: p,
            left: p,
            bottom: p,
            right: p,
        }
    }

    /// Keras/TensorFlow "same" padding for a stride-1 kernel of size k: the extra pixel of
    /// an even kernel goes after.
    pub const fn keras_same(k: usize) -> Pad {
        let total = k - 1;
        Pad {
            top: total / 2,
            left: total / 2,
            bottom: total - total / 2,
            right: total - total / 2,
        }
    }

    /// `x` (N, C, H, W) with the zeros added around it.
    pub fn apply(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x.pad_with_zeros(2, self.top, self.bottom)?
            .pad_with_zeros(3, self.left, self.right)
    }
}
