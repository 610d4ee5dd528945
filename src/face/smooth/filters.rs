//! The two filters a landmark track is steadied with: the One-Euro filter (Casiez, Roussel and
//! Vogel, CHI 2012) for one value, exactly as its published reference implementation does it,
//! and a constant-velocity (alpha-beta) filter for a point, which keeps up with a steady motion
//! instead of trailing it.

use serde::{Deserialize, Serialize};

/// The gains of a constant-velocity (alpha-beta) filter: the share of each surprise taken into
/// the position (`alpha`) and, per frame, into the velocity (`beta`). Higher follows more
/// closely; lower is steadier.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Gains {
    pub alpha: f32,
    pub beta: f32,
}

/// One-Euro settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OneEuroSettings {
    /// Cut-off at rest, in Hz: lower removes more jitter from a still face.
    pub min_cutoff: f32,
    /// How fast the cut-off rises with speed (per inter-ocular distance per second): higher
    /// follows fast motion more closely.
    pub beta: f32,
    /// Cut-off of the speed estimate itself, in Hz.
    #[serde(default = "one_hertz")]
    pub d_cutoff: f32,
}

fn one_hertz() -> f32 {
    1.0
}

/// One value filtered over time, exactly as the published reference implementation does it.
#[derive(Debug, Clone, Copy)]
pub struct OneEuro {
    settings: OneEuroSettings,
    /// The last filtered value, its filtered speed and its time.
    last: Option<(f32, f32, f64)>,
}

/// The weight of a new sample in an exponential smoother with cut-off `cutoff` Hz, `dt`
/// seconds after the last.
fn smoothing_factor(dt: f32, cutoff: f32) -> f32 {
    let r = 2.0 * std::f32::consts::PI * cutoff * dt;
    r / (r + 1.0)
}

impl OneEuro {
    pub fn new(settings: OneEuroSettings) -> OneEuro {
        OneEuro {
            settings,
            last: None,
        }
    }

    /// Filters `x` sampled at `t` seconds; `scale` divides speeds (1 for raw units).
    pub fn filter(&mut self, x: f32, t: f64, scale: f32) -> f32 {
        let Some((x_prev, dx_prev, t_prev)) = self.last else {
            self.last = Some((x, 0.0, t));
            return x;
        };
        let dt = (t - t_prev) as f32;
        if dt <= 0.0 {
            return x_prev;
        }
        let s = &self.settings;
        let dx = (x - x_prev) / dt / scale.max(1e-6);
        let a_d = smoothing_factor(dt, s.d_cutoff);
        let dx_hat = a_d * dx + (1.0 - a_d) * dx_prev;
        let cutoff = s.min_cutoff + s.beta * dx_hat.abs();
        let a = smoothing_factor(dt, cutoff);
        let x_hat = a * x + (1.0 - a) * x_prev;
        self.last = Some((x_hat, dx_hat, t));
        x_hat
    }

    pub fn reset(&mut self) {
        self.last = None;
    }
}

/// A value (a point, or a pair of numbers) followed at constant velocity: each measurement
/// corrects a prediction from the last position and velocity by the gains.
#[derive(Debug, Clone, Copy)]
pub(super) struct ConstantVelocity {
    gains: Gains,
    /// Position, velocity per second, time.
    last: Option<([f32; 2], [f32; 2], f64)>,
}

impl ConstantVelocity {
    pub(super) fn new(gains: Gains) -> ConstantVelocity {
        ConstantVelocity { gains, last: None }
    }

    pub(super) fn filter(&mut self, z: [f32; 2], t: f64) -> [f32; 2] {
        let Some((x, v, t_prev)) = self.last else {
            self.last = Some((z, [0.0; 2], t));
            return z;
        };
        let dt = (t - t_prev) as f32;
        if dt <= 0.0 {
            return x;
        }
        let Gains { alpha, beta } = self.gains;
        let mut next = (x, v, t);
        for i in 0..2 {
            let predicted = x[i] + v[i] * dt;
            let surprise = z[i] - predicted;
            next.0[i] = predicted + alpha * surprise;
            next.1[i] = v[i] + beta / dt * surprise;
        }
        self.last = Some(next);
        next.0
    }

    /// Forgets the past: the next value starts afresh.
    pub(super) fn reset(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference implementation's steps, written out for one input sequence.
    #[test]
    fn the_filter_follows_its_published_definition() {
        let settings = OneEuroSettings {
            min_cutoff: 1.0,
            beta: 0.5,
            d_cutoff: 1.0,
        };
        let mut filter = OneEuro::new(settings);
        let samples = [(0.0, 1.0f32), (0.1, 2.0), (0.2, 1.5), (0.35, 4.0)];
        let (mut x_prev, mut dx_prev, mut t_prev) = (0f32, 0f32, 0f64);
        for (i, &(t, x)) in samples.iter().enumerate() {
            let got = filter.filter(x, t, 1.0);
            let expected = if i == 0 {
                x
            } else {
                let te = (t - t_prev) as f32;
                let alpha = |cutoff: f32| {
                    let tau = 1.0 / (2.0 * std::f32::consts::PI * cutoff);
                    1.0 / (1.0 + tau / te)
                };
                let dx = (x - x_prev) / te;
                let dx_hat = alpha(1.0) * dx + (1.0 - alpha(1.0)) * dx_prev;
                let cutoff = 1.0 + 0.5 * dx_hat.abs();
                dx_prev = dx_hat;
                alpha(cutoff) * x + (1.0 - alpha(cutoff)) * x_prev
            };
            assert!(
                (got - expected).abs() < 1e-5,
                "sample {i}: {got} vs {expected}"
            );
            x_prev = expected;
            t_prev = t;
        }
    }

    #[test]
    fn a_still_value_is_steadied_and_a_fast_one_followed() {
        let settings = OneEuroSettings {
            min_cutoff: 1.5,
            beta: 0.7,
            d_cutoff: 1.0,
        };
        let mut still = OneEuro::new(settings);
        let noisy: Vec<f32> = (0..60)
            .map(|i| if i % 2 == 0 { 0.02 } else { -0.02 })
            .collect();
        let out: Vec<f32> = noisy
            .iter()
            .enumerate()
            .map(|(i, &x)| still.filter(x, i as f64 / 30.0, 1.0))
            .collect();
        let spread = out[30..].iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(spread < 0.01, "jitter of ±0.02 left at ±{spread}");
        let mut moving = OneEuro::new(settings);
        let mut last = 0.0;
        for i in 0..30 {
            last = moving.filter(i as f32 * 0.5, i as f64 / 30.0, 1.0);
        }
        assert!(
            (last - 14.5).abs() < 0.5,
            "a ramp of 15 units/s ends at {last}, not 14.5"
        );
    }
}
