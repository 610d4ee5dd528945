//! `mimic detect`: faces and 68 landmarks in still images, as a summary or JSON.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use mimic::face::{DetectOptions, Face, FaceAnalyzer};
use mimic::frame::read_image;
use mimic::reenact::sketch;
use serde::Serialize;

use crate::cli::{DetectArgs, DetectionFlags};

#[derive(Serialize)]
struct ImageReport {
    path: PathBuf,
    width: u32,
    height: u32,
    faces: Vec<Face>,
}

#[derive(Serialize)]
struct Report {
    images: Vec<ImageReport>,
}

pub fn detect_options(flags: &DetectionFlags) -> DetectOptions {
    DetectOptions {
        detector: flags.detector.into(),
        upsample: flags.upsample,
        scale: flags.detect_scale,
    }
}

pub fn run(args: DetectArgs) -> anyhow::Result<ExitCode> {
    let analyzer = FaceAnalyzer::new(detect_options(&args.detection))?;
    if let Some(out) = &args.annotate {
        for i in 0..args.images.len() {
            mimic::files::refuse_existing(&annotation_path(out, i, args.images.len()), args.force)?;
        }
    }
    let mut report = Report { images: Vec::new() };
    for (i, path) in args.images.iter().enumerate() {
        let image = read_image(path)?;
        let faces = analyzer
            .faces(&image)
            .with_context(|| format!("cannot analyse '{}'", path.display()))?;
        if let Some(out) = &args.annotate {
            let out = annotation_path(out, i, args.images.len());
            write_annotation(image.clone(), &faces, &out)?;
        }
        report.images.push(ImageReport {
            path: path.clone(),
            width: image.width(),
            height: image.height(),
            faces,
        });
    }
    for image in report.images.iter().filter(|r| r.faces.is_empty()) {
        eprintln!("mimic: no face found in '{}'", image.path.display());
    }
    if args.json.json {
        super::print_json(&report)?;
    } else {
        println!("{}", summary(&report));
    }
    let total: usize = report.images.iter().map(|r| r.faces.len()).sum();
    Ok(if total == 0 {
        ExitCode::from(crate::EXIT_NOTHING_FOUND)
    } else {
        ExitCode::SUCCESS
    })
}

fn summary(report: &Report) -> String {
    let total: usize = report.images.iter().map(|r| r.faces.len()).sum();
    let per_image: Vec<String> = report
        .images
        .iter()
        .map(|r| {
            let name = r.path.file_name().map_or_else(
                || r.path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            format!("{name}: {}", r.faces.len())
        })
        .collect();
    format!(
        "{total} face{} with 68 landmarks in {} image{} ({})",
        if total == 1 { "" } else { "s" },
        report.images.len(),
        if report.images.len() == 1 { "" } else { "s" },
        per_image.join(", ")
    )
}

/// OUT.png for one image; OUT-1.png, OUT-2.png, … for several.
fn annotation_path(out: &Path, index: usize, count: usize) -> PathBuf {
    if count == 1 {
        return out.to_path_buf();
    }
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = out
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "png".into());
    out.with_file_name(format!("{stem}-{}.{ext}", index + 1))
}

fn write_annotation(
    mut image: mimic::frame::Rgb8,
    faces: &[Face],
    out: &Path,
) -> anyhow::Result<()> {
    let marks: Vec<_> = faces.iter().map(|f| (f.bbox, &f.landmarks)).collect();
    sketch::annotate(&mut image, &marks);
    mimic::frame::save_png(&image, out)?;
    Ok(())
}
