//! Frames to a generator's tensors and back: pixel values mapped linearly between [0, 255] and
//! the spec's range, in its layout (NCHW or NHWC) and colour order.

use image::Rgb;
use ndarray::{Array4, ArrayViewD, Axis};

use crate::frame::{Rgb8, ValueRange};
use crate::infer::{ColorOrder, InferError, Layout, TensorSpec};

/// Image → tensor: pixel values mapped linearly from [0, 255] onto the spec's range.
pub(super) fn fill_tensor(tensor: &mut Array4<f32>, image: &Rgb8, spec: &TensorSpec) {
    let range = ValueRange::new(spec.range);
    for (x, y, Rgb(rgb)) in image.enumerate_pixels() {
        let (x, y) = (x as usize, y as usize);
        for c in 0..3 {
            let value = range.value(rgb[channel(spec.color, c)]);
            match spec.layout {
                Layout::Nchw => tensor[[0, c, y, x]] = value,
                Layout::Nhwc => tensor[[0, y, x, c]] = value,
            }
        }
    }
}

/// Tensor → image, clamping values outside the range.
pub(super) fn read_tensor(
    array: &ArrayViewD<f32>,
    spec: &TensorSpec,
    out: &mut Rgb8,
) -> Result<(), InferError> {
    let view = array
        .view()
        .into_dimensionality::<ndarray::Ix4>()
        .map_err(|e| InferError::Run(format!("output is not a 4-d tensor: {e}")))?;
    let view = view.index_axis(Axis(0), 0);
    let (h, w) = match spec.layout {
        Layout::Nchw => (view.shape()[1], view.shape()[2]),
        Layout::Nhwc => (view.shape()[0], view.shape()[1]),
    };
    if out.dimensions() != (w as u32, h as u32) {
        *out = Rgb8::new(w as u32, h as u32);
    }
    let range = ValueRange::new(spec.range);
    for (x, y, pixel) in out.enumerate_pixels_mut() {
        let (x, y) = (x as usize, y as usize);
        for c in 0..3 {
            let value = match spec.layout {
                Layout::Nchw => view[[c, y, x]],
                Layout::Nhwc => view[[y, x, c]],
            };
            pixel[channel(spec.color, c)] = range.level(value);
        }
    }
    Ok(())
}

/// Tensor channel `c` holds image channel `channel(order, c)`.
fn channel(order: ColorOrder, c: usize) -> usize {
    match order {
        ColorOrder::Rgb => c,
        ColorOrder::Bgr => 2 - c,
    }
}
