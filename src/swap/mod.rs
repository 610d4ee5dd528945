//! The face swap's own parts: blending the generated face back into the frame (mask, colour
//! transfer in Lab, seamless cloning) and the target's fine detail added to it.

pub mod blend;
pub mod detail;
pub mod lab;
