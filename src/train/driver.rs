//! The loop every trainer runs, written once: resume from the checkpoint, step until the step
//! count, the time budget or Ctrl-C says stop, follow the learning-rate schedule, stop on a
//! loss that is not a number, show a progress bar with ETA, append the loss log, draw previews
//! and the loss plot, checkpoint, and checkpoint and preview once more at the end. Each trainer
//! ([`Trainer`]) brings only its own step, preview, weights and state; its step reads like the
//! book's.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::report::{LossLog, LossRecord};
use super::{run, TrainError};

/// How long a run goes on and what it writes on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// Stop after this many steps in all (`None`: only the time budget stops the run).
    pub steps: Option<u64>,
    /// Stop after this many minutes of this session (`None`: only the step count does).
    pub max_minutes: Option<f64>,
    pub seed: u64,
    pub preview_every: u64,
    pub checkpoint_every: u64,
    /// Continue from the checkpoint in the run's folder.
    pub resume: bool,
    /// Replace models (and cards) already at the run's output paths.
    pub replace: bool,
    pub schedule: Schedule,
}

impl RunOptions {
    /// Whether the run may write over the models at its output paths.
    pub fn may_replace(&self) -> bool {
        self.replace || self.resume
    }

    /// A run of `steps` steps, previews every 100 and checkpoints every 500, seed 0.
    pub fn steps(steps: u64) -> RunOptions {
        RunOptions {
            steps: Some(steps),
            max_minutes: None,
            seed: 0,
            preview_every: 100,
            checkpoint_every: 500,
            resume: false,
            replace: false,
            schedule: Schedule::Constant,
        }
    }

    /// How far through the run it is (0 to 1) at `step`, `elapsed` into this session: the
    /// larger share of its steps or of its time budget.
    fn progress(&self, step: u64, elapsed: Duration) -> f64 {
        let by_steps = self.steps.map_or(0.0, |n| step as f64 / n.max(1) as f64);
        let by_time = self
            .max_minutes
            .map_or(0.0, |m| elapsed.as_secs_f64() / (m * 60.0).max(1e-9));
        by_steps.max(by_time).clamp(0.0, 1.0)
    }
}

/// The learning rate's course over a run, as a share of the trainer's base rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Schedule {
    /// The base rate throughout (the book's).
    #[default]
    Constant,
    /// The base rate for the first half, then down in a straight line to nothing at the end
    /// (pix2pix's own schedule): a short run ends settled instead of mid-stride.
    LinearDecay,
}

impl Schedule {
    /// The share of the base rate at `progress` (0 to 1) through the run.
    pub fn scale(self, progress: f64) -> f64 {
        match self {
            Schedule::Constant => 1.0,
            Schedule::LinearDecay => (2.0 * (1.0 - progress)).clamp(0.0, 1.0),
        }
    }
}

/// A trainer: its networks, data and optimisers, seen by the driver through one step, one
/// preview and its checkpoint. `N` is the number of figures a step reports (the loss log's
/// columns).
pub trait Trainer<const N: usize> {
    /// Names of the figures a step reports.
    const LOSSES: [&'static str; N];

    /// Called once before the first step of this session, at `step` (0, or where a resumed run
    /// stopped), so the data order drawn from `seed` can continue where it left off.
    fn start(&mut self, step: u64, seed: u64) -> Result<(), TrainError>;
    /// One training step with the learning rate at `lr_scale` of its base.
    fn step(&mut self, lr_scale: f64) -> Result<[f32; N], TrainError>;
    /// Writes a preview grid for `step` into `dir` and returns its path (validation figures
    /// are brought up to date here too).
    fn preview(&mut self, dir: &Path, step: u64) -> Result<PathBuf, TrainError>;
    /// Writes the weights and optimiser state into checkpoint folder `dir`.
    fn save(&mut self, dir: &Path) -> Result<(), TrainError>;
    /// Reads them back from checkpoint folder `dir`.
    fn load(&mut self, dir: &Path) -> Result<(), TrainError>;
    /// What the state file records of this run beside step, seed and time (preset, variant…).
    fn about(&self) -> toml::Table;
}

/// The run's position, saved with each checkpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RunState {
    step: u64,
    seed: u64,
    seconds: f64,
    #[serde(flatten)]
    about: toml::Table,
}

/// Where a run ended.
#[derive(Debug, Clone)]
pub struct Run<const N: usize> {
    /// Steps taken in all (a resumed run counts the earlier ones).
    pub steps: u64,
    /// Steps taken in this session.
    pub session_steps: u64,
    /// Seconds in all, and in this session.
    pub seconds: f64,
    pub session_seconds: f64,
    /// The last step's figures.
    pub losses: [f32; N],
    /// The last preview grid.
    pub preview: PathBuf,
    /// Stopped by Ctrl-C or the time budget before the step count.
    pub stopped_early: bool,
}

impl<const N: usize> Run<N> {
    pub fn steps_per_second(&self) -> f64 {
        self.session_steps as f64 / self.session_seconds.max(1e-9)
    }
}

/// The checkpoint folder inside a run's folder.
pub fn checkpoint_dir(dir: &Path) -> PathBuf {
    dir.join("checkpoint")
}

/// Runs `trainer` with its files in `dir` until `options` or `stop` end it.
pub fn drive<const N: usize, T: Trainer<N>>(
    trainer: &mut T,
    dir: &Path,
    options: &RunOptions,
    stop: &AtomicBool,
) -> Result<Run<N>, TrainError> {
    if options.steps.is_none() && options.max_minutes.is_none() {
        return Err(TrainError::Internal(
            "a run needs a step count or a time budget",
        ));
    }
    let checkpoint = checkpoint_dir(dir);
    let mut state = RunState {
        step: 0,
        seed: options.seed,
        seconds: 0.0,
        about: trainer.about(),
    };
    if options.resume {
        state = run::load_state(&checkpoint)?;
        trainer.load(&checkpoint)?;
    }
    run::create_dir(dir)?;
    let mut log = LossLog::open(dir, T::LOSSES, options.resume.then_some(state.step))?;
    let bar = Bar::new(options, state.step);
    let started = Instant::now();
    let first_step = state.step;
    let mut losses = [0.0; N];
    trainer.start(state.step, state.seed)?;
    let finished = |step: u64| {
        options.steps.is_some_and(|n| step >= n)
            || options
                .max_minutes
                .is_some_and(|m| started.elapsed().as_secs_f64() >= m * 60.0)
    };
    while !finished(state.step) && !stop.load(Ordering::Relaxed) {
        let progress = options.progress(state.step, started.elapsed());
        losses = trainer.step(options.schedule.scale(progress))?;
        if losses.iter().any(|l| !l.is_finite()) {
            return Err(TrainError::Diverged {
                step: state.step + 1,
            });
        }
        state.step += 1;
        bar.show(state.step, started.elapsed(), T::LOSSES, &losses);
        if state.step.is_multiple_of(options.preview_every) {
            trainer.preview(dir, state.step)?;
        }
        log.push(LossRecord {
            step: state.step,
            values: losses,
            seconds: state.seconds + started.elapsed().as_secs_f64(),
        })?;
        if state.step.is_multiple_of(options.preview_every) {
            log.plot()?;
        }
        if state.step.is_multiple_of(options.checkpoint_every) {
            save(trainer, &checkpoint, &state, started)?;
        }
    }
    bar.finish();
    let stopped_early =
        stop.load(Ordering::Relaxed) || options.steps.is_some_and(|n| state.step < n);
    save(trainer, &checkpoint, &state, started)?;
    let preview = trainer.preview(dir, state.step)?;
    log.plot()?;
    let session_seconds = started.elapsed().as_secs_f64();
    Ok(Run {
        steps: state.step,
        session_steps: state.step - first_step,
        seconds: state.seconds + session_seconds,
        session_seconds,
        losses,
        preview,
        stopped_early,
    })
}

fn save<const N: usize>(
    trainer: &mut impl Trainer<N>,
    dir: &Path,
    state: &RunState,
    started: Instant,
) -> Result<(), TrainError> {
    run::create_dir(dir)?;
    trainer.save(dir)?;
    let state = RunState {
        seconds: state.seconds + started.elapsed().as_secs_f64(),
        ..state.clone()
    };
    run::save_state(dir, &state)
}

/// The progress bar: by steps when the run has a step count, else by seconds of its budget.
struct Bar {
    bar: indicatif::ProgressBar,
    by_steps: bool,
}

impl Bar {
    fn new(options: &RunOptions, step: u64) -> Bar {
        let by_steps = options.steps.is_some();
        let total = match (options.steps, options.max_minutes) {
            (Some(n), _) => n,
            (None, Some(m)) => (m * 60.0).ceil() as u64,
            (None, None) => 0,
        };
        let bar = crate::progress::progress(Some(total), "training");
        if by_steps {
            bar.set_position(step);
        }
        Bar { bar, by_steps }
    }

    fn show<const N: usize>(
        &self,
        step: u64,
        elapsed: Duration,
        names: [&str; N],
        losses: &[f32; N],
    ) {
        let position = match self.by_steps {
            true => step,
            false => elapsed.as_secs(),
        };
        self.bar.set_position(position);
        let figures: Vec<String> = names
            .iter()
            .zip(losses)
            .map(|(name, value)| format!("{name} {value:.3}"))
            .collect();
        self.bar
            .set_message(format!("step {step} {}", figures.join(" ")));
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_decay_holds_for_half_the_run_then_falls_to_nothing() {
        let s = Schedule::LinearDecay;
        assert_eq!(s.scale(0.0), 1.0);
        assert_eq!(s.scale(0.5), 1.0);
        assert!((s.scale(0.75) - 0.5).abs() < 1e-12);
        assert_eq!(s.scale(1.0), 0.0);
        assert_eq!(Schedule::Constant.scale(0.9), 1.0);
    }

    #[test]
    fn progress_is_the_larger_share_of_steps_or_time() {
        let run = RunOptions {
            max_minutes: Some(1.0),
            ..RunOptions::steps(100)
        };
        assert!((run.progress(25, Duration::from_secs(6)) - 0.25).abs() < 1e-9);
        assert!((run.progress(10, Duration::from_secs(30)) - 0.5).abs() < 1e-9);
        assert_eq!(run.progress(500, Duration::ZERO), 1.0);
    }
}
