//! How a frame differs from the one before it: a repeat, a new frame of the same shot, or a
//! cut to another.
//!
//! Cameras re-send their last buffer when the light is low or the bus is busy, and videos
//! converted up in frame rate (d12.mp4: 38 of its 183 frames) repeat one frame in every few. A
//! repeat shows where the face was a frame ago, not where it is: taken as a new sighting, it
//! tells the smoother that the head stopped and then jumped, which is most of such a clip's
//! jitter. A repeat differs from the frame before by compression noise only: on the test clips,
//! a repeat's mean luma difference is at most 0.061 of the median difference of the frames
//! before it, and a new frame's at least 0.137, even on a still face (d3, d9).
//!
//! A cut (a video's shot change, another camera) puts another picture in place: where the face
//! was says nothing of where it is. On the test clips a frame differs from the one before by
//! at most 21.3 luma levels on average (d12's fastest head turn) and at most 11.8 times the
//! usual difference; a cut from any of them to any other differs by 41.6 levels or more and
//! 10.3 times the usual or more.

use crate::frame::Rgb8;
use crate::geometry::quantile;

/// Every `STEP`-th pixel of every `STEP`-th row is compared (a thousandth of the work of
/// comparing them all, the same figure to a few per cent).
const STEP: usize = 4;
/// A frame that differs from the one before by less than this share of the usual difference
/// is a repeat (between 0.061 and 0.137, the worst cases on the test clips).
const REPEAT_SHARE: f32 = 0.1;
/// A frame that differs from the one before by this many luma levels on average, and by
/// `CUT_SHARE` times the usual difference, is a cut (between 21.3 and 41.6 levels, and 5
/// times, where a still shot's usual difference is small: d0's is half a level).
const CUT_LEVELS: f32 = 30.0;
const CUT_SHARE: f32 = 5.0;
/// How many of the latest new frames' differences make the usual difference.
const HISTORY: usize = 15;

/// How a frame differs from the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FrameChange {
    /// The same shot, moved on (and the first frame, or one of another size).
    #[default]
    New,
    /// The frame before, sent again.
    Repeat,
    /// Another shot.
    Cut,
}

/// Remembers the last frame, coarsely, to tell how the next one differs from it.
#[derive(Debug, Clone, Default)]
pub struct ChangeCheck {
    last: Vec<u8>,
    /// The frame at hand's coarse luma (kept to be filled again: no allocation a frame).
    current: Vec<u8>,
    size: (u32, u32),
    /// Mean luma differences of the latest new frames of this shot from the frames before them.
    differences: Vec<f32>,
}

impl ChangeCheck {
    pub fn new() -> ChangeCheck {
        ChangeCheck::default()
    }

    /// How `frame` differs from the frame seen before it.
    pub fn change(&mut self, frame: &Rgb8) -> FrameChange {
        coarse_luma(frame, &mut self.current);
        let size = (frame.width(), frame.height());
        let difference = (size == self.size && !self.current.is_empty())
            .then(|| mean_difference(&self.current, &self.last));
        std::mem::swap(&mut self.last, &mut self.current);
        self.size = size;
        let Some(difference) = difference else {
            self.differences.clear();
            return FrameChange::New;
        };
        let usual = usual(&self.differences);
        let change =
            if difference == 0.0 || usual.is_some_and(|usual| difference < REPEAT_SHARE * usual) {
                FrameChange::Repeat
            } else if difference >= CUT_LEVELS
                && usual.is_none_or(|usual| difference >= CUT_SHARE * usual)
            {
                FrameChange::Cut
            } else {
                FrameChange::New
            };
        match change {
            FrameChange::Repeat => {}
            // The new shot's usual difference is its own.
            FrameChange::Cut => self.differences.clear(),
            FrameChange::New => {
                if self.differences.len() == HISTORY {
                    self.differences.remove(0);
                }
                self.differences.push(difference);
            }
        }
        change
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

    fn noisy(seed: u32, width: u32, height: u32, level: u8) -> Rgb8 {
        let mut frame = Rgb8::new(width, height);
        let mut state = seed.wrapping_mul(2_654_435_761).max(1);
        for v in frame.as_mut() {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            *v = level + (state % 16) as u8;
        }
        frame
    }

    #[test]
    fn an_exact_copy_repeats_new_noise_moves_on_and_another_picture_cuts() {
        use FrameChange::*;
        let mut check = ChangeCheck::new();
        let mut change = |seed, width, level| check.change(&noisy(seed, width, 48, level));
        assert_eq!(change(1, 64, 100), New);
        for seed in 2..6 {
            assert_eq!(change(seed, 64, 100), New, "frame {seed}");
        }
        assert_eq!(change(5, 64, 100), Repeat);
        assert_eq!(change(6, 64, 100), New);
        // 60 levels brighter: another shot, whose noise then moves on as before.
        assert_eq!(change(7, 64, 160), Cut);
        assert_eq!(change(8, 64, 160), New);
        // Another size starts afresh.
        assert_eq!(change(8, 32, 160), New);
    }
}
