//! `mimic extract`: training sets from videos.

use std::process::ExitCode;

use mimic::extract::{extract_reenact, ReenactOptions};
use mimic::face::{DetectOptions, FaceAnalyzer};
use mimic::sketch::SketchStyle;

use crate::cli::ExtractReenactArgs;

pub fn reenact(args: ExtractReenactArgs) -> anyhow::Result<ExitCode> {
    let analyzer = FaceAnalyzer::new(DetectOptions {
        upsample: args.upsample,
        ..Default::default()
    })?;
    let options = ReenactOptions {
        size: args.size,
        holdout: args.holdout,
        sketch: SketchStyle::default(),
    };
    let summary = extract_reenact(&args.video, &args.out, &analyzer, &options)?;
    if args.json.json {
        super::print_json(&summary)?;
    } else {
        let w = summary.window;
        println!(
            "{} pairs ({} held out) from {} frames ({} without a face) into {}; window {}×{} at ({}, {}) scaled to {}",
            summary.pairs,
            summary.holdout_pairs,
            summary.frames,
            summary.frames_without_face,
            summary.out.display(),
            w.side,
            w.side,
            w.left,
            w.top,
            args.size
        );
    }
    Ok(ExitCode::SUCCESS)
}
