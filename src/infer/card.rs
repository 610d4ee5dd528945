//! The model card: the TOML file beside a model (`NAME.onnx` + `NAME.toml`) that tells the
//! runtime what the model expects and how it was made (DESIGN §4).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::InferError;
use crate::face::reference::ReferenceSpec;
use crate::face::smooth::SmoothSettings;
use crate::frame::CropWindow;
use crate::reenact::retarget::TargetNeutral;
use crate::reenact::sketch::SketchStyle;
use crate::swap::detail::DetailSpec;

/// What a model does, which picks the live loop's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Landmark sketch → frame of the target person (pix2pix).
    Reenact,
    /// Aligned face → the other person's face (autoencoder).
    Swap,
    /// Any frame → the same frame in another style (CycleGAN, pix2pix).
    Stylize,
}

impl ModelKind {
    /// The mode's name as the command line and the card write it.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Reenact => "reenact",
            ModelKind::Swap => "swap",
            ModelKind::Stylize => "stylize",
        }
    }
}

/// Where the channel axis is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    Nchw,
    Nhwc,
}

/// Order of the colour channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ColorOrder {
    #[default]
    Rgb,
    Bgr,
}

/// How an image tensor is laid out and scaled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TensorSpec {
    /// Width and height in pixels (square).
    pub size: u32,
    pub layout: Layout,
    /// The values that black and white map to: `[-1, 1]` for tanh, `[0, 1]` for sigmoid.
    pub range: [f32; 2],
    #[serde(default)]
    pub color: ColorOrder,
}

/// The largest picture side a generator may take or make. Its input tensor is allocated
/// once at that size (4096² × 3 floats: 192 MiB), so a card or a model that says more is
/// refused rather than trusted; generators run live are 128 to 1024 pixels.
pub const MAX_MODEL_SIDE: u32 = 4096;

impl TensorSpec {
    /// Whether the values make sense: a side of at least one pixel, and a range whose black
    /// lies below its white.
    fn check(&self) -> Result<(), String> {
        let [black, white] = self.range;
        if self.size == 0 || self.size > MAX_MODEL_SIDE {
            return Err(format!(
                "size = {} is not a picture side; give the model's input/output side in pixels (1 to {MAX_MODEL_SIDE})",
                self.size
            ));
        }
        if !(black.is_finite() && white.is_finite() && black < white) {
            return Err(format!(
                "range = [{black}, {white}] must give black first and white second, black below white (e.g. [-1.0, 1.0] for tanh, [0.0, 1.0] for sigmoid)"
            ));
        }
        Ok(())
    }
}

/// The aligned crop a swap model was trained on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AlignmentSpec {
    pub size: u32,
    pub padding: f32,
}

/// An INT8 model's precision and calibration (card section `[quantization]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantizationSpec {
    /// `int8`: weights symmetric int8 per output channel, activations uint8.
    pub precision: String,
    /// The float model it was made from (file name).
    pub parent: String,
    /// Where the calibration frames came from, how many ran, and how many were held out.
    pub calibration: String,
    pub frames: usize,
    pub held_out: usize,
    /// The range method kept (`min-max` or `percentile`).
    pub method: String,
    /// PSNR of the INT8 output against the parent's on the held-out frames (dB).
    pub psnr_db: f64,
}

/// Everything the runtime needs to know about a model, and how it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub kind: ModelKind,
    #[serde(default)]
    pub description: String,
    pub input: TensorSpec,
    pub output: TensorSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sketch: Option<SketchStyle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alignment: Option<AlignmentSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub framing: Option<CropWindow>,
    /// How the driver's landmarks are smoothed for this model (One-Euro `min_cutoff`,
    /// `beta`, `d_cutoff`); the command line overrides it, and without it mimic's defaults hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smoothing: Option<SmoothSettings>,
    /// The target's neutral face and its framing in the model's input (reenactment), which
    /// retargeting carries the driver's expression onto.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neutral: Option<TargetNeutral>,
    /// The target's reference picture, moved onto the drawn landmarks and fed to the model's
    /// second input (reenactment models of the `warp` architecture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceSpec>,
    /// The target's keyframes whose fine detail is added to the generated face (swap models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<DetailSpec>,
    /// How the model's numbers are stored, if not float: an INT8 model from `mimic quantize`
    /// says how it was calibrated and how close it came to its float parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantization: Option<QuantizationSpec>,
    /// Data, steps, preset and metrics of the run that made the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<toml::Table>,
}

impl ModelCard {
    /// A card of `kind` whose input and output are both `spec`, nothing else said yet: the
    /// trainers fill in what their kind needs.
    pub fn new(kind: ModelKind, spec: TensorSpec) -> ModelCard {
        ModelCard {
            kind,
            description: String::new(),
            input: spec,
            output: spec,
            sketch: None,
            alignment: None,
            framing: None,
            smoothing: None,
            neutral: None,
            reference: None,
            detail: None,
            quantization: None,
            training: None,
        }
    }

    /// The card's path for a model path: same stem, `.toml`.
    pub fn path_for(model: &Path) -> PathBuf {
        model.with_extension("toml")
    }

    /// Reads the card beside `model`; `Ok(None)` when there is none.
    pub fn read_beside(model: &Path) -> Result<Option<ModelCard>, InferError> {
        let path = Self::path_for(model);
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text, &path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(InferError::Card {
                path,
                reason: e.to_string(),
            }),
        }
    }

    /// The card in `text` (read from `path`), its numbers checked: a card is a file a person
    /// can edit, and a number that makes no sense is refused here, saying which, rather than
    /// met later as a picture of no pixels or a NaN landmark.
    pub fn parse(text: &str, path: &Path) -> Result<ModelCard, InferError> {
        let nonsense = |reason: String| InferError::Card {
            path: path.to_path_buf(),
            reason,
        };
        let table: toml::Table = toml::from_str(text).map_err(|e| nonsense(e.message().into()))?;
        let card = ModelCard::deserialize(toml::Value::Table(table.clone()))
            .map_err(|e| nonsense(e.message().into()))?;
        // What the run made is recorded as it came (a diverged loss is NaN, an INT8 model
        // that matches its parent exactly has an infinite PSNR); everything else is used.
        for (key, value) in table
            .iter()
            .filter(|(key, _)| !matches!(key.as_str(), "training" | "quantization"))
        {
            finite(key, value).map_err(&nonsense)?;
        }
        card.check().map_err(nonsense)?;
        Ok(card)
    }

    /// Whether the numbers the runtime uses make sense; which does not, otherwise.
    fn check(&self) -> Result<(), String> {
        for (name, spec) in [("input", &self.input), ("output", &self.output)] {
            spec.check().map_err(|e| format!("[{name}] {e}"))?;
        }
        if let Some(alignment) = &self.alignment {
            // The template fills the crop less the padding on each side: less than half.
            if alignment.size == 0 || alignment.size > MAX_MODEL_SIDE {
                return Err(format!(
                    "[alignment] size = {} is not a crop side; give the aligned crop's side in pixels (1 to {MAX_MODEL_SIDE})",
                    alignment.size
                ));
            }
            if !(0.0..0.5).contains(&alignment.padding) {
                return Err(format!(
                    "[alignment] padding = {} must be a share of the crop from 0 up to (not including) 0.5",
                    alignment.padding
                ));
            }
        }
        if let Some(sketch) = &self.sketch {
            let width = sketch.line_width_at_256;
            if !(width > 0.0 && width <= 256.0) {
                return Err(format!(
                    "[sketch] line_width_at_256 = {width} must be a line width in pixels above 0, at most 256"
                ));
            }
        }
        if let Some(window) = &self.framing {
            window_inside(window)?;
        }
        if let Some(smoothing) = &self.smoothing {
            smoothing_makes_sense(smoothing)?;
        }
        Ok(())
    }

    /// Writes the card beside `model`.
    pub fn write_beside(&self, model: &Path) -> Result<PathBuf, InferError> {
        self.write_with(model, None)
    }

    /// Writes this card beside `model` and, when given, the model's bytes too: both whole
    /// under temporary names before either is put in place, the card first (a model that is
    /// there runs as its card says). The card's path.
    pub fn write_with(&self, model: &Path, bytes: Option<&[u8]>) -> Result<PathBuf, InferError> {
        let path = Self::path_for(model);
        let fail = |reason: String| InferError::Card {
            path: path.clone(),
            reason,
        };
        let text = toml::to_string_pretty(self).map_err(|e| fail(e.to_string()))?;
        let mut files = vec![(path.as_path(), text.as_bytes())];
        files.extend(bytes.map(|b| (model, b)));
        crate::files::write_all_atomically(&files).map_err(|e| fail(e.to_string()))?;
        Ok(path)
    }
}

/// `value` (at `key`) and every number inside it finite; which is not, otherwise.
fn finite(key: &str, value: &toml::Value) -> Result<(), String> {
    match value {
        toml::Value::Float(f) if !f.is_finite() => Err(format!(
            "{key} = {f} is not a number mimic can use: give a finite one"
        )),
        toml::Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| finite(&format!("{key}[{i}]"), item)),
        toml::Value::Table(table) => table
            .iter()
            .try_for_each(|(k, item)| finite(&format!("{key}.{k}"), item)),
        _ => Ok(()),
    }
}

/// A framing window of at least a pixel that lies inside its source frame, which is no larger
/// than a picture mimic reads.
fn window_inside(w: &CropWindow) -> Result<(), String> {
    let fits = |start: u32, extent: u32| start.checked_add(w.side).is_some_and(|end| end <= extent);
    let source = w.source_width.max(w.source_height);
    if w.side == 0 || source > crate::frame::MAX_IMAGE_SIDE {
        return Err(format!(
            "[framing] side = {} of a {}×{} frame is not a window mimic can cut: give a side of at least one pixel in a frame of at most {} pixels a side",
            w.side,
            w.source_width,
            w.source_height,
            crate::frame::MAX_IMAGE_SIDE
        ));
    }
    if !fits(w.left, w.source_width) || !fits(w.top, w.source_height) {
        return Err(format!(
            "[framing] the window at ({}, {}) of side {} does not lie inside its {}×{} frame: use the card written with the model",
            w.left, w.top, w.side, w.source_width, w.source_height
        ));
    }
    Ok(())
}

/// Smoothing gains that steady rather than amplify: shares from 0 to 1, and One-Euro
/// cut-offs above 0 Hz (a cut-off of 0 divides by zero).
fn smoothing_makes_sense(s: &SmoothSettings) -> Result<(), String> {
    for (name, gains) in [("position", &s.position), ("turn", &s.turn)] {
        for (key, v) in [("alpha", gains.alpha), ("beta", gains.beta)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!(
                    "[smoothing.{name}] {key} = {v} must be a share from 0 to 1"
                ));
            }
        }
    }
    for (name, e) in [("expression", &s.expression), ("shape", &s.shape)] {
        let cutoffs = e.min_cutoff > 0.0 && e.d_cutoff > 0.0;
        if !cutoffs || e.beta < 0.0 {
            return Err(format!(
                "[smoothing.{name}] min_cutoff = {}, d_cutoff = {} must be above 0 Hz and beta = {} at least 0",
                e.min_cutoff, e.d_cutoff, e.beta
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_round_trips_through_toml() {
        let spec = TensorSpec {
            size: 128,
            layout: Layout::Nchw,
            range: [-1.0, 1.0],
            color: ColorOrder::Rgb,
        };
        let card = ModelCard {
            kind: ModelKind::Reenact,
            description: "test".into(),
            input: spec,
            output: spec,
            sketch: Some(SketchStyle::default()),
            alignment: None,
            framing: Some(CropWindow {
                left: 10,
                top: 20,
                side: 300,
                source_width: 512,
                source_height: 480,
            }),
            smoothing: Some(crate::face::smooth::SmoothSettings {
                position: crate::face::smooth::Gains {
                    alpha: 0.6,
                    beta: 0.1,
                },
                ..Default::default()
            }),
            neutral: None,
            reference: None,
            detail: None,
            quantization: None,
            training: None,
        };
        let text = toml::to_string_pretty(&card).unwrap();
        assert_eq!(ModelCard::parse(&text, Path::new("x.toml")).unwrap(), card);
    }

    #[test]
    fn unknown_kind_is_an_error() {
        let text = "kind = \"dance\"\n[input]\nsize=1\nlayout=\"nchw\"\nrange=[0.0,1.0]\n[output]\nsize=1\nlayout=\"nchw\"\nrange=[0.0,1.0]\n";
        assert!(ModelCard::parse(text, Path::new("x.toml")).is_err());
    }

    #[test]
    fn nonsense_sizes_and_ranges_are_refused_with_what_to_give() {
        let card = |size: u64, range: &str| {
            format!("kind = \"stylize\"\n[input]\nsize={size}\nlayout=\"nchw\"\nrange={range}\n[output]\nsize=64\nlayout=\"nchw\"\nrange=[0.0,1.0]\n")
        };
        assert!(ModelCard::parse(&card(64, "[-1.0, 1.0]"), Path::new("x.toml")).is_ok());
        for (size, range, says) in [
            (64, "[1.0, -1.0]", "range"),
            (64, "[0.5, 0.5]", "range"),
            (64, "[0.0, nan]", "range"),
            (0, "[0.0, 1.0]", "size"),
            (4_000_000_000, "[0.0, 1.0]", "size"),
        ] {
            let error = ModelCard::parse(&card(size, range), Path::new("x.toml")).unwrap_err();
            let text = error.to_string();
            assert!(text.contains("input") && text.contains(says), "{text}");
        }
        // Too large for the field itself, or negative: refused by the parser, with the value.
        for size in ["-64", "99999999999"] {
            let text = card(64, "[0.0, 1.0]").replace("size=64", &format!("size={size}"));
            let error = ModelCard::parse(&text, Path::new("x.toml")).unwrap_err();
            assert!(error.to_string().contains("x.toml"), "{error}");
        }
    }

    #[test]
    fn every_number_the_runtime_uses_is_checked() {
        let base = "kind = \"reenact\"\n[input]\nsize=64\nlayout=\"nchw\"\nrange=[0.0,1.0]\n[output]\nsize=64\nlayout=\"nchw\"\nrange=[0.0,1.0]\n";
        for (extra, says) in [
            ("[alignment]\nsize=0\npadding=0.2\n", "[alignment] size"),
            ("[alignment]\nsize=64\npadding=0.5\n", "[alignment] padding"),
            ("[alignment]\nsize=64\npadding=nan\n", "alignment.padding"),
            ("[sketch]\nline_width_at_256=-1.0\n", "[sketch]"),
            (
                "[sketch]\nline_width_at_256=inf\n",
                "sketch.line_width_at_256",
            ),
            (
                "[framing]\nleft=500\ntop=0\nside=100\nsource_width=512\nsource_height=512\n",
                "does not lie inside",
            ),
            (
                "[framing]\nleft=4294967295\ntop=0\nside=2\nsource_width=512\nsource_height=512\n",
                "does not lie inside",
            ),
            (
                "[framing]\nleft=0\ntop=0\nside=0\nsource_width=512\nsource_height=512\n",
                "side = 0",
            ),
            (
                "[smoothing.expression]\nmin_cutoff=0.0\nbeta=1.0\n",
                "[smoothing.expression]",
            ),
            ("[smoothing.position]\nalpha=7.0\nbeta=0.1\n", "alpha = 7"),
        ] {
            let error = ModelCard::parse(&format!("{base}{extra}"), Path::new("x.toml"))
                .expect_err(extra)
                .to_string();
            assert!(error.contains(says), "{extra}: {error}");
        }
        // What the run that made the model measured is kept as it came.
        let measured = format!("{base}[training]\nfinal_d_loss=nan\n");
        assert!(ModelCard::parse(&measured, Path::new("x.toml")).is_ok());
    }
}
