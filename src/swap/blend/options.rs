//! What a blend can be asked for: which part of the generated face replaces the frame's,
//! how its colours are matched, and the corrections on top (seamless, the target's detail,
//! the driver's own mouth). The flags and the window's keys set these.

use serde::Serialize;

/// Which part of the generated crop replaces the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MaskKind {
    /// The whole crop.
    Rect,
    /// The convex hull of the face's landmarks and its forehead.
    Hull,
    /// The hull, kept inside the crop (the default).
    #[default]
    HullRect,
}

impl MaskKind {
    pub fn next(self) -> MaskKind {
        match self {
            MaskKind::Rect => MaskKind::Hull,
            MaskKind::Hull => MaskKind::HullRect,
            MaskKind::HullRect => MaskKind::Rect,
        }
    }
}

/// How the generated face's colours are matched to the face it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorMatch {
    None,
    /// Each channel's mean inside the mask moved to the original's (the book's adjustment).
    Mean,
    /// Reinhard colour transfer: mean and spread of each Lab channel matched.
    #[default]
    Rct,
}

impl ColorMatch {
    pub fn next(self) -> ColorMatch {
        match self {
            ColorMatch::None => ColorMatch::Mean,
            ColorMatch::Mean => ColorMatch::Rct,
            ColorMatch::Rct => ColorMatch::None,
        }
    }
}

/// Mask and colour settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BlendOptions {
    pub mask: MaskKind,
    /// The mask is shrunk by this share of the crop's side…
    pub erode: f32,
    /// …and fades in over this share, so the seam is soft.
    pub blur: f32,
    pub color: ColorMatch,
    /// Poisson blending: the generated face keeps its gradients and takes its edge values
    /// from the frame (after the colour match).
    pub seamless: bool,
    /// The target's fine detail from its keyframes, where the model's card keeps them
    /// ([`crate::swap::detail`]).
    pub detail: bool,
    /// The mouth mask: the driver's own mouth (lips, teeth, what is in front of it) kept from
    /// the frame over the swapped face, feathered in (`mouth.rs`).
    pub mouth: bool,
    /// Occlusion: what passes in front of the face (a hand, a microphone) kept from the frame
    /// over the swapped face (`occlusion.rs`).
    pub occlusion: bool,
}

impl Default for BlendOptions {
    fn default() -> Self {
        Self {
            mask: MaskKind::HullRect,
            erode: 0.03,
            blur: 0.08,
            color: ColorMatch::Rct,
            seamless: false,
            detail: true,
            mouth: false,
            occlusion: false,
        }
    }
}
