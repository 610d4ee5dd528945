//! The live loop's flags (`live`, `bench`, `demo`, `calibrate`) and the configurations they
//! give: [`SessionConfig`], [`SourceSpec`], [`SinkOptions`], [`LiveConfig`].

use std::path::PathBuf;

use clap::Args;
use mimic::capture::{CameraSpec, SourceSpec};
use mimic::infer::Graph;
use mimic::live::LiveConfig;
use mimic::output::SinkOptions;
use mimic::pipeline::{FaceMap, RetargetConfig, SessionConfig, SmoothTweaks};
use mimic::swap::blend::BlendOptions;

use super::values::{Color, Device, FollowChoice, Mask, Mode, Retarget, ViewChoice};
use super::{DetectorFlag, JsonFlag};

/// What `live` and `bench` both need: the model, the driving video and how the path runs.
#[derive(Debug, Args)]
pub struct SessionFlags {
    #[command(flatten)]
    pub detection: DetectorFlag,
    /// The generator (ONNX, its card beside it); with --map, the first mapped model when not
    /// given.
    #[arg(long, required_unless_present = "map")]
    pub model: Option<PathBuf>,
    /// reenact (sketch → target) or swap (face → the other face); default: the model card's.
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    #[command(flatten)]
    pub blend: BlendFlags,
    #[command(flatten)]
    pub steadying: SteadyFlags,
    #[command(flatten)]
    pub retargeting: RetargetFlags,
    /// Live | generated | sketch panels, or the generated frame alone.
    #[arg(long, value_enum, default_value_t = ViewChoice::Panels)]
    pub view: ViewChoice,
    /// Run the face detector on every N-th frame; landmarks follow the face in between.
    #[arg(long, default_value_t = 4)]
    pub detect_every: u32,
    /// Which face drives, by size: 0 the largest, 1 the next, and so on.
    #[arg(long, default_value_t = 0)]
    pub face_index: usize,
    /// Only the person in this photo (or a video whose first frame shows them alone) is
    /// swapped or drives; everyone else in the frame is left as they are.
    #[arg(long, value_name = "REF.png", conflicts_with = "face_index")]
    pub swap_only: Option<PathBuf>,
    /// Swap every face in view, up to N (at most 8), each followed on its own (swap models).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=8), conflicts_with_all = ["face_index", "swap_only", "map"])]
    pub faces: u8,
    /// Swap this person (a photo of them alone, or a video whose first frame shows them) by
    /// this swap model (repeatable: a model each); nobody else is swapped.
    #[arg(long, value_name = "PERSON.png=MODEL.onnx", value_parser = parse_map, conflicts_with_all = ["face_index", "swap_only"])]
    pub map: Vec<FaceMap>,
    /// Where the generator runs.
    #[arg(long, value_enum, default_value_t = Device::Auto)]
    pub device: Device,
    /// Run the model's graph as the file has it, without mimic's exact rewrites (to compare).
    #[arg(long)]
    pub as_is: bool,
    /// Track each frame and then generate it, on one thread, instead of tracking the next
    /// frame while this one is generated (to compare).
    #[arg(long)]
    pub serial: bool,
}

/// Where live frames come from: a camera, or a video file.
#[derive(Debug, Args)]
pub struct SourceFlags {
    /// A camera (`mimic devices` lists them).
    #[arg(long, conflicts_with = "input", required_unless_present = "input")]
    pub camera: Option<u32>,
    /// The camera size to ask for, WIDTHxHEIGHT (the closest it offers is used).
    #[arg(long, value_parser = parse_resolution, requires = "camera")]
    pub resolution: Option<(u32, u32)>,
    /// The camera frame rate to ask for.
    #[arg(long, requires = "camera")]
    pub fps: Option<u32>,
    /// A video of the face (every frame is processed, in order, unless --realtime).
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Play --input at its own frame rate, like a camera: frames the processing cannot keep up
    /// with are dropped, not queued.
    #[arg(long, requires = "input")]
    pub realtime: bool,
    /// Test double for losing a camera (there is none on a test machine): plays --input as a
    /// camera (--realtime) that stops delivering after N frames, once; the first attempt to
    /// open it again fails (still unplugged), the next plays it through.
    #[arg(long, value_name = "N", requires = "input", hide = true)]
    pub simulate_camera_loss: Option<u64>,
}

/// Live outputs: a virtual camera, a network stream.
#[derive(Debug, Args)]
pub struct OutputFlags {
    /// Also send what is shown here, live (repeatable): v4l2:/dev/videoN (a v4l2loopback
    /// virtual camera), udp://HOST:PORT or srt://… (MPEG-TS that OBS and ffplay read),
    /// rtmp://… (a streaming server), or any other address FFmpeg can send to.
    #[arg(long = "output", value_name = "URL")]
    pub urls: Vec<String>,
    /// What the live outputs carry: the generated picture alone (default) or the panels.
    #[arg(long, value_enum, default_value_t = ViewChoice::Output)]
    pub output_view: ViewChoice,
}

#[derive(Debug, Args)]
pub struct LiveArgs {
    #[command(flatten)]
    pub session: SessionFlags,
    #[command(flatten)]
    pub source: SourceFlags,
    /// Write what is composed into this MP4 (the input's audio is kept).
    #[arg(long, value_name = "OUT.mp4")]
    pub record: Option<PathBuf>,
    #[command(flatten)]
    pub outputs: OutputFlags,
    /// Replace the --record file, or an --output file, if it exists (without it, an existing
    /// file is never written over).
    #[arg(long)]
    pub force: bool,
    /// The view recordings hold (default: the window's view when the recording starts); the
    /// window can change views while recording either way.
    #[arg(long, value_enum)]
    pub record_view: Option<ViewChoice>,
    /// Run without a window (implied when there is no display). Keys in the window: q/Esc
    /// quit, r start/stop recording, v next view, l landmarks on the live panel, s save the
    /// frame as a PNG; in swap mode m next mask, k next colour match, p seamless, d the
    /// target's detail, o the mouth mask, i occlusion.
    #[arg(long)]
    pub headless: bool,
    /// Leave out the visible "SYNTHETIC" mark (the metadata tag is always written).
    #[arg(long)]
    pub no_mark: bool,
    /// Stop after this many frames.
    #[arg(long)]
    pub max_frames: Option<u64>,
    /// When the camera stops delivering (unplugged, or stalled for 5 s), finish the recording
    /// and wait for it to come back, then go on (recording into NAME-2.mp4, …), instead of
    /// ending the run.
    #[arg(long)]
    pub reconnect: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(flatten)]
    pub session: SessionFlags,
    /// A video of the driving face.
    #[arg(long)]
    pub input: PathBuf,
    /// Frames to measure (default: the whole video).
    #[arg(long)]
    pub frames: Option<u64>,
    /// Measure recording too: encode every composite into a scratch file, as `live --record`
    /// does.
    #[arg(long)]
    pub record: bool,
    /// Play the video at its own frame rate, as a camera delivers frames: those the loop
    /// cannot keep up with are dropped, and counted (`dropped`).
    #[arg(long, conflicts_with = "loop")]
    pub realtime: bool,
    /// Play the clip this many times through the whole path (a soak): the JSON adds each
    /// pass's latency and memory, and `rss_mb` from the end of the first pass on.
    #[arg(long = "loop", default_value_t = 1, value_name = "N")]
    pub r#loop: u64,
    #[command(flatten)]
    pub outputs: OutputFlags,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub detection: DetectorFlag,
    #[command(flatten)]
    pub source: SourceFlags,
    /// Where to write the profile (TOML), e.g. calibration/NAME.toml.
    #[arg(long)]
    pub out: PathBuf,
    /// Seconds to get ready before the neutral face is taken (default: 3 from a camera, 0 from
    /// a video).
    #[arg(long)]
    pub countdown: Option<f64>,
    /// Seconds of still, neutral face to take.
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
    /// With --input: start this many seconds into the video.
    #[arg(long, requires = "input", default_value_t = 0.0)]
    pub from: f64,
    /// Run without a window (implied when there is no display); the guide goes to stderr.
    #[arg(long)]
    pub headless: bool,
    /// Replace a profile that is already there.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder to write demo.mp4 into (demo-2.mp4, … when one is there).
    #[arg(long, default_value = "demo-output")]
    pub out: PathBuf,
    /// Replace demo.mp4 rather than write the next free name beside it.
    #[arg(long)]
    pub force: bool,
    /// Run without a window (implied when there is no display).
    #[arg(long)]
    pub headless: bool,
    #[command(flatten)]
    pub outputs: OutputFlags,
    /// Instead of playing the demo, train its model again and write it here (with its card):
    /// how models/demo.onnx was made.
    #[arg(long, value_name = "MODEL.onnx")]
    pub train_model: Option<PathBuf>,
    /// Training steps for --train-model.
    #[arg(long, default_value_t = 8000, requires = "train_model")]
    pub steps: u64,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// How a swapped face is blended back into the frame.
#[derive(Debug, Args)]
pub struct BlendFlags {
    /// Which part of the generated face replaces the frame's.
    #[arg(long, value_enum, default_value_t = Mask::HullRect)]
    pub mask: Mask,
    /// Shrink the mask by this share of the face crop's side.
    #[arg(long, default_value_t = 0.03)]
    pub erode: f32,
    /// Fade the mask in over this share of the face crop's side.
    #[arg(long, default_value_t = 0.08)]
    pub blur: f32,
    /// Match the generated face's colours to the face it replaces.
    #[arg(long, value_enum, default_value_t = Color::Rct)]
    pub color: Color,
    /// Poisson blending: the face keeps its detail and takes its edges from the frame.
    #[arg(long)]
    pub seamless: bool,
    /// Leave out the target's fine detail (from the keyframes a swap model keeps): the
    /// generated face as the model drew it.
    #[arg(long)]
    pub no_detail: bool,
    /// Keep the driver's own mouth (lips, teeth, a hand or microphone in front of it) from the
    /// frame over the swapped face, feathered in (`o` in the window switches it).
    #[arg(long)]
    pub mouth_mask: bool,
    /// Keep what passes in front of the face (a hand, a microphone) from the camera frame
    /// over the swapped face (found against the face as mimic learns it over the first
    /// frames; the `i` key in the window).
    #[arg(long)]
    pub occlusion: bool,
}

/// Whether and how the landmarks are steadied over time.
#[derive(Debug, Args)]
pub struct SteadyFlags {
    /// Use the tracker's landmarks as they are, without smoothing them over time.
    #[arg(long)]
    pub no_smooth: bool,
    #[command(flatten)]
    pub smoothing: SmoothFlags,
}

impl SteadyFlags {
    /// The smoothing asked for (`None`: raw landmarks).
    pub fn tweaks(&self) -> Option<SmoothTweaks> {
        (!self.no_smooth).then(|| self.smoothing.tweaks())
    }
}

/// How the landmarks are steadied (default: the model card's `[smoothing]`, else mimic's).
#[derive(Debug, Args, Default)]
pub struct SmoothFlags {
    /// Share of each surprise in the face's place taken at once, 0–1 (mimic's default 0.45):
    /// higher follows the head more closely, lower steadies it more.
    #[arg(long)]
    pub head_alpha: Option<f32>,
    /// Share of each surprise taken into the head's velocity, 0–1 (mimic's default 0.075).
    #[arg(long)]
    pub head_beta: Option<f32>,
    /// One-Euro cut-off at rest for the mouth, eyelids and chin, Hz (mimic's default 1.2):
    /// lower steadies a still expression more.
    #[arg(long)]
    pub min_cutoff: Option<f32>,
    /// How fast that cut-off rises with speed, per inter-ocular distance per second (mimic's
    /// default 4): higher follows speech more closely.
    #[arg(long)]
    pub beta: Option<f32>,
}

/// How a reenactment places the driver's face on the target (DESIGN §2, "retarget").
#[derive(Debug, Args)]
pub struct RetargetFlags {
    /// Reenact: `auto` carries the driver's expression (against their neutral face from the
    /// first second and a half, or after the `c` key) onto the target's neutral face at its
    /// framing; `none` draws the driver's own landmarks in the driver's framing (the book's
    /// way). Default: auto when the model card has the target's neutral.
    #[arg(long, value_enum)]
    pub retarget: Option<Retarget>,
    /// Reenact: retarget against the neutral face in this profile (`mimic calibrate`) instead
    /// of the first frames'.
    #[arg(long, value_name = "FILE", conflicts_with = "retarget")]
    pub calibration: Option<PathBuf>,
    /// How strongly the driver's expression shows on the target when retargeting.
    #[arg(long, default_value_t = 1.0)]
    pub expression_gain: f32,
    /// How far the target follows the driver when retargeting: head motion and expression
    /// held within what the target showed in training (target), as they are (free), or the
    /// expression only, the head kept at the target's neutral place (still).
    #[arg(long, value_enum, default_value_t = FollowChoice::Target)]
    pub follow: FollowChoice,
}

fn parse_resolution(text: &str) -> Result<(u32, u32), String> {
    let (w, h) = text
        .split_once(['x', 'X'])
        .ok_or("write the size as WIDTHxHEIGHT, e.g. 1280x720")?;
    let parse = |v: &str| {
        v.trim()
            .parse::<u32>()
            .map_err(|_| format!("'{v}' is not a number of pixels"))
    };
    Ok((parse(w)?, parse(h)?))
}

/// `PERSON.png=MODEL.onnx`, split at the last `=`.
fn parse_map(value: &str) -> Result<FaceMap, String> {
    let (person, model) = value
        .rsplit_once('=')
        .filter(|(p, m)| !p.is_empty() && !m.is_empty())
        .ok_or("write it as PERSON.png=MODEL.onnx: a photo of the person, then their swap model")?;
    Ok(FaceMap {
        person: PathBuf::from(person),
        model: PathBuf::from(model),
    })
}

impl SessionFlags {
    /// The session these flags ask for, with the visible mark.
    pub fn config(&self) -> SessionConfig {
        let first_mapped = self.map.first().map(|m| m.model.clone());
        SessionConfig {
            model: self.model.clone().or(first_mapped).unwrap_or_default(),
            mode: self.mode.map(Into::into),
            device: self.device.into(),
            graph: match self.as_is {
                true => Graph::AsIs,
                false => Graph::Simplified,
            },
            serial: self.serial,
            detector: self.detection.detector.into(),
            detect_every: self.detect_every,
            face_index: self.face_index,
            only: self.swap_only.clone(),
            faces: usize::from(self.faces),
            map: self.map.clone(),
            blend: self.blend.options(),
            smoothing: self.steadying.tweaks(),
            retarget: self.retargeting.config(),
            view: self.view.into(),
            mark: true,
        }
    }
}

impl SourceFlags {
    /// The source these flags name.
    pub fn spec(&self) -> anyhow::Result<SourceSpec> {
        Ok(match (&self.input, self.camera) {
            (Some(path), _) => SourceSpec::File {
                path: path.clone(),
                realtime: self.realtime,
                passes: 1,
                simulate_loss: self.simulate_camera_loss,
            },
            (None, Some(index)) => SourceSpec::Camera(CameraSpec {
                index,
                resolution: self.resolution,
                fps: self.fps,
            }),
            (None, None) => anyhow::bail!("give --camera N or --input VIDEO"),
        })
    }
}

impl OutputFlags {
    /// These outputs as sinks, with no window and no recording.
    pub fn sinks(&self) -> SinkOptions {
        SinkOptions {
            outputs: self.urls.clone(),
            output_view: self.output_view.into(),
            ..SinkOptions::default()
        }
    }
}

impl LiveArgs {
    /// The loop these flags ask for; a window titled "mimic" when `window`.
    pub fn config(&self, window: bool) -> LiveConfig {
        LiveConfig {
            session: SessionConfig {
                mark: !self.no_mark,
                ..self.session.config()
            },
            sinks: SinkOptions {
                window: window.then(|| "mimic".to_string()),
                record: self.record.clone(),
                record_view: self.record_view.map(Into::into),
                replace: self.force,
                ..self.outputs.sinks()
            },
            max_frames: self.max_frames,
            reconnect: self.reconnect,
            background_detection: None,
            label: None,
        }
    }
}

impl BlendFlags {
    pub fn options(&self) -> BlendOptions {
        BlendOptions {
            mask: self.mask.into(),
            erode: self.erode.clamp(0.0, 0.5),
            blur: self.blur.clamp(0.0, 0.5),
            color: self.color.into(),
            seamless: self.seamless,
            detail: !self.no_detail,
            mouth: self.mouth_mask,
            occlusion: self.occlusion,
        }
    }
}

impl SmoothFlags {
    pub fn tweaks(&self) -> SmoothTweaks {
        SmoothTweaks {
            head_alpha: self.head_alpha,
            head_beta: self.head_beta,
            min_cutoff: self.min_cutoff,
            beta: self.beta,
        }
    }
}

impl RetargetFlags {
    pub fn config(&self) -> RetargetConfig {
        RetargetConfig {
            mode: self.retarget.map(Into::into),
            calibration: self.calibration.clone(),
            expression_gain: self.expression_gain,
            follow: self.follow.into(),
        }
    }
}
