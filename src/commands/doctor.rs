//! `mimic doctor`: every runtime need checked ([`mimic::doctor`]), each with the
//! exact fix when missing; the exit status is non-zero when something needed is missing.

use std::process::ExitCode;

use mimic::doctor::{examine, Report, Status};

pub fn run(json: bool) -> anyhow::Result<ExitCode> {
    let report = examine();
    if json {
        super::print_json(&report)?;
    } else {
        print_table(&report);
    }
    Ok(match report.ok {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(crate::EXIT_ERROR),
    })
}

fn print_table(report: &Report) {
    for check in &report.checks {
        let mark = match check.status {
            Status::Ok => "ok     ",
            Status::Note => "note   ",
            Status::Missing => "MISSING",
        };
        println!("{mark} {:<14} {}", check.name, check.detail);
        if let Some(fix) = &check.fix {
            println!("        {:<14} fix: {fix}", "");
        }
    }
    if report.ok {
        println!("everything mimic needs is in place");
    } else {
        println!("some things mimic needs are missing: see the fixes above");
    }
}
