//! Where the live loop's pictures go and how they look: the composed panels with their mark,
//! the window and its keys, the recording, the live outputs (a virtual camera, a network
//! stream), and [`Sinks`], which feeds them all.

pub mod compose;
pub mod control;
pub mod devices;
pub mod font;
pub mod guide;
pub mod recording;
pub mod sinks;
pub mod stream;
pub mod window;

pub use control::Control;
pub use sinks::{SinkError, SinkOptions, Sinks};
