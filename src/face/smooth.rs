//! Steadying landmarks over time without making them trail the face.
//!
//! The head's motion and the face's own shape are filtered apart. Each frame's landmarks are
//! fitted by a similarity of the first frame's (where the face is, how big, how turned in the
//! picture); the head's motion is followed by a constant-velocity (alpha-beta) filter, which
//! keeps up with a steady turn instead of trailing it as an exponential smoother does. What
//! the similarity leaves, the face's shape, is steadied by One-Euro filters (Casiez, Roussel and
//! Vogel, CHI 2012): lightly on the points that speak and blink (mouth, eyelids, chin), so the
//! lips do not trail speech, and strongly on the rest (brows, nose, eye corners, jaw line), whose
//! frame-to-frame motion is mostly the tracker's noise. Speeds are measured in inter-ocular
//! distances per second, so the same settings suit a face of any size.
//!
//! A frame that repeats the one before ([`crate::frame::repeat`]) shows where the face was,
//! not where it is. For reenactment its landmarks are replaced by the last ones moved on by
//! three quarters of the last step (less than a whole step, so that a camera stalled for many
//! frames moves the face by at most three steps); a swap holds them, so the face stays on the
//! repeated picture's pixels.
//!
//! Chosen by measurement with `mimic track --smooth` on the test clips (README, "Smoothing"):
//! against One-Euro on every point, the head trails by at most one frame instead of up to 1.8.

use serde::{Deserialize, Serialize};

use crate::face::{Landmarks, LANDMARK_COUNT};
use crate::frame::change::FrameChange;
use crate::geometry::{Point, Similarity};

/// The smoother's settings (the model card's `[smoothing]`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SmoothSettings {
    /// Where the face is in the picture.
    pub position: Gains,
    /// How big the face is and how it is turned in the picture.
    pub turn: Gains,
    /// The points that speak and blink: mouth, eyelids, chin.
    pub expression: OneEuroSettings,
    /// The rest of the face's shape.
    pub shape: OneEuroSettings,
}

impl Default for SmoothSettings {
    /// Tuned on the test clips (README, "Smoothing"): the most jitter removed with the head
    /// trailing by at most a frame and the lips and eyelids by about one. (The velocity gain
    /// was 0.07 until MTCNN became the tracker's detector: d9's head then trailed by 1.0004
    /// frames.)
    fn default() -> Self {
        Self {
            position: Gains {
                alpha: 0.45,
                beta: 0.075,
            },
            turn: Gains {
                alpha: 0.15,
                beta: 0.02,
            },
            expression: OneEuroSettings {
                min_cutoff: 1.2,
                beta: 4.0,
                d_cutoff: 1.0,
            },
            shape: OneEuroSettings {
                min_cutoff: 0.3,
                beta: 0.3,
                d_cutoff: 1.0,
            },
        }
    }
}

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
struct ConstantVelocity {
    gains: Gains,
    /// Position, velocity per second, time.
    last: Option<([f32; 2], [f32; 2], f64)>,
}

impl ConstantVelocity {
    fn new(gains: Gains) -> ConstantVelocity {
        ConstantVelocity { gains, last: None }
    }

    fn filter(&mut self, z: [f32; 2], t: f64) -> [f32; 2] {
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
}

/// The points that speak and blink (mouth, eyelids, chin): steadied lightly.
fn expressive(index: usize) -> bool {
    matches!(index, 5..=11 | 37 | 38 | 40 | 41 | 43 | 44 | 46 | 47 | 48..=67)
}

/// The 68 landmarks steadied over time (see the module's comment).
#[derive(Debug, Clone)]
pub struct LandmarkSmoother {
    /// The first face's landmarks, centred: what each frame's similarity is fitted from.
    template: Option<Vec<Point>>,
    position: ConstantVelocity,
    /// Log-scale and angle, in inter-ocular distances (so both move like points do).
    turn: ConstantVelocity,
    shape: Vec<[OneEuro; 2]>,
}

impl LandmarkSmoother {
    pub fn new(settings: SmoothSettings) -> LandmarkSmoother {
        let shape = (0..LANDMARK_COUNT)
            .map(|i| {
                let filter = OneEuro::new(match expressive(i) {
                    true => settings.expression,
                    false => settings.shape,
                });
                [filter, filter]
            })
            .collect();
        LandmarkSmoother {
            template: None,
            position: ConstantVelocity::new(settings.position),
            turn: ConstantVelocity::new(settings.turn),
            shape,
        }
    }

    /// The landmarks of the frame at `t` seconds, smoothed.
    pub fn smooth(&mut self, landmarks: &Landmarks, t: f64) -> Landmarks {
        let template = self.template.get_or_insert_with(|| centred(landmarks));
        let Some(head) = Similarity::estimate(template, landmarks.points()) else {
            return landmarks.clone();
        };
        let iod = landmarks.inter_ocular().max(1e-3);
        let [tx, ty] = self.position.filter([head.tx, head.ty], t);
        let [log_scale, angle] = self.turn.filter(
            [
                head.scale().max(1e-6).ln() * iod,
                head.b.atan2(head.a) * iod,
            ],
            t,
        );
        let (scale, angle) = ((log_scale / iod).exp(), angle / iod);
        let steady_head = Similarity {
            a: scale * angle.cos(),
            b: scale * angle.sin(),
            tx,
            ty,
        };
        // The shape: each point in the template's frame, less the template.
        let to_template = head.inverse();
        let template_iod = iod / head.scale().max(1e-6);
        let mut points = *landmarks.points();
        for ((p, base), [fx, fy]) in points.iter_mut().zip(template.iter()).zip(&mut self.shape) {
            let q = to_template.apply(*p);
            let dx = fx.filter(q.x - base.x, t, template_iod);
            let dy = fy.filter(q.y - base.y, t, template_iod);
            *p = steady_head.apply(Point::new(base.x + dx, base.y + dy));
        }
        Landmarks::new(points)
    }

    /// Forgets the past: the next face starts afresh (after the face was lost).
    pub fn reset(&mut self) {
        self.template = None;
        self.position.last = None;
        self.turn.last = None;
        for [fx, fy] in &mut self.shape {
            fx.reset();
            fy.reset();
        }
    }
}

fn centred(landmarks: &Landmarks) -> Vec<Point> {
    let points = landmarks.points();
    let n = points.len() as f32;
    let (sx, sy) = points
        .iter()
        .fold((0.0, 0.0), |(x, y), p| (x + p.x, y + p.y));
    let (cx, cy) = (sx / n, sy / n);
    points
        .iter()
        .map(|p| Point::new(p.x - cx, p.y - cy))
        .collect()
}

/// What a frame that repeats the one before does to the steadied landmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnRepeat {
    /// The motion goes on (three quarters of the last step): the reenacted target keeps moving
    /// smoothly.
    CarryOn,
    /// The landmarks stay as they were: a swapped face stays on the repeated picture's pixels.
    Hold,
}

/// The driver's landmarks as the frame path draws and aligns by them: the tracker's, smoothed
/// over time unless smoothing is off, started afresh whenever the face was lost.
#[derive(Debug, Clone)]
pub struct SteadyLandmarks {
    smoother: Option<LandmarkSmoother>,
    on_repeat: OnRepeat,
    current: Option<Landmarks>,
    /// The last two sightings taken in (newest first): a repeated frame's stand-in is made
    /// from them.
    sightings: [Option<Landmarks>; 2],
}

impl SteadyLandmarks {
    /// `None`: the tracker's landmarks as they are.
    pub fn new(settings: Option<SmoothSettings>, on_repeat: OnRepeat) -> SteadyLandmarks {
        SteadyLandmarks {
            smoother: settings.map(LandmarkSmoother::new),
            on_repeat,
            current: None,
            sightings: [None, None],
        }
    }

    /// This frame's landmarks (`found` at `t` seconds; `repeat`: the frame repeats the one
    /// before), steadied.
    pub fn update(
        &mut self,
        found: Option<&Landmarks>,
        t: f64,
        change: FrameChange,
    ) -> Option<&Landmarks> {
        // After a cut the face is another sighting altogether: smoothing from the last shot's
        // would slide it across the picture.
        if found.is_none() || change == FrameChange::Cut {
            self.reset();
        }
        let Some(smoother) = &mut self.smoother else {
            self.current = found.cloned();
            return self.current.as_ref();
        };
        let found = found?;
        let repeat = change == FrameChange::Repeat;
        let sighting = match (repeat, self.on_repeat, &self.sightings) {
            (true, OnRepeat::Hold, [Some(_), _]) if self.current.is_some() => {
                return self.current.as_ref();
            }
            (true, OnRepeat::CarryOn, [Some(last), Some(before)]) => carried_on(last, before),
            _ => found.clone(),
        };
        self.current = Some(smoother.smooth(&sighting, t));
        self.sightings = [Some(sighting), self.sightings[0].take()];
        self.current.as_ref()
    }

    pub fn current(&self) -> Option<&Landmarks> {
        self.current.as_ref()
    }

    /// Forgets the face: the next one found starts afresh.
    pub fn reset(&mut self) {
        if let Some(smoother) = &mut self.smoother {
            smoother.reset();
        }
        self.sightings = [None, None];
        self.current = None;
    }
}

/// The share of the last step a repeated frame's landmarks move on by. Below 1, so that a
/// camera stalled for many frames moves the face by a bounded distance (k / (1 − k) steps).
const CARRY_ON: f32 = 0.75;

/// Where the face probably is a frame after `last`: moved on by some of the step from `before`.
fn carried_on(last: &Landmarks, before: &Landmarks) -> Landmarks {
    let mut points = *last.points();
    for (p, b) in points.iter_mut().zip(before.points()) {
        *p = Point::new(p.x + CARRY_ON * (p.x - b.x), p.y + CARRY_ON * (p.y - b.y));
    }
    Landmarks::new(points)
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

    /// A face template moved along `path` and opened at the mouth by `open` (per frame).
    fn faces(path: impl Iterator<Item = (f32, f32, f32)>) -> Vec<Landmarks> {
        path.map(|(dx, dy, open)| {
            let points: Vec<Point> = (0..LANDMARK_COUNT)
                .map(|i| {
                    let drop = if i >= 57 { open } else { 0.0 };
                    Point::new(
                        100.0 + (i % 17) as f32 * 6.0 + dx,
                        100.0 + (i / 17) as f32 * 20.0 + dy + drop,
                    )
                })
                .collect();
            Landmarks::from_slice(&points).unwrap()
        })
        .collect()
    }

    fn smoothed(faces: &[Landmarks], repeats: &[bool]) -> Vec<Landmarks> {
        let mut steady = SteadyLandmarks::new(Some(SmoothSettings::default()), OnRepeat::CarryOn);
        faces
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let change = match repeats.get(i).copied().unwrap_or(false) {
                    true => FrameChange::Repeat,
                    false => FrameChange::New,
                };
                steady
                    .update(Some(f), i as f64 / 25.0, change)
                    .unwrap()
                    .clone()
            })
            .collect()
    }

    #[test]
    fn a_steady_turn_is_followed_without_trailing_it() {
        let faces = faces((0..60).map(|i| (i as f32 * 4.0, i as f32 * -2.0, 0.0)));
        let out = smoothed(&faces, &[]);
        let last = out.last().unwrap().nme(faces.last().unwrap());
        assert!(last < 0.005, "a constant motion is trailed by {last} (NME)");
    }

    #[test]
    fn shaking_is_taken_out_and_speech_is_kept() {
        let shaky = |i: usize| if i.is_multiple_of(2) { 1.5 } else { -1.5 };
        let shaking = faces((0..80).map(|i| (shaky(i), 0.0, 0.0)));
        let out = smoothed(&shaking, &[]);
        let spread = out[40..]
            .windows(2)
            .map(|w| (w[0].points()[30].x - w[1].points()[30].x).abs())
            .fold(0f32, f32::max);
        assert!(
            spread < 1.2,
            "a ±1.5 px shake is left at {spread} px frame to frame"
        );
        // The mouth opens by 20 px over 3 frames: the smoothed mouth is most of the way there
        // when the raw one arrives.
        let open = |i: usize| (i.saturating_sub(40) as f32 * 20.0 / 3.0).min(20.0);
        let speaking = faces((0..60).map(|i| (0.0, 0.0, open(i))));
        let out = smoothed(&speaking, &[]);
        let reached = out[43].points()[62].y - out[39].points()[62].y;
        assert!(
            reached > 12.0,
            "the mouth opened {reached} px of 20 by the raw's arrival"
        );
    }

    #[test]
    fn a_repeated_frame_is_taken_as_the_motion_carried_on() {
        let moving: Vec<_> = (0..40).map(|i| (i as f32 * 5.0, 0.0, 0.0)).collect();
        // Every fifth frame repeats the one before, as a frame-rate conversion makes it.
        let stalled: Vec<_> = (0..40)
            .map(|i| if i % 5 == 4 { moving[i - 1] } else { moving[i] })
            .collect();
        let repeats: Vec<bool> = (0..40).map(|i| i % 5 == 4).collect();
        let x = |faces: &[Landmarks], i: usize| faces[i].points()[30].x;
        let aware = smoothed(&faces(stalled.iter().copied()), &repeats);
        let blind = smoothed(&faces(stalled.iter().copied()), &[]);
        // Around a repeat, the steps of the repeat-aware output stay even; the blind one stalls.
        let step = |out: &[Landmarks], i: usize| x(out, i) - x(out, i - 1);
        assert!(step(&aware, 34) > 3.5, "aware step {}", step(&aware, 34));
        assert!(step(&blind, 34) < step(&aware, 34) - 1.0);
    }
}
