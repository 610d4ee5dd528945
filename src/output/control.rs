//! What the user can ask of a running live loop, whatever asked it (a key in the window
//! today). The session acts on what concerns the picture, the sinks on what concerns files,
//! the loop on quitting; nobody needs to know which mode runs.

/// One request to the live loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// `q` or Esc, or the window was closed.
    Quit,
    /// `v`: the next view.
    CycleView,
    /// `s`: save the current composite as a PNG.
    Snapshot,
    /// `l`: landmarks on the live panel, on or off.
    ToggleLandmarks,
    /// `r`: start or stop recording.
    ToggleRecording,
    /// `m`: the next swap mask (rect, hull, hull-rect).
    CycleMask,
    /// `k`: the next colour match of the swapped face (none, mean, rct).
    CycleColor,
    /// `p`: seamless (Poisson) blending of the swapped face, on or off.
    ToggleSeamless,
    /// `d`: the target's fine detail on the swapped face, on or off.
    ToggleDetail,
    /// `o`: the mouth mask (the driver's own mouth kept over the swapped face), on or off.
    ToggleMouth,
    /// `i`: occlusion (what is in front of the face kept over the swapped face), on or off.
    ToggleOcclusion,
    /// `c`: take the driver's neutral face again (retargeting).
    Recalibrate,
}
