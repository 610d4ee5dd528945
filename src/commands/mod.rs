//! One file per command: each turns parsed flags into the library's configurations, calls
//! the library, and reports.

pub mod bench;
pub mod calibrate;
pub mod demo;
pub mod detect;
pub mod devices;
pub mod doctor;
pub mod eval;
pub mod extract;
pub mod live;
pub mod quantize;
pub mod track;
pub mod train;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Prints a value as one line of JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// A flag that turns true on Ctrl-C (or SIGTERM), so long work can stop cleanly: finish the
/// step, save, export. A second Ctrl-C ends the process at once.
pub fn stop_flag() -> anyhow::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    let handler = flag.clone();
    ctrlc::set_handler(move || {
        if handler.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("mimic: stopping after this step (Ctrl-C again to quit at once)");
    })?;
    Ok(flag)
}

/// Whether to open a window: not with `--headless`, and not without a display.
pub fn window_wanted(headless: bool) -> bool {
    !headless && mimic::output::window::display_available()
}
