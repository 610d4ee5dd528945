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

impl TensorSpec {
    /// Whether the values make sense: a side of at least one pixel, and a range whose black
    /// lies below its white.
    fn check(&self) -> Result<(), String> {
        let [black, white] = self.range;
        if self.size == 0 || self.size > crate::frame::MAX_IMAGE_SIDE {
            return Err(format!(
                "size = {} is not a picture side; give the model's input/output side in pixels",
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

    pub fn parse(text: &str, path: &Path) -> Result<ModelCard, InferError> {
        let card: ModelCard = toml::from_str(text).map_err(|e| InferError::Card {
            path: path.to_path_buf(),
            reason: e.message().to_string(),
        })?;
        let nonsense = |reason: String| InferError::Card {
            path: path.to_path_buf(),
            reason,
        };
        for (name, spec) in [("input", &card.input), ("output", &card.output)] {
            spec.check()
                .map_err(|e| nonsense(format!("[{name}] {e}")))?;
        }
        Ok(card)
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
        let card = |size: u32, range: &str| {
            format!("kind = \"stylize\"\n[input]\nsize={size}\nlayout=\"nchw\"\nrange={range}\n[output]\nsize=64\nlayout=\"nchw\"\nrange=[0.0,1.0]\n")
        };
        assert!(ModelCard::parse(&card(64, "[-1.0, 1.0]"), Path::new("x.toml")).is_ok());
        for (size, range, says) in [
            (64, "[1.0, -1.0]", "range"),
            (64, "[0.5, 0.5]", "range"),
            (0, "[0.0, 1.0]", "size"),
        ] {
            let error = ModelCard::parse(&card(size, range), Path::new("x.toml")).unwrap_err();
            let text = error.to_string();
            assert!(text.contains("[input]") && text.contains(says), "{text}");
        }
    }
}
