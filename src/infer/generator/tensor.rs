//! Frames to a generator's tensors and back: pixel values mapped linearly between [0, 255] and
//! the spec's range, in its layout (NCHW or NHWC) and colour order.

use image::Rgb;
use ndarray::{Array4, ArrayViewD, Axis};

use crate::frame::{Rgb8, ValueRange, MAX_IMAGE_SIDE};
use crate::infer::{ColorOrder, Layout, TensorSpec};

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

/// Tensor → image, clamping values outside the range; why not, when the tensor the model
/// made is no picture.
pub(super) fn read_tensor(
    array: &ArrayViewD<f32>,
    spec: &TensorSpec,
    out: &mut Rgb8,
) -> Result<(), String> {
    let view = array
        .view()
        .into_dimensionality::<ndarray::Ix4>()
        .map_err(|e| format!("its output is not a 4-d tensor: {e}"))?;
    // A model whose shapes are dynamic (−1) passes the signature check with any sizes, so
    // what it made is checked here, before it is indexed as three channels.
    let image = match spec.layout {
        Layout::Nchw => [view.shape()[1], view.shape()[2], view.shape()[3]],
        Layout::Nhwc => [view.shape()[3], view.shape()[1], view.shape()[2]],
    };
    let [channels, h, w] = image;
    let side = |n: usize| u32::try_from(n).ok().filter(|&n| n <= MAX_IMAGE_SIDE);
    let (Some(height), Some(width), 3, 1..) = (side(h), side(w), channels, view.shape()[0]) else {
        return Err(format!(
            "its output has the shape {:?}, which is not one {:?} picture of 3 channels at most {MAX_IMAGE_SIDE} pixels a side",
            view.shape(),
            spec.layout
        ));
    };
    let view = view.index_axis(Axis(0), 0);
    if out.dimensions() != (width, height) {
        *out = Rgb8::new(width, height);
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
