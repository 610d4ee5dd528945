//! What the live loop shows: the composed panels with their overlay text, and the window.

pub mod compose;
pub mod font;
pub mod window;
