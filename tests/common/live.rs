//! `mimic live` and `mimic bench` command lines, built flag by flag.

use std::path::Path;
use std::process::Output;

use super::{arg, mimic, mimic_json};

/// The arguments of one `mimic live` run: `live --model MODEL --input INPUT` (or `--camera N`)
/// and then the flags given, in the order given.
#[derive(Clone, Debug)]
pub struct LiveRun {
    args: Vec<String>,
}

impl LiveRun {
    /// `live --model MODEL --input INPUT`.
    pub fn new(model: &Path, input: &Path) -> Self {
        Self::with_model(model).flag("--input", arg(input))
    }

    /// `live --model MODEL --camera INDEX`.
    pub fn camera(model: &Path, index: u32) -> Self {
        Self::with_model(model).flag("--camera", &index.to_string())
    }

    fn with_model(model: &Path) -> Self {
        Self {
            args: vec!["live".into(), "--model".into(), arg(model).into()],
        }
    }

    /// `--headless`: no window.
    pub fn headless(self) -> Self {
        self.with(&["--headless"])
    }

    /// `--realtime`: the file played at its own pace, as a camera plays.
    pub fn realtime(self) -> Self {
        self.with(&["--realtime"])
    }

    /// `--mode MODE`.
    pub fn mode(self, mode: &str) -> Self {
        self.flag("--mode", mode)
    }

    /// `--view VIEW`.
    pub fn view(self, view: &str) -> Self {
        self.flag("--view", view)
    }

    /// `--max-frames N`.
    pub fn max_frames(self, n: u64) -> Self {
        self.flag("--max-frames", &n.to_string())
    }

    /// `--record PATH`.
    pub fn record(self, path: &Path) -> Self {
        self.flag("--record", arg(path))
    }

    /// `--json`: the report on stdout, for a run that may fail ([`LiveRun::report`] adds it
    /// itself).
    pub fn json(self) -> Self {
        self.with(&["--json"])
    }

    /// `FLAG VALUE`.
    pub fn flag(self, flag: &str, value: &str) -> Self {
        self.with(&[flag, value])
    }

    /// Any other words, as they are.
    pub fn with(mut self, words: &[&str]) -> Self {
        self.args.extend(words.iter().map(|w| w.to_string()));
        self
    }

    /// The command line, without the program.
    pub fn args(&self) -> Vec<&str> {
        self.args.iter().map(String::as_str).collect()
    }

    /// Runs it, whatever its outcome.
    pub fn run(&self) -> Output {
        mimic(&self.args())
    }

    /// Runs it with `--json`; it must succeed. Its report.
    pub fn report(&self) -> serde_json::Value {
        mimic_json(&self.args())
    }

    /// Runs it with `--json`; it must succeed. Its report, and what it said on stderr.
    pub fn report_and_stderr(&self) -> (serde_json::Value, String) {
        let run = self.clone().json().run();
        let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
        assert!(run.status.success(), "{stderr}");
        (serde_json::from_slice(&run.stdout).unwrap(), stderr)
    }
}

/// `mimic bench --model MODEL --input INPUT MORE… --json`, which must succeed: its report.
pub fn bench(model: &Path, input: &Path, more: &[&str]) -> serde_json::Value {
    let args = ["bench", "--model", arg(model), "--input", arg(input)];
    mimic_json(&[&args[..], more].concat())
}
