//! `mimic eval`: model quality figures.

use std::process::ExitCode;

use mimic::eval::{drive, reenact, swap, translate, FrameRange};
use mimic::face::track::{FaceTracker, TrackOptions};
use mimic::face::{DetectOptions, DetectorKind, FaceAnalyzer};
use mimic::infer::{DevicePreference, Generator};

use mimic::data::imageset::ImageSet;

use crate::cli::{EvalDriveArgs, EvalReenactArgs, EvalSwapArgs, EvalTranslateArgs};

/// The detector the evaluations find faces with (on generated frames, and on the driver in
/// `eval swap`): dlib's HOG, kept when the default became MTCNN so that a figure measured
/// now compares with those in docs/measurements.md, measured with it.
const JUDGE: DetectorKind = DetectorKind::Hog;

/// A preview already there is kept unless `force`: refused before any frame is judged.
fn check_preview(preview: Option<&std::path::Path>, force: bool) -> anyhow::Result<()> {
    match preview {
        Some(path) => Ok(mimic::files::refuse_existing(path, force)?),
        None => Ok(()),
    }
}

/// The judge, looking at each picture doubled `upsample` times.
fn judge(upsample: u32) -> anyhow::Result<FaceAnalyzer> {
    Ok(FaceAnalyzer::new(DetectOptions {
        upsample,
        detector: JUDGE,
        ..Default::default()
    })?)
}

pub fn reenact(args: EvalReenactArgs) -> anyhow::Result<ExitCode> {
    check_preview(args.preview.as_deref(), args.force)?;
    let range = args.frames.as_deref().map(FrameRange::parse).transpose()?;
    let generator = Generator::open(&args.model, DevicePreference::Auto)?;
    let analyzer = judge(args.upsample)?;
    let retargeting = args.retargeting.config().for_model(&generator)?;
    let report = reenact::evaluate(
        generator,
        &analyzer,
        &args.video,
        range,
        retargeting,
        args.preview.as_deref(),
    )?;
    if args.json.json {
        super::print_json(&report)?;
    } else {
        let (m, b) = (report.model, report.baseline);
        let nearest = match report.nearest {
            Some(n) => format!("nearest frame {:.2} / {:.2} dB", n.face_psnr, n.mouth_psnr),
            None => {
                "no nearest-frame baseline (the training set named by the card is not there)".into()
            }
        };
        println!(
            "{} frames ({}..={}{}): face / mouth PSNR: model {:.2} / {:.2} dB, mean frame {:.2} / {:.2} dB, {nearest}; face SSIM {:.3} vs mean {:.3}; whole PSNR {:.2} vs {:.2} dB",
            report.frames, report.range.0, report.range.1, if report.retargeted { ", retargeted" } else { "" }, m.face_psnr, m.mouth_psnr, b.face_psnr, b.mouth_psnr, m.face_ssim, b.face_ssim, m.psnr, b.psnr
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn drive(args: EvalDriveArgs) -> anyhow::Result<ExitCode> {
    let config = args.session.config();
    let generator = Generator::open(&config.model, config.device)?;
    let mut reenactor = config.reenactor(generator)?;
    let judge = judge(0)?;
    let mut tracker = config.tracker(false)?;
    let report = drive::evaluate(
        &mut reenactor,
        &mut tracker,
        &judge,
        &args.driver,
        args.max_frames,
    )?;
    if args.json.json {
        super::print_json(&report)?;
    } else {
        println!(
            "{} frames ({} with the driver's face): a face in {:.1} % of the generated frames; {}",
            report.frames,
            report.frames_with_face,
            100.0 * report.faces_found,
            match (report.inside_framing, report.overshoot) {
                (Some(inside), Some(over)) => format!(
                    "{:.1} % of them inside the target's usual framing, the rest at most {:.1} % of its width outside",
                    100.0 * inside,
                    100.0 * over
                ),
                _ => "the card has no usual framing of the target to judge them by".into(),
            }
        );
        if let Some(nme) = report.sketch_nme {
            println!("the generated faces' landmarks lie {nme:.3} eye distances from the sketch's (sketch NME)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn swap(args: EvalSwapArgs) -> anyhow::Result<ExitCode> {
    check_preview(args.preview.as_deref(), args.force)?;
    let generator = Generator::open(&args.model, DevicePreference::Auto)?;
    let card_smoothing = generator.card().and_then(|c| c.smoothing);
    let smoothing = args.steadying.tweaks().map(|t| t.over(card_smoothing));
    let options = DetectOptions {
        upsample: 0,
        detector: JUDGE,
        ..Default::default()
    };
    let tracker = FaceTracker::new(FaceAnalyzer::new(options)?, TrackOptions::default())?;
    let judge = FaceAnalyzer::new(options)?.with_descriptors()?;
    let range = args.frames.as_deref().map(FrameRange::parse).transpose()?;
    let report = swap::evaluate(
        generator,
        tracker,
        &judge,
        args.blend.options(),
        smoothing,
        &swap::Footage {
            video: &args.video,
            frames: range.unwrap_or_else(FrameRange::all),
            target_reference: &args.target_ref,
            preview: args.preview.as_deref(),
        },
    )?;
    if args.json.json {
        super::print_json(&report)?;
    } else {
        println!(
            "{} frames ({} without a face in or out): id_success {:.3}, mean distance to the target {:.3}, expression NME {:.4} ({:.4} with the mouth mask, {:.4} without, on {} frames); sharpness ratio {:.2}, seam ΔE {:.2}",
            report.frames,
            report.frames_without_face,
            report.id_success,
            report.id_distance_mean,
            report.expression_nme,
            report.expression_nme_mouth_mask,
            report.expression_nme_no_mouth_mask,
            report.mouth_mask_frames,
            report.sharpness_ratio,
            report.seam_delta_e
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn translate(args: EvalTranslateArgs) -> anyhow::Result<ExitCode> {
    let mut a2b = Generator::open(&args.model, DevicePreference::Auto)?;
    let back_path = translate::back_model(&args.model);
    let mut b2a = match &back_path {
        Some(path) => Some(Generator::open(path, DevicePreference::Auto)?),
        None => None,
    };
    let gather = args.domains.options(a2b.input_size());
    let domains = &args.domains;
    let (a, b) = (
        ImageSet::load(&domains.a, gather)?,
        ImageSet::load(&domains.b, gather)?,
    );
    let analyzer = match args.faces {
        true => Some(judge(1)?.with_descriptors()?),
        false => None,
    };
    let report = translate::evaluate(
        &mut a2b,
        b2a.as_mut(),
        &a.images,
        &b.images,
        analyzer.as_ref(),
    )?;
    if args.json.json {
        super::print_json(&report)?;
    } else {
        let cycle = match (report.cycle_l1, &back_path) {
            (Some(l1), Some(path)) => {
                format!("round trip L1 {l1:.4} (back through {})", path.display())
            }
            _ => "no B→A model beside it, so no round trip".into(),
        };
        let identity = report.identity.as_ref().map_or_else(String::new, |i| {
            format!(
                "; {:.0} % of {} output faces nearer B's identity than A's ({:.0} % of A's own)",
                i.closer_to_b * 100.0,
                i.faces,
                i.inputs_closer_to_b * 100.0
            )
        });
        println!(
            "{} pictures: distance to domain B {:.2} before, {:.2} after; {cycle}{identity}",
            report.images, report.domain_distance_before, report.domain_distance_after
        );
    }
    Ok(ExitCode::SUCCESS)
}
