//! `mimic demo`: the face-analysis path on the bundled public-domain portrait, written to an
//! MP4 and PNGs. It needs no camera, display or network. Until a generator ships with mimic,
//! the demo stops at the sketch (the generator's input) and says so.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use image::imageops::{self, FilterType};
use mimic::face::{AlignedCrop, DetectOptions, FaceAnalyzer};
use mimic::frame::{read_image, Rgb8};
use mimic::sketch::{SketchRenderer, SketchStyle};
use mimic::video::{VideoWriter, WriterOptions};
use mimic::{files, install, sketch};
use serde::Serialize;

use crate::cli::DemoArgs;

/// Side of each panel in the demo video.
const PANEL: u32 = 256;
/// Frames of the slow zoom over the portrait (2 s at 24 fps).
const FRAMES: u32 = 48;
const FPS: f64 = 24.0;

#[derive(Serialize)]
struct Report {
    frames: u32,
    frames_with_face: u32,
    video: PathBuf,
    annotated: PathBuf,
    sketch: PathBuf,
    aligned: PathBuf,
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let portrait_path = install::runtime_dir().join("demo/astronaut.png");
    if !portrait_path.is_file() {
        bail!(
            "the demo portrait is missing at '{}': {}",
            portrait_path.display(),
            install::SETUP_HINT
        );
    }
    let portrait = read_image(&portrait_path)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create output folder '{}'", args.out.display()))?;
    let analyzer = FaceAnalyzer::new(DetectOptions::default())?;

    let report = Report {
        frames: FRAMES,
        frames_with_face: write_video(&analyzer, &portrait, &args.out.join("demo.mp4"))?,
        video: args.out.join("demo.mp4"),
        annotated: args.out.join("annotated.png"),
        sketch: args.out.join("sketch.png"),
        aligned: args.out.join("aligned.png"),
    };
    write_stills(&analyzer, &portrait, &report)?;
    if args.json.json {
        super::print_json(&report)?;
    } else {
        println!(
            "demo: face analysis on the bundled portrait (NASA, public domain): face and landmarks in {}/{} frames; wrote {}, {}, {} and {}",
            report.frames_with_face,
            report.frames,
            report.video.display(),
            report.annotated.display(),
            report.sketch.display(),
            report.aligned.display()
        );
        println!("demo: no generator is bundled yet, so the demo stops at the sketch a reenactment model would be driven by");
    }
    Ok(ExitCode::SUCCESS)
}

/// A slow zoom into the portrait, each frame shown with its landmarks beside its sketch.
fn write_video(analyzer: &FaceAnalyzer, portrait: &Rgb8, path: &Path) -> anyhow::Result<u32> {
    let options = WriterOptions {
        width: PANEL * 2,
        height: PANEL,
        fps: FPS,
        audio_from: None,
        metadata: vec![(
            "comment".into(),
            "mimic demo: face analysis of a public-domain portrait".into(),
        )],
    };
    let mut writer = VideoWriter::create(path, options)?;
    let mut renderer = SketchRenderer::new(PANEL, PANEL, SketchStyle::default());
    let mut with_face = 0;
    for i in 0..FRAMES {
        let mut frame = zoom(portrait, i as f32 / (FRAMES - 1) as f32);
        let faces = analyzer.faces(&frame)?;
        let mut panels = Rgb8::new(PANEL * 2, PANEL);
        if let Some(face) = faces.first() {
            with_face += 1;
            sketch::annotate(&mut frame, &[(face.bbox, &face.landmarks)]);
            imageops::replace(
                &mut panels,
                renderer.render(&face.landmarks),
                i64::from(PANEL),
                0,
            );
        }
        imageops::replace(&mut panels, &frame, 0, 0);
        if let Err(e) = writer.write(&panels) {
            writer.discard();
            return Err(e.into());
        }
    }
    writer.finish()?;
    Ok(with_face)
}

/// The portrait cropped towards the face by `t` in [0, 1] and scaled to one panel.
fn zoom(portrait: &Rgb8, t: f32) -> Rgb8 {
    let (w, h) = portrait.dimensions();
    let side = (w.min(h) as f32 * (1.0 - 0.45 * t)) as u32;
    // The astronaut's face sits in the upper middle of the photo.
    let cx = (w as f32 * 0.45) as u32;
    let cy = (h as f32 * 0.3) as u32;
    let left = cx.saturating_sub(side / 2).min(w - side);
    let top = cy.saturating_sub(side / 2).min(h - side);
    let crop = imageops::crop_imm(portrait, left, top, side, side).to_image();
    imageops::resize(&crop, PANEL, PANEL, FilterType::Triangle)
}

fn write_stills(analyzer: &FaceAnalyzer, portrait: &Rgb8, report: &Report) -> anyhow::Result<()> {
    let faces = analyzer.faces(portrait)?;
    let Some(face) = faces.first() else {
        bail!(
            "no face found in the demo portrait; the face detector may be damaged: {}",
            install::SETUP_HINT
        );
    };
    let mut annotated = portrait.clone();
    sketch::annotate(&mut annotated, &[(face.bbox, &face.landmarks)]);
    files::save_png(&annotated, &report.annotated)?;

    let crop = AlignedCrop::new(PANEL, 0.2);
    let to_crop = crop
        .transform(&face.landmarks)
        .context("the portrait's landmarks are degenerate")?;
    files::save_png(&crop.warp(portrait, &to_crop), &report.aligned)?;
    let mut renderer = SketchRenderer::new(PANEL, PANEL, SketchStyle::default());
    files::save_png(
        renderer.render(&face.landmarks.map(|p| to_crop.apply(p))),
        &report.sketch,
    )?;
    Ok(())
}
