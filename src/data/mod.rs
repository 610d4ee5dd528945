//! Training data: reenactment datasets (sketch/frame pairs), face sets, image sets, and the
//! extraction that makes them from videos and photos.

pub mod dataset;
pub mod extract;
pub mod faceset;
pub mod imageset;
