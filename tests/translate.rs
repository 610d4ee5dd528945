//! Unpaired translation trained for real on two domains from the test data (frames of d0's
//! clip, and dlib's photos of people): every variant lowers its held-out round-trip error in a
//! short run and exports both directions with parity; pictures of other sizes, grey and RGBA
//! are converted and said; a domain too small is refused with its count.

mod common;

use std::path::{Path, PathBuf};

use common::{arg, mimic, mimic_json, refusal, scratch, testdata};
use mimic::infer::{ModelCard, ModelKind};

/// `train cyclegan --a d0.mp4 --b B… --out OUT` and then `more`: d0's frames are domain A of
/// every run here.
fn cyclegan(b: &[&Path], out: &Path, more: &[&str]) -> Vec<String> {
    let d0 = testdata("video/d0.mp4");
    let mut args = vec!["train", "cyclegan", "--a", arg(&d0), "--b"];
    args.extend(b.iter().map(|p| arg(p)));
    args.extend(["--out", arg(out)]);
    args.extend(more);
    args.into_iter().map(String::from).collect()
}

/// Trains `variant` (or CycleGAN for any other name, in its own folder) for `steps` on d0's
/// frames (A) and dlib's photos (B).
fn train(variant: &str, b: &Path, steps: &str) -> (serde_json::Value, PathBuf) {
    let out = scratch(&format!("translate-{variant}")).join("ab");
    let variant = match variant {
        "discogan" | "dualgan" => variant,
        _ => "cyclegan",
    };
    let more = [
        "--variant",
        variant,
        "--frames-per-video",
        "40",
        "--steps",
        steps,
        "--preview-every",
        "40",
    ];
    let json = mimic_json(&cyclegan(&[b], &out, &more));
    (json, out)
}

#[test]
fn every_variant_learns_the_round_trip_and_exports_both_directions() {
    for variant in ["cyclegan", "discogan", "dualgan"] {
        let (json, out) = train(variant, &testdata("faces/dlib"), "120");
        let (start, end) = (
            json["validation_cycle_start"].as_f64().unwrap(),
            json["validation_cycle"].as_f64().unwrap(),
        );
        eprintln!("{variant}: held-out round trip L1 {start:.3} → {end:.3}");
        assert!(end < start * 0.8, "{variant}: round trip {start} → {end}");
        let losses = json["losses"].as_array().unwrap();
        assert!(
            losses.iter().all(|l| l.as_f64().unwrap().is_finite()),
            "{json}"
        );
        assert!(json["parity_max_abs_diff"].as_f64().unwrap() <= 1e-4);
        for name in ["ab_a2b.onnx", "ab_b2a.onnx"] {
            let card = ModelCard::read_beside(&out.with_file_name(name))
                .unwrap()
                .expect("a card");
            assert_eq!(card.kind, ModelKind::Stylize);
            assert_eq!(card.input.size, 64);
            assert_eq!(
                card.training.unwrap()["architecture"].as_str(),
                Some(variant)
            );
        }
        let grid = image::open(out.with_extension("train").join("preview_000120.png")).unwrap();
        assert_eq!(grid.width(), 6 * 64, "A, A→B, A→B→A, B, B→A, B→A→B");
        let csv = std::fs::read_to_string(out.with_extension("train").join("losses.csv")).unwrap();
        assert_eq!(csv.lines().count(), 121, "a header and a row per step");
    }
}

/// dlib's photos come in many sizes and shapes; with a grey and an RGBA picture among them
/// (made from the test photos) all are made RGB and square at the run's size, and the run says
/// so.
#[test]
fn pictures_of_other_sizes_grey_and_rgba_are_converted_and_said() {
    let scratch = scratch("translate-mixed");
    let dir = scratch.join("b");
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(testdata("faces/dlib")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jpg") {
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
    }
    let obama = image::open(testdata("faces/misc/obama.jpg")).unwrap();
    obama.to_luma8().save(dir.join("grey.png")).unwrap();
    let astronaut = image::open(testdata("faces/misc/astronaut.png")).unwrap();
    astronaut.to_rgba8().save(dir.join("rgba.png")).unwrap();
    let out = scratch.join("ab");
    let run = mimic(&cyclegan(&[&dir], &out, &["--steps", "2", "--json"]));
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let b = &json["b"];
    assert_eq!(b["images"], 14, "{b}");
    assert_eq!(b["converted"], 2, "{b}");
    assert_eq!(b["resized"], 14, "{b}");
    assert!(b["cropped"].as_u64().unwrap() >= 10, "{b}");
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(
        said.contains("domain B: of 14 pictures, 2 made RGB"),
        "{said}"
    );
    assert!(said.contains("14 resized"), "{said}");
}

#[test]
fn a_domain_with_too_few_pictures_is_refused_with_its_count() {
    let out = scratch("translate-few").join("ab");
    let (obama, biden) = (
        testdata("faces/misc/obama.jpg"),
        testdata("faces/misc/biden.jpg"),
    );
    let err = refusal(&mimic(&cyclegan(&[&obama, &biden], &out, &[])));
    assert!(
        err.contains("hold 2 pictures; a domain needs at least 10"),
        "{err}"
    );
    assert!(!out.with_file_name("ab_a2b.onnx").exists());
    let dlib = testdata("faces/dlib");
    let err = refusal(&mimic(&cyclegan(&[&dlib], &out, &["--size", "100"])));
    assert!(err.contains("--size 100 does not suit"), "{err}");
}

/// `eval translate` on a short CycleGAN run: every picture of A translated and brought back
/// (the B→A model is found beside the A→B one), the colour-statistics distance to B measured
/// before and after; without the B→A model there is no round trip to report.
#[test]
fn eval_translate_reports_the_round_trip_and_the_distance_to_b() {
    let (_, out) = train("eval", &testdata("faces/dlib"), "60");
    let a2b = out.with_file_name("ab_a2b.onnx");
    let eval = |model: &Path| {
        mimic_json(&[
            "eval",
            "translate",
            "--model",
            arg(model),
            "--a",
            arg(&testdata("video/d0.mp4")),
            "--b",
            arg(&testdata("faces/dlib")),
            "--frames-per-video",
            "20",
        ])
    };
    let json = eval(&a2b);
    assert_eq!(json["images"], 20, "{json}");
    let cycle = json["cycle_l1"].as_f64().unwrap();
    assert!(cycle > 0.0 && cycle < 0.5, "{json}");
    let before = json["domain_distance_before"].as_f64().unwrap();
    let after = json["domain_distance_after"].as_f64().unwrap();
    assert!(
        before > 1.0 && after.is_finite() && after != before,
        "{json}"
    );
    let alone = scratch("translate-eval-alone").join("x_a2b.onnx");
    std::fs::copy(&a2b, &alone).unwrap();
    std::fs::copy(a2b.with_extension("toml"), alone.with_extension("toml")).unwrap();
    assert!(eval(&alone)["cycle_l1"].is_null());
}

/// `extract pairs` turns frames of a real clip into edge→photo and grey→colour pairs named
/// alike; `train pix2pix --pairs` trains on them and exports a style model.
#[test]
fn edge_and_grey_pairs_train_a_paired_style_model() {
    let dir = scratch("translate-pairs");
    let extract = |kind: &str, out: &Path| {
        mimic_json(&[
            "extract",
            "pairs",
            kind,
            arg(&testdata("video/d3.mp4")),
            "--out",
            arg(out),
            "--size",
            "128",
            "--frames-per-video",
            "30",
        ])
    };
    let edges = dir.join("edges");
    let json = extract("--edges", &edges);
    assert_eq!(json["pairs"], 30, "{json}");
    let input = image::open(edges.join("a/000005.png")).unwrap().to_rgb8();
    let target = image::open(edges.join("b/000005.png")).unwrap().to_rgb8();
    assert_eq!(
        (input.dimensions(), target.dimensions()),
        ((128, 128), (128, 128))
    );
    let white = input.pixels().filter(|p| p.0 == [255, 255, 255]).count();
    let black = input.pixels().filter(|p| p.0 == [0, 0, 0]).count();
    assert!(
        white > 128 * 128 * 3 / 4 && black > 200,
        "edge map: {white} white, {black} black"
    );
    let grey = dir.join("grey");
    extract("--gray", &grey);
    let input = image::open(grey.join("a/000005.png")).unwrap().to_rgb8();
    assert!(input.pixels().all(|p| p[0] == p[1] && p[1] == p[2]));
    let target = image::open(grey.join("b/000005.png")).unwrap().to_rgb8();
    assert!(
        target.pixels().any(|p| p[0] != p[2]),
        "the target keeps its colour"
    );

    let model = dir.join("edges2photo.onnx");
    let json = mimic_json(&[
        "train",
        "pix2pix",
        "--pairs",
        arg(&edges.join("a")),
        arg(&edges.join("b")),
        "--out",
        arg(&model),
        "--steps",
        "30",
    ]);
    assert!(
        json["parity_max_abs_diff"].as_f64().unwrap() <= 1e-4,
        "{json}"
    );
    let card = ModelCard::read_beside(&model).unwrap().expect("a card");
    assert_eq!(card.kind, ModelKind::Stylize);
    assert_eq!(card.training.unwrap()["pairs"].as_integer(), Some(30));
}

/// Pictures that do not pair up by name are listed, folder by folder.
#[test]
fn unmatched_pair_names_are_listed() {
    let dir = scratch("translate-unmatched");
    let (a, b) = (dir.join("a"), dir.join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    for entry in std::fs::read_dir(testdata("faces/dlib")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jpg") {
            std::fs::copy(&path, a.join(path.file_name().unwrap())).unwrap();
            std::fs::copy(&path, b.join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::rename(a.join("dogs.jpg"), a.join("cats.jpg")).unwrap();
    let run = mimic(&[
        "train",
        "pix2pix",
        "--pairs",
        arg(&a),
        arg(&b),
        "--out",
        arg(&dir.join("m.onnx")),
    ]);
    let err = refusal(&run);
    assert!(
        err.contains("a': cats;") && err.contains("b': dogs"),
        "{err}"
    );
}

/// A run stopped at 10 steps resumes from its checkpoint to 20, its loss log continued.
#[test]
fn an_unpaired_run_resumes_from_its_checkpoint() {
    let out = scratch("translate-resume").join("ab");
    let b = testdata("faces/dlib");
    let run = |steps: &str, resume: bool| {
        let more = ["--frames-per-video", "20", "--steps", steps];
        let mut args = cyclegan(&[&b], &out, &more);
        if resume {
            args.push("--resume".into());
        }
        mimic_json(&args)
    };
    assert_eq!(run("10", false)["steps"], 10);
    let resumed = run("20", true);
    assert_eq!(resumed["steps"], 20, "{resumed}");
    let csv = std::fs::read_to_string(out.with_extension("train").join("losses.csv")).unwrap();
    let steps: Vec<u64> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(steps, (1..=20).collect::<Vec<_>>());
}
