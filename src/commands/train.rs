//! `mimic train`: training generators.

use std::path::Path;
use std::process::ExitCode;

use mimic::data::dataset::Dataset;
use mimic::data::faceset::FaceSet;
use mimic::train::driver::Schedule;
use mimic::train::pix2pix::{self, Options};
use mimic::train::swap;

use mimic::data::imageset::{ImageSet, PairedSet};
use mimic::train::cyclegan::{self, Domain};

use crate::cli::{RunFlags, SwapFormat, TrainCycleganArgs, TrainPix2PixArgs, TrainSwapArgs};
use mimic::live::int8;

pub fn pix2pix(args: TrainPix2PixArgs) -> anyhow::Result<ExitCode> {
    let options = Options {
        preset: args.preset.into(),
        arch: args.arch.map(Into::into),
        norm: args.norm.into(),
        dropout: args.dropout,
        epochs: args.epochs,
        device: args.run.device.into(),
        run: args.run.options(args.steps, Schedule::LinearDecay),
    };
    let stop = super::stop_flag()?;
    let summary = match (&args.dataset, args.pairs.as_deref()) {
        (_, Some([a, b])) => {
            let set = PairedSet::load(a, b, options.preset.size())?;
            if let Some(changes) = set.report.changes() {
                eprintln!("mimic: pairs: {changes}");
            }
            pix2pix::train(pix2pix::Source::Pairs(&set), &args.out, &options, &stop)?
        }
        (Some(dir), _) => {
            let dataset = Dataset::open(dir)?;
            pix2pix::train(
                pix2pix::Source::Reenact(&dataset),
                &args.out,
                &options,
                &stop,
            )?
        }
        _ => anyhow::bail!("give a dataset folder, or --pairs DIR_A DIR_B"),
    };
    if let Some(resized) = &summary.resized {
        eprintln!("mimic: {resized}");
    }
    let calibration = match (&args.dataset, args.pairs.as_deref()) {
        (_, Some([a, _])) => a,
        (Some(dir), _) => dir,
        _ => anyhow::bail!("give a dataset folder, or --pairs DIR_A DIR_B"),
    };
    let int8 = match args.int8 {
        true => vec![int8_copy(&summary.model, calibration, &args.run)?],
        false => Vec::new(),
    };
    if args.json.json {
        super::print_json(&summary)?;
    } else {
        println!(
            "{} generator, {}; losses D {:.3}, G {:.3}, L1 {:.3}; wrote {} (ONNX parity {:.1e}), previews in {}",
            summary.arch.name(),
            run_line(
                summary.steps,
                summary.seconds,
                summary.steps_per_second,
                summary.stopped_early
            ),
            summary.losses[0],
            summary.losses[1],
            summary.losses[2],
            summary.model.display(),
            summary.parity_max_abs_diff,
            summary
                .previews
                .parent()
                .map_or_else(String::new, |p| p.display().to_string()),
        );
    }
    report_int8(&int8, args.json.json);
    Ok(ExitCode::SUCCESS)
}

/// The INT8 copy of a model just trained, calibrated on its training data.
fn int8_copy(model: &Path, calibration: &Path, run: &RunFlags) -> anyhow::Result<int8::Report> {
    Ok(int8::int8_copy(&int8::Job {
        replace: run.force || run.resume,
        ..int8::Job::defaults(model, calibration)
    })?)
}

/// Says what the INT8 copies are; on stderr beside a JSON summary, which stays one object.
fn report_int8(reports: &[int8::Report], json: bool) {
    for report in reports {
        match json {
            true => eprintln!(
                "mimic: wrote {} (INT8, {:.1} dB from its parent on held-out frames)",
                report.model.display(),
                report.psnr_db
            ),
            false => super::quantize::print_summary(report),
        }
    }
}

pub fn swap(args: TrainSwapArgs) -> anyhow::Result<ExitCode> {
    let (a, b) = (FaceSet::open(&args.a)?, FaceSet::open(&args.b)?);
    let options = swap::Options {
        preset: args.preset.into(),
        loss: args.loss.into(),
        device: args.run.device.into(),
        run: args.run.options(Some(args.steps), Schedule::Constant),
        dfm: args.format == SwapFormat::Dfm,
    };
    let stop = super::stop_flag()?;
    let summary = swap::train(&a, &b, &args.out, &options, &stop)?;
    let int8 = match args.int8 {
        true => vec![
            int8_copy(&summary.a2b, &args.a, &args.run)?,
            int8_copy(&summary.b2a, &args.b, &args.run)?,
        ],
        false => Vec::new(),
    };
    if args.json.json {
        super::print_json(&summary)?;
    } else {
        println!(
            "{}; MAE A {:.4}, B {:.4}; validation MAE {:.4} (from {:.4}); wrote {} and {} (ONNX parity {:.1e}), previews in {}",
            run_line(summary.steps, summary.seconds, summary.steps_per_second, summary.stopped_early),
            summary.losses[0],
            summary.losses[1],
            summary.validation_mae,
            summary.validation_mae_start,
            summary.a2b.display(),
            summary.b2a.display(),
            summary.parity_max_abs_diff,
            summary.previews.parent().map_or_else(String::new, |p| p.display().to_string()),
        );
        if let Some(dfm) = &summary.dfm {
            println!("wrote {} for DeepFaceLive", dfm.display());
        }
    }
    report_int8(&int8, args.json.json);
    Ok(ExitCode::SUCCESS)
}

pub fn cyclegan(args: TrainCycleganArgs) -> anyhow::Result<ExitCode> {
    let options = cyclegan::Options {
        reconstruction: args.reconstruction.into(),
        size: args.size,
        device: args.run.device.into(),
        run: args.run.options(Some(args.steps), Schedule::Constant),
        ..cyclegan::Options::new(args.variant.into(), args.preset.into(), args.steps)
    };
    options.check()?;
    let gather = args.domains.options(options.widths().size as u32);
    let domain = |inputs: &[std::path::PathBuf], name: &str| -> anyhow::Result<_> {
        let set = ImageSet::load(inputs, gather)?;
        if let Some(changes) = set.changes() {
            eprintln!("mimic: domain {name}: {changes}");
        }
        let report = set.report.clone();
        Ok((Domain::new(set), report))
    };
    let (a, b) = (domain(&args.domains.a, "A")?, domain(&args.domains.b, "B")?);
    let stop = super::stop_flag()?;
    let summary = cyclegan::train(a, b, &args.out, &options, &stop)?;
    if args.json.json {
        super::print_json(&summary)?;
    } else {
        println!(
            "{} {}; losses D {:.3}, G {:.3}, reconstruction {:.3}; held-out round trip L1 {:.3} (from {:.3}); wrote {} and {} (ONNX parity {:.1e}), previews in {}",
            summary.variant.name(),
            run_line(summary.steps, summary.seconds, summary.steps_per_second, summary.stopped_early),
            summary.losses[0],
            summary.losses[1],
            summary.losses[2],
            summary.validation_cycle,
            summary.validation_cycle_start,
            summary.a2b.display(),
            summary.b2a.display(),
            summary.parity_max_abs_diff,
            summary.previews.parent().map_or_else(String::new, |p| p.display().to_string()),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// "N steps in S s (R steps/s[, stopped early])": how every trainer's summary starts.
fn run_line(steps: u64, seconds: f64, per_second: f64, stopped_early: bool) -> String {
    let early = if stopped_early { ", stopped early" } else { "" };
    format!("{steps} steps in {seconds:.0} s ({per_second:.2} steps/s{early})")
}
