//! Pictures to candle tensors and back: [1, 3, S, S] in [-1, 1], the range tanh generators use.

use candle_core::{Device, Tensor};

use super::TrainError;
use crate::frame::Rgb8;

/// An RGB picture as a [1, 3, H, W] tensor in [-1, 1].
pub fn to_tensor(image: &Rgb8, device: &Device) -> Result<Tensor, TrainError> {
    let (w, h) = image.dimensions();
    let plane = (w * h) as usize;
    let mut data = vec![0f32; 3 * plane];
    for (i, pixel) in image.pixels().enumerate() {
        for c in 0..3 {
            data[c * plane + i] = f32::from(pixel[c]) / 127.5 - 1.0;
        }
    }
    Ok(Tensor::from_vec(
        data,
        (1, 3, h as usize, w as usize),
        device,
    )?)
}

/// The first picture of a [N, 3, H, W] tensor in [-1, 1], clamped.
pub fn to_image(tensor: &Tensor) -> Result<Rgb8, TrainError> {
    let (_, _, h, w) = tensor.dims4()?;
    let data = tensor.get(0)?.flatten_all()?.to_vec1::<f32>()?;
    let plane = h * w;
    Ok(Rgb8::from_fn(w as u32, h as u32, |x, y| {
        let i = y as usize * w + x as usize;
        image::Rgb(std::array::from_fn(|c| {
            ((data[c * plane + i] + 1.0) * 127.5)
                .round()
                .clamp(0.0, 255.0) as u8
        }))
    }))
}
