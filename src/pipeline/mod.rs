//! The live frame path (DESIGN §2): capture → detect/track → landmarks → sketch → generator →
//! compose → window / recorder.
//!
//! This module grows stage by stage; so far it holds the hand-off that lets a camera run on
//! its own thread while processing always takes the newest frame.

pub mod handoff;

pub use handoff::Handoff;
