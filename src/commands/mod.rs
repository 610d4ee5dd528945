//! One file per command: each turns parsed flags into calls on the library and a report.

pub mod demo;
pub mod detect;
pub mod devices;
pub mod doctor;

/// Prints a value as one line of JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}
