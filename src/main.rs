//! The `mimic` command: parses flags, runs one command, reports. Library errors become one
//! sentence on stderr and a non-zero exit here and nowhere else.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// Exit status for "ran fine but found nothing" (like grep's 1), e.g. no face in any image.
pub const EXIT_NOTHING_FOUND: u8 = 1;
/// Exit status for an error.
pub const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("mimic: {}", sentence(&error));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Doctor(args) => commands::doctor::run(args.json),
        Command::Devices(args) => commands::devices::run(args.json),
        Command::Detect(args) => commands::detect::run(args),
        Command::Demo(args) => commands::demo::run(args),
        Command::Live(args) => commands::live::run(args),
        Command::Calibrate(args) => commands::calibrate::run(args),
        Command::Bench(args) => commands::bench::run(args),
        Command::Track(args) => commands::track::run(args),
        Command::Quantize(args) => commands::quantize::run(args),
        Command::Extract(cli::ExtractCommand::Reenact(args)) => commands::extract::reenact(args),
        Command::Extract(cli::ExtractCommand::Faces(args)) => commands::extract::faces(args),
        Command::Extract(cli::ExtractCommand::Pairs(args)) => commands::extract::pairs(args),
        Command::Train(cli::TrainCommand::Pix2pix(args)) => commands::train::pix2pix(args),
        Command::Train(cli::TrainCommand::Swap(args)) => commands::train::swap(args),
        Command::Train(cli::TrainCommand::Cyclegan(args)) => commands::train::cyclegan(args),
        Command::Eval(cli::EvalCommand::Reenact(args)) => commands::eval::reenact(args),
        Command::Eval(cli::EvalCommand::Swap(args)) => commands::eval::swap(args),
        Command::Eval(cli::EvalCommand::Translate(args)) => commands::eval::translate(args),
        Command::Eval(cli::EvalCommand::Drive(args)) => commands::eval::drive(args),
    }
}

/// The error and its causes as one line: "what failed: why".
fn sentence(error: &anyhow::Error) -> String {
    error
        .chain()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}

fn init_logging(verbose: u8) {
    // ONNX Runtime's own log repeats, once per frame, failures mimic already reports (once
    // per kind): it is heard from with -v only.
    let (ours, runtime) = match verbose {
        0 => ("warn", "off"),
        1 => ("info", "warn"),
        _ => ("debug", "info"),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MIMIC_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("mimic={ours},ort={runtime}"))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .init();
}
