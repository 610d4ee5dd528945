//! The live frame path (DESIGN §2): capture → detect/track → landmarks → sketch → generator →
//! compose → window / recorder.
//!
//! [`Reenactor`] runs the processing side of reenact mode (track → framing → sketch →
//! generator); [`Handoff`] lets a camera run on its own thread while processing always takes
//! the newest frame. Composition lives in [`crate::compose`], recording in [`crate::video`].

pub mod handoff;
pub mod reenact;
pub mod session;

pub use handoff::Handoff;
pub use reenact::{ReenactError, Reenactor, StageTimes};
pub use session::{FrameTimes, Session};
