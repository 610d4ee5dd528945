//! Matching the generated face's colours to the face it replaces: each channel's mean on the
//! skin (and with Reinhard's transfer its spread, in Lab) moved to the original's, through a
//! per-channel scale and offset followed smoothly from frame to frame.

use super::mask::Mask;
use crate::frame::Rgb8;
use crate::swap::lab::{lab_to_rgb, rgb_to_lab};

/// The weight of the new frame's colour match against the last ones' (about a 3-frame
/// memory: fast enough for a light switched on, slow enough to stop flicker).
const COLOUR_FOLLOW: f64 = 0.35;

/// The colour match of the last frames, per channel (scale, offset), followed smoothly so the
/// face's tone does not flicker with the mask's edge or the light.
#[derive(Debug, Clone, Default)]
pub(super) struct ColourFollow {
    colour: Option<[(f64, f64); 3]>,
}

impl ColourFollow {
    /// Forgets the last frames' colour match.
    pub(super) fn forget(&mut self) {
        self.colour = None;
    }

    /// Moves each channel's mean on the skin (and with `lab`, its spread, in Lab) to the
    /// original's, through a per-channel scale and offset that follow the last frames'
    /// smoothly.
    /// Only what `mask` pastes is changed, unless `everywhere` (the seamless correction reads
    /// the rest); what is `covered` (weights, something in front of the face) is not measured.
    pub(super) fn transfer(
        &mut self,
        (generated, original): (&mut Rgb8, &Rgb8),
        (mask, covered): (&Mask, Option<&[f32]>),
        lab: bool,
        everywhere: bool,
    ) {
        let convert = |p: &[u8]| match lab {
            true => rgb_to_lab([p[0], p[1], p[2]]),
            false => [p[0], p[1], p[2]].map(f32::from),
        };
        let measured = mask.measured();
        let stats = |image: &Rgb8| {
            let (mut sum, mut sq, mut weight) = ([0f64; 3], [0f64; 3], 0f64);
            let pixels = image.as_raw();
            for &(i, w) in measured.iter() {
                let w = w * covered.map_or(1.0, |c| 1.0 - c[i]);
                let v = convert(&pixels[3 * i..3 * i + 3]);
                for c in 0..3 {
                    sum[c] += f64::from(w * v[c]);
                    sq[c] += f64::from(w * v[c] * v[c]);
                }
                weight += f64::from(w);
            }
            let w = weight.max(1e-6);
            let mean = sum.map(|s| s / w);
            let spread: [f64; 3] =
                std::array::from_fn(|c| (sq[c] / w - mean[c] * mean[c]).max(0.0).sqrt());
            (mean, spread, weight)
        };
        let (gm, gs, weight) = stats(generated);
        if weight < 1.0 {
            return; // nothing masked: nothing to match
        }
        let (om, os, _) = stats(original);
        let now: [(f64, f64); 3] = std::array::from_fn(|c| {
            let scale = match lab {
                true => (os[c] / gs[c].max(1e-3)).min(4.0),
                false => 1.0,
            };
            (scale, om[c] - gm[c] * scale)
        });
        let colour = match self.colour {
            Some(last) => std::array::from_fn(|c| {
                let follow = |a: f64, b: f64| a + COLOUR_FOLLOW * (b - a);
                (follow(last[c].0, now[c].0), follow(last[c].1, now[c].1))
            }),
            None => now,
        };
        self.colour = Some(colour);
        for (p, &m) in generated.pixels_mut().zip(&mask.weights) {
            if m <= 0.0 && !everywhere {
                continue;
            }
            let v = convert(&p.0);
            let moved: [f32; 3] = std::array::from_fn(|c| {
                let (scale, offset) = colour[c];
                (f64::from(v[c]) * scale + offset) as f32
            });
            p.0 = match lab {
                true => lab_to_rgb(moved),
                false => moved.map(|v| v.round().clamp(0.0, 255.0) as u8),
            };
        }
    }
}
