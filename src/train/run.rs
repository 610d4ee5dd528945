//! What every trainer keeps beside its networks: the run's state file (step, seed, seconds…),
//! written last so a checkpoint counts only once it is complete and read back by `--resume`,
//! and the checks and errors around writing a run's files.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::TrainError;

/// The state file inside a checkpoint folder.
const STATE: &str = "state.toml";

/// Writes `state` into checkpoint folder `dir`, atomically; call it after the weights.
pub fn save_state<T: Serialize>(dir: &Path, state: &T) -> Result<(), TrainError> {
    let path = dir.join(STATE);
    let text = toml::to_string(state).map_err(|e| write_error(&path, e))?;
    crate::files::write_atomically(&path, text.as_bytes()).map_err(|e| write_error(&path, e))
}

/// Reads the state of checkpoint folder `dir`.
pub fn load_state<T: DeserializeOwned>(dir: &Path) -> Result<T, TrainError> {
    let path = dir.join(STATE);
    let text = std::fs::read_to_string(&path).map_err(|e| TrainError::Checkpoint {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| TrainError::Checkpoint {
        path,
        reason: e.message().to_string(),
    })
}

/// Every n-th example of a set is held out (previews, validation), the others trained on.
pub const HOLDOUT_EVERY: usize = 10;

/// Splits `items` into (trained on, held out): every [`HOLDOUT_EVERY`]-th is held out, spread
/// evenly over the set.
pub fn hold_out<T>(items: impl IntoIterator<Item = T>) -> (Vec<T>, Vec<T>) {
    let (mut train, mut held_out) = (Vec::new(), Vec::new());
    for (i, item) in items.into_iter().enumerate() {
        match i % HOLDOUT_EVERY == HOLDOUT_EVERY - 1 {
            true => held_out.push(item),
            false => train.push(item),
        }
    }
    (train, held_out)
}

/// The folder a model is to be written into must exist before hours of training.
pub fn check_output_folder(model: &Path) -> Result<(), TrainError> {
    let folder = match model.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if folder.is_dir() {
        Ok(())
    } else {
        Err(TrainError::Write {
            path: model.to_path_buf(),
            reason: format!("folder '{}' does not exist", folder.display()),
        })
    }
}

/// The models a run will write (and their cards) must not replace what is there unless the
/// run may (it replaces them, or resumes the run that wrote them): checked before hours of
/// training, as is their folder.
pub fn check_outputs(models: &[PathBuf], may_replace: bool) -> Result<(), TrainError> {
    for model in models {
        check_output_folder(model)?;
        if may_replace {
            continue;
        }
        let card = crate::infer::ModelCard::path_for(model);
        for there in [model, &card] {
            if there.exists() {
                return Err(TrainError::Exists(there.clone()));
            }
        }
    }
    Ok(())
}

/// Creates a run's folder.
pub fn create_dir(dir: &Path) -> Result<(), TrainError> {
    std::fs::create_dir_all(dir).map_err(|e| write_error(dir, e))
}

pub fn write_error(path: &Path, e: impl std::fmt::Display) -> TrainError {
    TrainError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}
