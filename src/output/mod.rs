//! What the live loop shows: the composed panels with their overlay text, the window, and the
//! live outputs (a virtual camera, a network stream).

pub mod compose;
pub mod devices;
pub mod font;
pub mod stream;
pub mod window;
