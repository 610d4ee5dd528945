//! What a two-sided run (the face swap's two people, CycleGAN's two domains) keeps beside its
//! networks: both sides' training pictures, their held-out pictures and the latest figure
//! measured on them, the RNG the training pictures are drawn with, and what the state file
//! says of the run. Each trainer brings its own networks (`N`) and sides (`S`), and its
//! [`super::driver::Trainer`] impl reads the fields.

use candle_core::{Device, Tensor};

use super::params::Rng;

/// A two-sided run: networks `net`, the two sides' pictures, and their held-out pictures.
pub struct PairedRun<N, S> {
    pub net: N,
    pub sides: (S, S),
    /// The held-out pictures of each side, as one tensor each.
    pub validation: (Tensor, Tensor),
    /// The figure last measured on the held-out pictures (reported with every step).
    pub measured: f32,
    pub rng: Rng,
    pub device: Device,
    /// What the state file records of this run.
    pub about: toml::Table,
}

impl<N, S> PairedRun<N, S> {
    /// A run of `net` on `sides`, `measured` on their held-out pictures before its first
    /// step, its training pictures drawn from `seed`.
    pub fn new(
        net: N,
        sides: (S, S),
        validation: (Tensor, Tensor),
        measured: f32,
        seed: u64,
        device: Device,
        about: toml::Table,
    ) -> PairedRun<N, S> {
        PairedRun {
            net,
            sides,
            validation,
            measured,
            rng: Rng::new(seed),
            device,
            about,
        }
    }

    /// Draws the training pictures of a session that starts at `step` from (seed, step), so a
    /// resumed run does not draw again what the first session drew.
    pub fn restart_rng(&mut self, seed: u64, step: u64) {
        self.rng = Rng::new(seed ^ step.wrapping_mul(0x9E37_79B9));
    }
}
