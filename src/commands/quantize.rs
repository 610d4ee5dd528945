//! `mimic quantize`: an INT8 copy of a generator, calibrated on the target's own frames run
//! through the live path ([`mimic::live::int8`]).

use std::process::ExitCode;

use mimic::live::int8::{int8_copy, Job, Report};

use crate::cli::QuantizeArgs;

pub fn run(args: QuantizeArgs) -> anyhow::Result<ExitCode> {
    let report = int8_copy(&Job {
        model: &args.model,
        calibration: &args.calibration,
        out: args.out.clone(),
        frames: args.frames,
        method: args.method.map(Into::into),
        replace: args.force,
    })?;
    match args.json.json {
        true => super::print_json(&report)?,
        false => print_summary(&report),
    }
    Ok(ExitCode::SUCCESS)
}

pub fn print_summary(report: &Report) {
    println!(
        "wrote {} ({:.1} MB, was {:.1} MB)",
        report.model.display(),
        report.bytes_int8 as f64 / 1e6,
        report.bytes_float as f64 / 1e6,
    );
    match &report.card {
        Some(card) => println!("and its card {}", card.display()),
        None => println!("(the float model has no card, so neither has its INT8 copy)"),
    }
    println!(
        "calibrated on {} frames; against the float model on {} held-out frames:",
        report.frames, report.held_out
    );
    for trial in &report.trials {
        let kept = match trial.method == report.method {
            true => "  (kept)",
            false => "",
        };
        println!(
            "  {:<11} PSNR {:.1} dB{kept}",
            trial.method.name(),
            trial.psnr_db
        );
    }
}
