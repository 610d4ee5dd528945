//! Steadying landmarks over time with the One-Euro filter (Casiez, Roussel and Vogel, CHI
//! 2012): an exponential smoother whose cut-off frequency rises with speed, so a still face is
//! still (low cut-off, jitter removed) and a fast head turn is followed without delay (high
//! cut-off). Speeds are measured in inter-ocular distances per second, so the same settings
//! suit a face of any size in any frame.

use serde::{Deserialize, Serialize};

use crate::face::{Landmarks, Point, LANDMARK_COUNT};

/// The filter's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OneEuroSettings {
    /// Cut-off at rest, in Hz: lower removes more jitter from a still face.
    pub min_cutoff: f32,
    /// How fast the cut-off rises with speed (per inter-ocular distance per second): higher
    /// follows fast motion more closely.
    pub beta: f32,
    /// Cut-off of the speed estimate itself, in Hz.
    pub d_cutoff: f32,
}

impl Default for OneEuroSettings {
    /// Tuned on the test clips with `mimic track --smooth`: jitter d12 −61 %, d9 −70 %, d3 −75 %;
    /// lag 0.9 frames on d12's fastest head motion (at 25 fps), 1.7–1.8 frames on the slow
    /// motion of d9 and d3. β 4 kept the lag under a frame everywhere but left d12 at −36 %.
    fn default() -> Self {
        Self {
            min_cutoff: 1.5,
            beta: 0.7,
            d_cutoff: 1.0,
        }
    }
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

/// A One-Euro filter on each coordinate of the 68 landmarks.
#[derive(Debug, Clone)]
pub struct LandmarkSmoother {
    filters: Vec<[OneEuro; 2]>,
}

impl LandmarkSmoother {
    pub fn new(settings: OneEuroSettings) -> LandmarkSmoother {
        let filter = OneEuro::new(settings);
        LandmarkSmoother {
            filters: vec![[filter, filter]; LANDMARK_COUNT],
        }
    }

    /// The landmarks of the frame at `t` seconds, smoothed; speeds count in this frame's
    /// inter-ocular distances.
    pub fn smooth(&mut self, landmarks: &Landmarks, t: f64) -> Landmarks {
        let scale = landmarks.inter_ocular();
        let mut points = *landmarks.points();
        for (p, [fx, fy]) in points.iter_mut().zip(&mut self.filters) {
            *p = Point::new(fx.filter(p.x, t, scale), fy.filter(p.y, t, scale));
        }
        Landmarks::new(points)
    }

    /// Forgets the past: the next face starts afresh (after the face was lost).
    pub fn reset(&mut self) {
        for [fx, fy] in &mut self.filters {
            fx.reset();
            fy.reset();
        }
    }
}

/// The driver's landmarks as the frame path draws and aligns by them: the tracker's, smoothed
/// over time unless smoothing is off, started afresh whenever the face was lost.
#[derive(Debug, Clone)]
pub struct SteadyLandmarks {
    smoother: Option<LandmarkSmoother>,
    current: Option<Landmarks>,
}

impl SteadyLandmarks {
    /// `None`: the tracker's landmarks as they are.
    pub fn new(settings: Option<OneEuroSettings>) -> SteadyLandmarks {
        SteadyLandmarks {
            smoother: settings.map(LandmarkSmoother::new),
            current: None,
        }
    }

    /// This frame's landmarks (`found` at `t` seconds), steadied.
    pub fn update(&mut self, found: Option<&Landmarks>, t: f64) -> Option<&Landmarks> {
        self.current = match (found, &mut self.smoother) {
            (Some(landmarks), Some(smoother)) => Some(smoother.smooth(landmarks, t)),
            (Some(landmarks), None) => Some(landmarks.clone()),
            (None, smoother) => {
                if let Some(smoother) = smoother {
                    smoother.reset();
                }
                None
            }
        };
        self.current.as_ref()
    }

    pub fn current(&self) -> Option<&Landmarks> {
        self.current.as_ref()
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
        let mut still = OneEuro::new(OneEuroSettings::default());
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
        let mut moving = OneEuro::new(OneEuroSettings::default());
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
