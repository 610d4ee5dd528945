//! mimic's window under Xvfb: the shell a window test runs in, and screenshots of the window
//! while it runs.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Longest wait for mimic's window to appear: a slow CI host takes seconds to open it.
const WINDOW_WAIT_S: u32 = 90;
/// Screenshots taken at most while the command runs (one every quarter second or so).
const MAX_SHOTS: u32 = 120;

/// Runs `mimic ARGS…` under Xvfb and returns the first screenshot of the running window that
/// `drawn` accepts (written to `shot`); the command must then finish successfully.
///
/// Nothing here assumes a fast machine: the script waits for the window to exist (`xdotool
/// search --sync`, capped), then screenshots the screen over and over while mimic runs, and
/// the test looks through them in order. A host that opens the window late only shifts which
/// screenshot shows it.
pub fn screen_when(
    args: &[&str],
    drawn: impl Fn(&image::RgbImage) -> bool,
    shot: &Path,
) -> image::RgbImage {
    let dir = shot.with_extension("shots");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the screenshot folder is made");
    let script = format!(
        "{bin} {args} & pid=$!; \
         timeout {WINDOW_WAIT_S} xdotool search --sync --name mimic > /dev/null; i=0; \
         while kill -0 $pid 2>/dev/null && [ $i -lt {MAX_SHOTS} ]; do \
           import -window root {dir}/$(printf %04d $i).png 2>/dev/null; i=$((i+1)); sleep 0.2; \
         done; wait $pid",
        bin = env!("CARGO_BIN_EXE_mimic"),
        args = args.join(" "),
        dir = dir.display(),
    );
    under_xvfb(&script, None);
    let mut shots: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the screenshot folder is readable")
        .filter_map(|e| Some(e.ok()?.path()))
        .collect();
    shots.sort();
    assert!(!shots.is_empty(), "no screenshot was taken while mimic ran");
    let count = shots.len();
    // A screenshot cut short by the program ending is unreadable: skip it.
    let screens = shots
        .iter()
        .filter_map(|p| Some((p, image::open(p).ok()?.to_rgb8())));
    for (path, screen) in screens {
        if drawn(&screen) {
            std::fs::copy(path, shot).expect("the screenshot is kept");
            return screen;
        }
    }
    panic!(
        "none of the {count} screenshots in {} shows the window drawn",
        dir.display()
    );
}

/// Runs the shell `script` under Xvfb (a 1024×600 screen) in the folder `dir` (the test's own
/// when `None`); it must succeed.
pub fn under_xvfb(script: &str, dir: Option<&Path>) {
    let mut command = Command::new("xvfb-run");
    command.args(["-a", "-s", "-screen 0 1024x600x24", "sh", "-c", script]);
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let run = command.output().expect("xvfb-run is installed by setup.sh");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// Runs `mimic ARGS…` (a `--json` live run) under Xvfb in `dir` and presses `keys` in its
/// window, one a second once it is open (xdotool, the window focused first); its report goes
/// to `dir/report.json`.
pub fn press_keys(args: &[&str], keys: &[&str], dir: &Path) {
    let script = format!(
        "{bin} {args} > report.json & pid=$!; \
         w=$(timeout {WINDOW_WAIT_S} xdotool search --sync --name mimic | head -1); sleep 1; \
         xdotool windowfocus --sync $w; \
         for key in {keys}; do xdotool keydown $key; sleep 0.2; xdotool keyup $key; sleep 0.8; done; \
         wait $pid",
        bin = env!("CARGO_BIN_EXE_mimic"),
        args = args.join(" "),
        keys = keys.join(" "),
    );
    under_xvfb(&script, Some(dir));
}
