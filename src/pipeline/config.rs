//! A session's plain configuration ([`SessionConfig`]: the model, the mode, how faces are
//! found, steadied, retargeted and blended, the view) and the one way a [`Session`] is built
//! from it, for the live loop, the benchmark, the demo, quantisation and the evaluations.

use std::path::{Path, PathBuf};

use super::{PipelineError, Reenactor, Retargeting, Session, Stylizer, Swapper, Target};
use crate::face::smooth::SmoothSettings;
use crate::face::track::{FaceTracker, Role, TrackOptions};
use crate::face::{DetectOptions, DetectorKind, FaceAnalyzer, DEFAULT_IDENTITY_THRESHOLD};
use crate::infer::{DevicePreference, Generator, Graph, Loading, ModelCard, ModelKind};
use crate::output::compose::{Composer, View};
use crate::reenact::calibrate::Profile;
use crate::reenact::retarget::Follow;
use crate::swap::blend::BlendOptions;

/// Everything a session is built from; [`Default`] is what a command line naming only the
/// model gives.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// The generator (ONNX, its card beside it).
    pub model: PathBuf,
    /// reenact, swap or stylize; default: the model card's.
    pub mode: Option<ModelKind>,
    pub device: DevicePreference,
    pub graph: Graph,
    /// Track each frame and then generate it on one thread, instead of tracking the next
    /// frame while this one is generated.
    pub serial: bool,
    pub detector: DetectorKind,
    /// Run the face detector on every N-th frame; landmarks follow the face in between.
    pub detect_every: u32,
    /// Which face drives, by size: 0 the largest.
    pub face_index: usize,
    /// Only the person in this photo (or a video's first frame) drives or is swapped: other
    /// faces are left as they are.
    pub only: Option<PathBuf>,
    /// Swap every face in view, up to this many, each followed on its own (1: the one
    /// `face_index` or `only` picks). Swap mode only.
    pub faces: usize,
    /// Swap each of these people by a model of their own; nobody else is swapped. Swap mode
    /// only; `model` then sets the mode and the options' defaults.
    pub map: Vec<FaceMap>,
    pub blend: BlendOptions,
    /// How the landmarks are steadied (`None`: raw).
    pub smoothing: Option<SmoothTweaks>,
    pub retarget: RetargetConfig,
    pub view: View,
    /// The visible "SYNTHETIC" mark on every composite.
    pub mark: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            model: PathBuf::new(),
            mode: None,
            device: DevicePreference::Auto,
            graph: Graph::Simplified,
            serial: false,
            detector: DetectorKind::default(),
            detect_every: 4,
            face_index: 0,
            only: None,
            faces: 1,
            map: Vec::new(),
            blend: BlendOptions::default(),
            smoothing: Some(SmoothTweaks::default()),
            retarget: RetargetConfig::default(),
            view: View::Panels,
            mark: true,
        }
    }
}

/// The most faces a session swaps at once.
pub const MAX_FACES: usize = 8;

/// One person swapped by a model of their own (`--map PERSON.png=MODEL.onnx`).
#[derive(Debug, Clone, PartialEq)]
pub struct FaceMap {
    /// A photo of the person alone (or a video whose first frame shows them alone).
    pub person: PathBuf,
    /// The swap model their face is turned into the target's by.
    pub model: PathBuf,
}

/// The user's changes to the landmark smoothing, over the model card's `[smoothing]`, over
/// mimic's defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SmoothTweaks {
    /// Share of each surprise in the face's place taken at once, 0–1.
    pub head_alpha: Option<f32>,
    /// Share of each surprise taken into the head's velocity, 0–1.
    pub head_beta: Option<f32>,
    /// One-Euro cut-off at rest for the expression, Hz.
    pub min_cutoff: Option<f32>,
    /// How fast that cut-off rises with speed.
    pub beta: Option<f32>,
}

impl SmoothTweaks {
    /// The settings: these tweaks over the card's over mimic's defaults.
    pub fn over(&self, card: Option<SmoothSettings>) -> SmoothSettings {
        let mut settings = card.unwrap_or_default();
        let share = |v: f32| v.clamp(0.0, 1.0);
        if let Some(alpha) = self.head_alpha {
            settings.position.alpha = share(alpha);
        }
        if let Some(beta) = self.head_beta {
            settings.position.beta = share(beta);
        }
        if let Some(cutoff) = self.min_cutoff {
            settings.expression.min_cutoff = cutoff.max(0.01);
        }
        if let Some(beta) = self.beta {
            settings.expression.beta = beta.max(0.0);
        }
        settings
    }
}

/// Whether a reenactment retargets the driver's expression onto the target's neutral face.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetargetMode {
    Auto,
    Off,
}

/// How a reenactment places the driver's face on the target (DESIGN §2, "retarget").
#[derive(Debug, Clone, PartialEq)]
pub struct RetargetConfig {
    /// Default: on when the model card has the target's neutral.
    pub mode: Option<RetargetMode>,
    /// Retarget against the neutral face in this profile (`mimic calibrate`).
    pub calibration: Option<PathBuf>,
    pub expression_gain: f32,
    pub follow: Follow,
}

impl Default for RetargetConfig {
    fn default() -> Self {
        RetargetConfig {
            mode: None,
            calibration: None,
            expression_gain: 1.0,
            follow: Follow::default(),
        }
    }
}

impl RetargetConfig {
    /// Retargeting for a reenactment of `generator`: on by default when the card has the
    /// target's neutral, against a calibration profile's neutral when one is given.
    pub fn for_model(&self, generator: &Generator) -> Result<Option<Retargeting>, PipelineError> {
        let profile = self.calibration.as_deref().map(Profile::load).transpose()?;
        let wanted = profile.is_some() || self.mode == Some(RetargetMode::Auto);
        let Some(target) = generator.card().and_then(|c| c.neutral) else {
            return match wanted {
                true => Err(PipelineError::NoNeutral(generator.path().to_path_buf())),
                false => Ok(None),
            };
        };
        let retargeting = Retargeting::new(target, self.expression_gain, self.follow);
        Ok(match (profile, self.mode) {
            (Some(profile), _) => Some(retargeting.with_profile(profile.neutral)),
            (None, Some(RetargetMode::Off)) => None,
            (None, _) => Some(retargeting),
        })
    }
}

/// Panels are at least this high, so small models still show at a readable size.
const MIN_PANEL: u32 = 256;

impl SessionConfig {
    /// The generator, loaded as configured.
    pub fn generator(&self) -> Result<Generator, PipelineError> {
        let loading = Loading {
            graph: self.graph,
            // Beside the tracking thread, idle workers sleep (measured on a 2-core machine:
            // the same speed for a 128-px model, 13 → 20 fps for a 256-px one against one
            // thread).
            spin: self.serial,
        };
        Ok(Generator::open_as(&self.model, self.device, loading)?)
    }

    /// The face tracker, detecting beside the frames when `background`.
    pub fn tracker(&self, background: bool) -> Result<FaceTracker, PipelineError> {
        let analyzer = FaceAnalyzer::new(DetectOptions {
            detector: self.detector,
            upsample: 0,
            ..Default::default()
        })?;
        let options = TrackOptions {
            detect_every: self.detect_every,
            background,
            face_index: self.face_index,
        };
        let people: Vec<&Path> = match &self.only {
            Some(person) => vec![person],
            None => self.map.iter().map(|m| m.person.as_path()).collect(),
        };
        if people.is_empty() {
            let anyone = vec![Role::Anyone; self.faces];
            let tracker = FaceTracker::new(analyzer, options)?;
            return Ok(match self.faces > 1 {
                true => tracker.cast(anyone),
                false => tracker,
            });
        }
        let analyzer = analyzer.with_descriptors()?;
        let roles = people
            .into_iter()
            .map(|p| {
                Ok(Role::Person(
                    analyzer.identity_of(p, DEFAULT_IDENTITY_THRESHOLD)?,
                ))
            })
            .collect::<Result<Vec<_>, PipelineError>>()?;
        Ok(FaceTracker::new(analyzer, options)?.cast(roles))
    }

    /// The swap side of a session: one face, every face in view, or each person mapped to
    /// their model, each named for the window.
    fn swapper(&self, generator: Generator) -> Result<Swapper, PipelineError> {
        let smoothing = self.smoothing(&generator);
        let mut generators = vec![generator];
        let mut models = vec![self.model.clone()];
        let mut faces = Vec::new();
        for map in &self.map {
            let model = match models.iter().position(|m| *m == map.model) {
                Some(known) => known,
                None => {
                    generators.push(self.swap_model(&map.model)?);
                    models.push(map.model.clone());
                    models.len() - 1
                }
            };
            let name = format!("{} > {}", name_of(&map.person), name_of(&map.model));
            faces.push((model, name));
        }
        if faces.is_empty() {
            faces = match (&self.only, self.faces) {
                (Some(person), _) => vec![(0, name_of(person))],
                (None, 1) => vec![(0, String::new())],
                (None, n) => (1..=n).map(|i| (0, i.to_string())).collect(),
            };
        }
        Swapper::cast(generators, &faces, self.blend, smoothing)
    }

    /// A swap model of `--map`, loaded like the session's own.
    fn swap_model(&self, path: &Path) -> Result<Generator, PipelineError> {
        let config = SessionConfig {
            model: path.to_path_buf(),
            mode: None,
            ..self.clone()
        };
        let generator = config.generator()?;
        match generator.kind() {
            ModelKind::Swap => Ok(generator),
            kind => Err(PipelineError::WrongMode {
                model: path.to_path_buf(),
                kind,
                mode: ModelKind::Swap,
            }),
        }
    }

    /// Several faces, or a model per person, are a swap's: refused in the other modes.
    fn check_faces(&self, mode: ModelKind) -> Result<(), PipelineError> {
        let many = self.faces > 1 || !self.map.is_empty();
        if self.faces == 0 || self.faces > MAX_FACES {
            return Err(PipelineError::Faces(self.faces));
        }
        if many && self.only.is_some() {
            return Err(PipelineError::OnlyAndMany);
        }
        match many && mode != ModelKind::Swap {
            true => Err(PipelineError::ManyFacesNeedSwap(mode)),
            false => Ok(()),
        }
    }

    /// The landmark smoothing for `generator`'s session (`None`: raw).
    pub fn smoothing(&self, generator: &Generator) -> Option<SmoothSettings> {
        let card = generator.card().and_then(|c| c.smoothing);
        self.smoothing.map(|tweaks| tweaks.over(card))
    }

    /// The reenactment side of a session: smoothing and retargeting as configured.
    pub fn reenactor(&self, generator: Generator) -> Result<Reenactor, PipelineError> {
        let retargeting = self.retarget.for_model(&generator)?;
        let smoothing = self.smoothing(&generator);
        Ok(Reenactor::new(
            Target::new(generator)?,
            smoothing,
            retargeting,
        ))
    }

    /// The mode `generator` runs in, and a note when a card-less model runs in a mode the
    /// user named; an error when the model cannot run in the mode asked for.
    fn mode_of(&self, generator: &Generator) -> Result<(ModelKind, Option<String>), PipelineError> {
        let model = generator.path().to_path_buf();
        let mode = self.mode.unwrap_or(generator.kind());
        let cardless = generator.card().is_none();
        if !cardless && generator.kind() != mode {
            return Err(PipelineError::WrongMode {
                model,
                kind: generator.kind(),
                mode,
            });
        }
        if generator.takes_reference() && mode != ModelKind::Reenact {
            let card = ModelCard::path_for(&model);
            return Err(PipelineError::TakesReference { model, card });
        }
        // The user named the mode of a model that cannot say it itself: it runs so, and
        // says with what.
        let note = (cardless && mode != generator.kind()).then(|| {
            format!(
                "'{}' has no card: running it in {} mode with defaults ({})",
                model.display(),
                mode.name(),
                cardless_defaults(mode, generator)
            )
        });
        Ok((mode, note))
    }
}

/// The most characters of a file's name the window shows, so two labels side by side fit.
const NAME_CHARS: usize = 16;

/// What the window calls a person or a model: its file's name without the extension, cut to
/// [`NAME_CHARS`].
fn name_of(path: &Path) -> String {
    let stem = path.file_stem().unwrap_or(path.as_os_str());
    let name = stem.to_string_lossy().replace('_', " ");
    match name.chars().count() > NAME_CHARS {
        true => name.chars().take(NAME_CHARS - 1).chain(['.']).collect(),
        false => name,
    }
}

/// What a card-less model runs with in `mode`, in words.
fn cardless_defaults(mode: ModelKind, generator: &Generator) -> String {
    let spec = generator.input_spec();
    let tensor = format!(
        "{:?} in [{}, {}], read from its shapes",
        spec.layout, spec.range[0], spec.range[1]
    );
    match mode {
        ModelKind::Reenact => format!(
            "the driver framed as their first faces show them, the sketch at its default width, {tensor}"
        ),
        ModelKind::Swap => format!("faces aligned at DeepFaceLive's default coverage, {tensor}"),
        ModelKind::Stylize => format!("the whole frame letterboxed, {tensor}"),
    }
}

impl Session {
    /// The session `config` describes, warmed up: model, tracker (detecting beside the
    /// frames when `background`), the processing side of the model's mode, composer.
    pub fn open(config: &SessionConfig, background: bool) -> Result<Session, PipelineError> {
        let generator = config.generator()?;
        let (mode, note) = config.mode_of(&generator)?;
        config.check_faces(mode)?;
        let panel = generator.output_size().max(MIN_PANEL);
        let composer = Composer::new(config.view, panel, config.mark);
        let (tracker, processor, composer): (_, Box<dyn super::Process>, _) = match mode {
            ModelKind::Reenact => (
                Some(config.tracker(background)?),
                Box::new(config.reenactor(generator)?),
                composer,
            ),
            ModelKind::Swap => (
                Some(config.tracker(background)?),
                Box::new(config.swapper(generator)?),
                composer.with_full_frame_output(),
            ),
            ModelKind::Stylize => (
                None,
                Box::new(Stylizer::new(generator)),
                composer.with_full_frame_output(),
            ),
        };
        let mut session = Session::new(tracker, processor, composer, mode)?;
        session.note = note;
        Ok(session)
    }
}
