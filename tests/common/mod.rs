//! Shared helpers for the integration tests: where the test data lives and how its
//! annotation files read; `mimic live` command lines ([`live`]), the models trained for the
//! tests ([`models`]), mimic's window under Xvfb ([`window`]) and clips of several people
//! ([`clips`]).
//!
//! Every test binary compiles this module for itself and uses only some of it.

#![allow(dead_code)]

pub mod clips;
pub mod live;
pub mod models;
pub mod window;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mimic::face::Landmarks;
use mimic::geometry::{FaceBox, Point};
use mimic::infer::{ModelCard, ModelKind, TensorSpec};

/// `../shared/testdata` beside the checkout.
pub fn testdata(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/testdata")
        .join(relative)
}

/// An empty scratch folder for one test, under cargo's target dir.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the `mimic` binary.
pub fn mimic(args: &[impl AsRef<OsStr>]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mimic"))
        .args(args)
        .output()
        .expect("mimic runs")
}

/// The stderr of a run that must have been refused: exit status 2.
pub fn refusal(run: &Output) -> String {
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    stderr
}

/// Runs `mimic … --json`, which must succeed, and returns its report.
pub fn mimic_json(args: &[impl AsRef<str>]) -> serde_json::Value {
    let mut args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    args.push("--json");
    let out = mimic(&args);
    assert!(
        out.status.success(),
        "mimic {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

/// Every picture of a video file, decoded to the end.
pub fn decoded(path: &Path) -> Vec<mimic::frame::Rgb8> {
    let mut reader = mimic::video::VideoReader::open(path).unwrap();
    let mut frames = Vec::new();
    while let Some(frame) = reader.next_frame().unwrap() {
        frames.push(frame.image);
    }
    frames
}

/// Copies a model with everything beside it (card, mean frame, reference picture) into
/// `dir`, keeping its name, and returns the copy's path.
pub fn copy_model(model: &Path, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("the copy's folder is made");
    for ext in ["onnx", "toml", "mean.png", "reference.png"] {
        let from = model.with_extension(ext);
        if from.is_file() {
            std::fs::copy(&from, dir.join(from.file_name().unwrap())).expect("model copied");
        }
    }
    dir.join(model.file_name().unwrap())
}

/// Rewrites the card beside `model` through `edit`.
pub fn edit_card(model: &Path, edit: impl FnOnce(&mut toml::Table)) {
    let path = model.with_extension("toml");
    let text = std::fs::read_to_string(&path).expect("the card is readable");
    let mut card: toml::Table = toml::from_str(&text).expect("the card is TOML");
    edit(&mut card);
    std::fs::write(&path, toml::to_string(&card).unwrap()).expect("the card is written");
}

/// A path as a command-line argument.
pub fn arg(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// One annotated face of a dlib dataset XML.
pub struct AnnotatedFace {
    pub bbox: FaceBox,
    pub landmarks: Option<Landmarks>,
}

/// One image of a dlib dataset XML with its faces.
pub struct AnnotatedImage {
    pub file: String,
    pub faces: Vec<AnnotatedFace>,
}

fn attr(tag: &str, name: &str) -> Option<f32> {
    let key = format!("{name}='");
    let start = tag.find(&key)? + key.len();
    let end = start + tag[start..].find('\'')?;
    tag[start..end].parse().ok()
}

fn attr_str(tag: &str, name: &str) -> Option<String> {
    let key = format!("{name}='");
    let start = tag.find(&key)? + key.len();
    let end = start + tag[start..].find('\'')?;
    Some(tag[start..end].to_string())
}

/// Reads dlib's imglab XML (`<image file>` / `<box top left width height>` / `<part x y>`).
pub fn read_dlib_xml(relative: &str) -> Vec<AnnotatedImage> {
    let text = std::fs::read_to_string(testdata(relative)).expect("test data XML is readable");
    let mut images: Vec<AnnotatedImage> = Vec::new();
    let mut points: Vec<Point> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with("<image ") {
            images.push(AnnotatedImage {
                file: attr_str(line, "file").expect("image has a file"),
                faces: Vec::new(),
            });
        } else if line.starts_with("<box ") {
            let (top, left) = (attr(line, "top").unwrap(), attr(line, "left").unwrap());
            let (w, h) = (attr(line, "width").unwrap(), attr(line, "height").unwrap());
            let bbox = FaceBox {
                left,
                top,
                right: left + w,
                bottom: top + h,
            };
            images
                .last_mut()
                .expect("box inside an image")
                .faces
                .push(AnnotatedFace {
                    bbox,
                    landmarks: None,
                });
            points.clear();
        } else if line.starts_with("<part ") {
            points.push(Point::new(
                attr(line, "x").unwrap(),
                attr(line, "y").unwrap(),
            ));
            if points.len() == 68 {
                let face = images.last_mut().unwrap().faces.last_mut().unwrap();
                face.landmarks = Landmarks::from_slice(&points);
            }
        }
    }
    images
}

/// Reads an iBUG `.pts` file (1-based coordinates) into 0-based pixel landmarks.
pub fn read_pts(relative: &str) -> Landmarks {
    let text = std::fs::read_to_string(testdata(relative)).expect("pts is readable");
    let points: Vec<Point> = text
        .lines()
        .filter_map(|line| {
            let mut it = line.split_whitespace().map(str::parse::<f32>);
            match (it.next(), it.next(), it.next()) {
                (Some(Ok(x)), Some(Ok(y)), None) => Some(Point::new(x - 1.0, y - 1.0)),
                _ => None,
            }
        })
        .collect();
    Landmarks::from_slice(&points).expect("68 points")
}

/// A model card with only the tensor specs filled in.
pub fn card(kind: ModelKind, spec: TensorSpec) -> ModelCard {
    ModelCard::new(kind, spec)
}

/// `name.onnx` in `dir`: y = -x on a tensor of `dims`, written by mimic's own ONNX encoder
/// (card-less: by itself a style model).
pub fn negation(dir: &Path, name: &str, dims: Vec<i64>) -> PathBuf {
    let neg = mimic::onnx::Node::new("Neg", "neg", &["input"], &["output"]);
    onnx_model(dir, name, dims, vec![neg], Vec::new())
}

/// `name.onnx` in `dir`: `nodes` from `input` to `output`, both of `dims`.
pub fn onnx_model(
    dir: &Path,
    name: &str,
    dims: Vec<i64>,
    nodes: Vec<mimic::onnx::Node>,
    initializers: Vec<mimic::onnx::Initializer>,
) -> PathBuf {
    use mimic::onnx::{Io, Model};
    let io = |name: &str| Io {
        name: name.into(),
        dims: dims.clone(),
    };
    let model = Model {
        graph_name: name.into(),
        producer: "mimic-tests".into(),
        nodes,
        initializers,
        inputs: vec![io("input")],
        outputs: vec![io("output")],
        ..Default::default()
    };
    let path = dir.join(format!("{name}.onnx"));
    std::fs::write(&path, model.encode()).unwrap();
    path
}
