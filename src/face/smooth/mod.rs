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
//!
//! The filters are in `filters.rs`, the landmark smoother in `landmarks.rs`, and what the frame
//! path keeps of a face in `steady.rs`.

mod filters;
mod landmarks;
mod steady;

use serde::{Deserialize, Serialize};

pub use self::filters::{Gains, OneEuro, OneEuroSettings};
pub use self::landmarks::LandmarkSmoother;
pub use self::steady::{OnRepeat, SteadyLandmarks};

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
