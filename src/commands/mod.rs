//! One file per command: each turns parsed flags into calls on the library and a report.

pub mod bench;
pub mod demo;
pub mod detect;
pub mod devices;
pub mod doctor;
pub mod eval;
pub mod extract;
pub mod live;
pub mod track;
pub mod train;

/// Prints a value as one line of JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// A flag that turns true on Ctrl-C (or SIGTERM), so long work can stop cleanly: finish the
/// step, save, export. A second Ctrl-C ends the process at once.
pub fn stop_flag() -> anyhow::Result<std::sync::Arc<std::sync::atomic::AtomicBool>> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let flag = std::sync::Arc::new(AtomicBool::new(false));
    let handler = flag.clone();
    ctrlc::set_handler(move || {
        if handler.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("mimic: stopping after this step (Ctrl-C again to quit at once)");
    })?;
    Ok(flag)
}
