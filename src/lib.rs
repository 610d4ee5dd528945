//! mimic: real-time face reenactment and face swap from a webcam.
//!
//! The library holds every stage of the frame path (DESIGN §2), each in its own module;
//! the `mimic` binary only parses arguments, calls these stages and reports. Modules are
//! listed from the bottom up: each uses only those listed before it.

// Helpers.
pub mod files;
pub mod install;
pub mod progress;

// Plane geometry: points, boxes, similarities.
pub mod geometry;

// Pictures and where they come from.
pub mod frame;
pub mod video;
pub mod capture;

// ONNX: the format and the runtime every network runs on (the face detector, the generators).
pub mod onnx;
pub use onnx::runtime;

// Faces, and what reenactment and the swap make of them.
pub mod face;
pub mod reenact;
pub mod swap;

// Generators: running them, and their INT8 copies.
pub mod infer;

// The live loop and what it shows.
pub mod output;
pub mod pipeline;

// Data, training, evaluation.
pub mod data;
pub mod train;
pub mod eval;
pub mod demo;

// The live loop, whole: source, session and sinks; and what it needs, checked.
pub mod live;
pub mod doctor;
