//! The driver's landmarks as the frame path draws and aligns by them ([`SteadyLandmarks`]):
//! smoothed, started afresh when the face is lost or the shot cut, and on a frame that repeats
//! the one before either carried on or held ([`OnRepeat`]).

use super::landmarks::LandmarkSmoother;
use super::SmoothSettings;
use crate::face::Landmarks;
use crate::frame::change::FrameChange;
use crate::geometry::Point;

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
    use crate::face::LANDMARK_COUNT;

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
