//! mimic: real-time face reenactment and face swap from a webcam.
//!
//! The library holds every stage of the frame path (DESIGN §2), each in its own module;
//! the `mimic` binary only parses arguments, calls these stages and reports.

pub mod blend;
pub mod calibrate;
pub mod capture;
pub mod compose;
pub mod dataset;
pub mod demo;
pub mod detail;
pub mod eval;
pub mod extract;
pub mod face;
pub mod faceset;
pub mod files;
pub mod font;
pub mod frame;
pub mod imageset;
pub mod infer;
pub mod install;
pub mod lab;
pub mod onnx;
pub mod pipeline;
pub mod progress;
pub mod quantize;
pub mod reference;
pub mod repeat;
pub mod resize;
pub mod retarget;
pub mod sketch;
pub mod smooth;
pub mod stability;
pub mod track;
pub mod train;
pub mod video;
pub mod window;
