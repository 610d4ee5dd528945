//! The face-swap autoencoder trained for real on face sets of the two SadTalker clips: a short
//! run lowers the validation error, both directions export and pass the parity check, and
//! mismatched inputs are refused with a sentence.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{arg, mimic, mimic_json, scratch, testdata};
use mimic::infer::{ModelCard, ModelKind};

/// Face sets of A and B (every 4th frame, 64 px), made once for this file.
fn face_sets() -> &'static (PathBuf, PathBuf) {
    static SETS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    SETS.get_or_init(|| {
        let dir = scratch("swap-sets");
        let extract = |video: &str, name: &str| {
            let out = dir.join(name);
            let json = mimic_json(&[
                "extract",
                "faces",
                arg(&testdata(&format!("video/{video}"))),
                "--every",
                "4",
                "--size",
                "64",
                "--out",
                arg(&out),
            ]);
            assert!(json["kept"].as_u64().unwrap() >= 45, "{json}");
            out
        };
        (
            extract("WDA_AlexandriaOcasioCortez_000.mp4", "a"),
            extract("WDA_KatieHill_000.mp4", "b"),
        )
    })
}

#[test]
fn a_short_run_lowers_the_validation_error_and_exports_both_directions() {
    let (a, b) = face_sets();
    let out = scratch("swap-train").join("ab");
    let json = mimic_json(&[
        "train",
        "swap",
        "--a",
        arg(a),
        "--b",
        arg(b),
        "--out",
        arg(&out),
        "--steps",
        "60",
        "--preview-every",
        "30",
    ]);
    let (start, end) = (
        json["validation_mae_start"].as_f64().unwrap(),
        json["validation_mae"].as_f64().unwrap(),
    );
    eprintln!("validation MAE {start:.4} → {end:.4}");
    assert!(end < start * 0.7, "validation MAE {start} → {end}");
    assert!(json["parity_max_abs_diff"].as_f64().unwrap() <= 1e-4);
    for (name, from, to) in [("ab_a2b.onnx", a, b), ("ab_b2a.onnx", b, a)] {
        let model = out.with_file_name(name);
        let card = ModelCard::read_beside(&model).unwrap().expect("a card");
        assert_eq!(card.kind, ModelKind::Swap);
        assert_eq!(card.input.size, 64);
        assert_eq!(card.input.range, [0.0, 1.0]);
        assert!(card.alignment.is_some());
        let training = card.training.unwrap();
        assert_eq!(training["source_faces"].as_str(), from.to_str());
        assert_eq!(training["target_faces"].as_str(), to.to_str());
    }
    let grid = image::open(out.with_extension("train").join("preview_000060.png")).unwrap();
    assert_eq!(grid.width(), 6 * 64, "A, A→A, A→B, B, B→B, B→A");
    refuse_in_reenact_mode(&out.with_file_name("ab_a2b.onnx"));
}

/// A swap model given to the reenactment loop is refused with a sentence.
fn refuse_in_reenact_mode(model: &Path) {
    let run = mimic(&[
        "live",
        "--model",
        arg(model),
        "--input",
        arg(&testdata("video/d0.mp4")),
        "--headless",
    ]);
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("Swap model"), "{err}");
}

#[test]
fn face_sets_of_different_sizes_are_refused() {
    let (a, _) = face_sets();
    let other = scratch("swap-other-size").join("b");
    mimic_json(&[
        "extract",
        "faces",
        arg(&testdata("video/WDA_KatieHill_000.mp4")),
        "--every",
        "20",
        "--size",
        "96",
        "--out",
        arg(&other),
    ]);
    let out = scratch("swap-refused").join("ab");
    let run = mimic(&[
        "train",
        "swap",
        "--a",
        arg(a),
        "--b",
        arg(&other),
        "--out",
        arg(&out),
        "--steps",
        "1",
    ]);
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("cut differently") && err.contains("96×96"),
        "{err}"
    );
}
