//! Reenactment's own parts: the sketch the generator is driven by, retargeting the driver's
//! expression and motion onto the target, and calibrating the driver's neutral face.

pub mod calibrate;
pub mod retarget;
pub mod sketch;
