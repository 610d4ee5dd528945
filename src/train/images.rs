//! Pictures to candle tensors and back, in the value range a network's output layer gives:
//! [-1, 1] for tanh generators (pix2pix), [0, 1] for sigmoid ones (the swap autoencoder).

use candle_core::{Device, Tensor};

use super::TrainError;
use crate::frame::{Rgb8, ValueRange};

/// tanh's range: black is -1, white 1.
pub const TANH: [f32; 2] = [-1.0, 1.0];
/// The sigmoid's range: black is 0, white 1.
pub const SIGMOID: [f32; 2] = [0.0, 1.0];

/// An RGB picture as a [1, 3, H, W] tensor in [-1, 1].
pub fn to_tensor(image: &Rgb8, device: &Device) -> Result<Tensor, TrainError> {
    batch_to_tensor(std::slice::from_ref(image), TANH, device)
}

/// The first picture of a [N, 3, H, W] tensor in [-1, 1], clamped.
pub fn to_image(tensor: &Tensor) -> Result<Rgb8, TrainError> {
    tensor_to_image(tensor, 0, TANH)
}

/// Pictures of one size as an [N, 3, H, W] tensor with black and white at `range`.
pub fn batch_to_tensor(
    images: &[Rgb8],
    range: [f32; 2],
    device: &Device,
) -> Result<Tensor, TrainError> {
    let (w, h) = images.first().map_or((0, 0), |i| i.dimensions());
    let plane = (w * h) as usize;
    let range = ValueRange::new(range);
    let mut data = vec![0f32; images.len() * 3 * plane];
    for (n, image) in images.iter().enumerate() {
        for (i, pixel) in image.pixels().enumerate() {
            for c in 0..3 {
                data[(n * 3 + c) * plane + i] = range.value(pixel[c]);
            }
        }
    }
    Ok(Tensor::from_vec(
        data,
        (images.len(), 3, h as usize, w as usize),
        device,
    )?)
}

/// The `n`-th picture of an [N, 3, H, W] tensor with black and white at `range`, clamped.
pub fn tensor_to_image(tensor: &Tensor, n: usize, range: [f32; 2]) -> Result<Rgb8, TrainError> {
    let (_, _, h, w) = tensor.dims4()?;
    let data = tensor.get(n)?.flatten_all()?.to_vec1::<f32>()?;
    let plane = h * w;
    let range = ValueRange::new(range);
    Ok(Rgb8::from_fn(w as u32, h as u32, |x, y| {
        let i = y as usize * w + x as usize;
        image::Rgb(std::array::from_fn(|c| range.level(data[c * plane + i])))
    }))
}
