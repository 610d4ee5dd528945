//! `mimic eval`: model quality figures.

use std::process::ExitCode;

use mimic::eval::{reenact, swap, FrameRange};
use mimic::face::{DetectOptions, FaceAnalyzer};
use mimic::infer::{DevicePreference, Generator};
use mimic::track::{FaceTracker, TrackOptions};

use crate::cli::{EvalReenactArgs, EvalSwapArgs};

pub fn reenact(args: EvalReenactArgs) -> anyhow::Result<ExitCode> {
    let range = args.frames.as_deref().map(FrameRange::parse).transpose()?;
    let mut generator = Generator::open(&args.model, DevicePreference::Auto)?;
    let analyzer = FaceAnalyzer::new(DetectOptions {
        upsample: args.upsample,
        ..Default::default()
    })?;
    let report = reenact::evaluate(&mut generator, &analyzer, &args.video, range)?;
    if args.json.json {
        super::print_json(&report)?;
    } else {
        let (m, b) = (report.model, report.baseline);
        println!(
            "{} frames ({}..={}): face PSNR {:.2} dB vs mean-frame {:.2} dB, face SSIM {:.3} vs {:.3}, face L1 {:.4} vs {:.4}; whole PSNR {:.2} vs {:.2} dB",
            report.frames, report.range.0, report.range.1, m.face_psnr, b.face_psnr, m.face_ssim, b.face_ssim, m.face_l1, b.face_l1, m.psnr, b.psnr
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn swap(args: EvalSwapArgs) -> anyhow::Result<ExitCode> {
    let generator = Generator::open(&args.model, DevicePreference::Auto)?;
    let options = DetectOptions {
        upsample: 0,
        ..Default::default()
    };
    let tracker = FaceTracker::new(FaceAnalyzer::new(options)?, TrackOptions::default())?;
    let judge = FaceAnalyzer::new(options)?.with_descriptors()?;
    let report = swap::evaluate(
        generator,
        tracker,
        &judge,
        args.blend.options(),
        &args.video,
        &args.target_ref,
    )?;
    if args.json.json {
        super::print_json(&report)?;
    } else {
        println!(
            "{} frames ({} without a face in or out): id_success {:.3}, mean distance to the target {:.3}, expression NME {:.4}",
            report.frames,
            report.frames_without_face,
            report.id_success,
            report.id_distance_mean,
            report.expression_nme
        );
    }
    Ok(ExitCode::SUCCESS)
}
