//! Progress bars for long work (extraction, training), with rate and ETA, on stderr.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting to `total` (a spinner when the total is unknown), labelled `what`.
/// indicatif hides it when stderr is not a terminal, so logs and CI stay clean.
pub fn progress(total: Option<u64>, what: &str) -> ProgressBar {
    let bar = match total {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    let style =
        ProgressStyle::with_template("{msg:>14} [{bar:30}] {pos}/{len} {per_sec} ETA {eta}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}
