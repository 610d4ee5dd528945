//! The target's fine detail as a swap model's card describes it: the keyframes of the face it
//! makes, written beside the model, and where the model draws that face's features on the
//! driver's faces, measured by finding landmarks on its outputs.

use std::path::Path;

use candle_core::Device;

use super::autoencoders::Autoencoders;
use super::person::Person;
use super::warp;
use crate::face::{FaceAnalyzer, LANDMARK_COUNT};
use crate::frame::Rgb8;
use crate::geometry::Point;
use crate::swap::detail::DetailSpec;
use crate::train::images::{batch_to_tensor, tensor_to_image, SIGMOID};
use crate::train::TrainError;

/// Writes the keyframes of `to` beside the model at `model` (`MODEL.detail.png`) and says in
/// a card's terms what they are: the detail of `to`'s faces, which the model draws `drawn` away
/// from the driver's landmarks.
pub(super) fn write_detail(
    to: &Person,
    drawn: [Point; LANDMARK_COUNT],
    model: &Path,
) -> Result<Option<DetailSpec>, TrainError> {
    let Some(reference) = to.keyframes() else {
        return Ok(None);
    };
    let path = model.with_extension("detail.png");
    crate::frame::save_png(&reference.strip(), &path).map_err(|e| TrainError::Write {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    Ok(Some(DetailSpec {
        image: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        landmarks: reference.landmarks(),
        drawn: drawn.to_vec(),
    }))
}

/// Driver faces the model's drawing is measured on, and how many of them must show a face
/// the landmark detector finds for the measure to count.
const DRAWN_FACES: usize = 32;
const MIN_DRAWN: usize = 8;

/// Where the model draws `to`'s features on `from`'s faces, per landmark, against `from`'s own
/// (model pixels): the mean offset of the landmarks dlib finds on its outputs for up to
/// [`DRAWN_FACES`] of `from`'s faces. An autoencoder keeps much of the driver's geometry, so
/// moving the detail by the two people's whole difference in face shape would draw the
/// target's brows and lids beside the model's. Too few outputs with a face (a model early
/// in training): that whole difference, the target's mean landmarks less the driver's.
pub(super) fn drawn_by(
    net: &Autoencoders,
    from: &Person,
    to: &Person,
    to_b: bool,
    analyzer: &FaceAnalyzer,
    device: &Device,
) -> Result<[Point; LANDMARK_COUNT], TrainError> {
    let stride = from.train.len().div_ceil(DRAWN_FACES).max(1);
    let chosen: Vec<usize> = (0..from.train.len()).step_by(stride).collect();
    let faces: Vec<Rgb8> = chosen
        .iter()
        .map(|&i| warp::view(&from.train[i], &from.to_model, from.size))
        .collect();
    let made = net.swap(&batch_to_tensor(&faces, SIGMOID, device)?, to_b)?;
    let mut sum = [Point::new(0.0, 0.0); LANDMARK_COUNT];
    let mut found = 0usize;
    for (n, &i) in chosen.iter().enumerate() {
        let output = tensor_to_image(&made, n, SIGMOID)?;
        let Some(face) = analyzer.faces(&output)?.into_iter().next() else {
            continue;
        };
        for ((s, p), q) in sum
            .iter_mut()
            .zip(face.landmarks.points())
            .zip(from.landmarks[i].points())
        {
            *s = Point::new(s.x + p.x - q.x, s.y + p.y - q.y);
        }
        found += 1;
    }
    if found >= MIN_DRAWN {
        let n = found as f32;
        return Ok(sum.map(|s| Point::new(s.x / n, s.y / n)));
    }
    let (Some(target), Some(driver)) = (to.mean_shape(), from.mean_shape()) else {
        return Ok([Point::new(0.0, 0.0); LANDMARK_COUNT]);
    };
    Ok(std::array::from_fn(|k| {
        let (t, d) = (target.points()[k], driver.points()[k]);
        Point::new(t.x - d.x, t.y - d.y)
    }))
}
