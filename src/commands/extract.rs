//! `mimic extract`: training sets from videos and photos.

use std::process::ExitCode;

use mimic::data::extract::{
    extract_faces, extract_pairs, extract_reenact, FacesOptions, PairInput, ReenactOptions,
};
use mimic::data::imageset::ImageSetOptions;
use mimic::face::{DetectOptions, FaceAnalyzer};
use mimic::reenact::sketch::SketchStyle;
use mimic::video::FrameRange;

use crate::cli::{ExtractFacesArgs, ExtractPairsArgs, ExtractReenactArgs};

pub fn reenact(args: ExtractReenactArgs) -> anyhow::Result<ExitCode> {
    let analyzer = FaceAnalyzer::new(DetectOptions {
        detector: args.detection.detector.into(),
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
            "{} pairs ({} held out) from {} frames ({} without a face, {:.1} frames a second) into {}; window {}×{} at ({}, {}) scaled to {}",
            summary.pairs,
            summary.holdout_pairs,
            summary.frames,
            summary.frames_without_face,
            summary.fps,
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

pub fn faces(args: ExtractFacesArgs) -> anyhow::Result<ExitCode> {
    let analyzer = FaceAnalyzer::new(DetectOptions {
        detector: args.detection.detector.into(),
        upsample: args.upsample,
        ..Default::default()
    })?;
    // The descriptor network is only needed to compare faces with the reference.
    let analyzer = match &args.reference {
        Some(_) => analyzer.with_descriptors()?,
        None => analyzer,
    };
    let options = FacesOptions {
        size: args.size,
        padding: args.padding,
        reference: args.reference.clone(),
        threshold: args.threshold,
        every: args.every,
        frames: args
            .frames
            .as_deref()
            .map(FrameRange::parse)
            .transpose()?
            .unwrap_or_else(FrameRange::all),
    };
    let summary = extract_faces(&args.inputs, &args.out, &analyzer, &options)?;
    if args.json.json {
        super::print_json(&summary)?;
    } else {
        println!(
            "{} faces kept from {} frames ({} analysed in full, {:.1} frames a second) into {}; {} did not match the reference, {} frames had no face, {} had several (skipped without --reference)",
            summary.kept,
            summary.frames,
            summary.full_analyses,
            summary.fps,
            summary.out.display(),
            summary.rejected,
            summary.frames_without_face,
            summary.frames_with_several_faces
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn pairs(args: ExtractPairsArgs) -> anyhow::Result<ExitCode> {
    if !(32..=1024).contains(&args.size) {
        anyhow::bail!(
            "--size {} is out of range: use 32 to 1024 pixels",
            args.size
        );
    }
    let input = match args.edges {
        true => PairInput::Edges,
        false => PairInput::Gray,
    };
    let options = ImageSetOptions {
        size: args.size,
        frames_per_video: args.frames_per_video.max(1),
    };
    let summary = extract_pairs(&args.inputs, &args.out, input, options)?;
    if args.json.json {
        super::print_json(&summary)?;
    } else {
        let changes = summary
            .pictures
            .changes()
            .map_or_else(String::new, |c| format!(" ({c})"));
        println!(
            "{} pairs{changes}: inputs in {}, targets in {}; train with `mimic train pix2pix --pairs {} {} --out MODEL.onnx`",
            summary.pairs,
            summary.a.display(),
            summary.b.display(),
            summary.a.display(),
            summary.b.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
