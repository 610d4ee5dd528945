//! Command-line flags, parsed into plain values; nothing heavy is built here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use mimic::face::smooth::SmoothSettings;
use mimic::face::{DetectorKind, DEFAULT_IDENTITY_THRESHOLD};
use mimic::infer::quantize::Method;
use mimic::infer::{DevicePreference, ModelKind};
use mimic::output::compose::View;
use mimic::reenact::retarget::Follow;
use mimic::swap::blend::{BlendOptions, ColorMatch, MaskKind};
use mimic::train::cyclegan::{Preset as CyclePreset, Reconstruction, Variant};
use mimic::train::driver::{RunOptions, Schedule};
use mimic::train::pix2pix::{Arch, Preset};
use mimic::train::swap::{SwapLoss, SwapPreset};
use mimic::train::{NormKind, TrainDevice};

#[derive(Debug, Parser)]
#[command(name = "mimic", version, about = "Real-time webcam face reenactment and face swap", long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check everything mimic needs and say how to fix what is missing.
    Doctor(JsonFlag),
    /// List cameras: index, name, formats.
    Devices(JsonFlag),
    /// Find faces and their 68 landmarks in images.
    Detect(DetectArgs),
    /// The live loop with no camera: the bundled portrait drives the bundled model.
    Demo(DemoArgs),
    /// Reenact a driving video with a generator: window, recording, or both.
    Live(LiveArgs),
    /// Record your neutral face (a couple of seconds, still and frontal) for retargeting.
    Calibrate(CalibrateArgs),
    /// Per-stage and end-to-end latency of the live path on a video.
    Bench(BenchArgs),
    /// Per-frame landmarks of the main face of a video, as the live loop tracks them.
    Track(TrackArgs),
    /// An INT8 copy of a generator, calibrated on frames of the target's own data.
    Quantize(QuantizeArgs),
    /// Make training sets from videos.
    #[command(subcommand)]
    Extract(ExtractCommand),
    /// Train generators and export them to ONNX.
    #[command(subcommand)]
    Train(TrainCommand),
    /// Measure models against real frames.
    #[command(subcommand)]
    Eval(EvalCommand),
}

#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Self-reenactment quality on frames of the target (default: the held-out frames of the
    /// training video), against the mean training frame.
    Reenact(EvalReenactArgs),
    /// Face-swap quality on frames of the source person: identity against the target's
    /// reference, expression kept.
    Swap(EvalSwapArgs),
    /// Translation quality: round trip, and how far outputs moved toward domain B.
    Translate(EvalTranslateArgs),
    /// Another person drives a reenactment model: how often the generated frames show a face,
    /// and whether it stays inside the target's usual framing.
    Drive(EvalDriveArgs),
}

#[derive(Debug, Args)]
pub struct EvalTranslateArgs {
    /// The model to measure (NAME_a2b.onnx; the other direction beside it gives the round
    /// trip).
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub domains: DomainFlags,
    /// The domains are faces: also report whether outputs look like B's person (dlib).
    #[arg(long)]
    pub faces: bool,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct EvalSwapArgs {
    /// The swap model (NAME_a2b.onnx, its card beside it).
    #[arg(long)]
    pub model: PathBuf,
    /// A video of the source person (A).
    #[arg(long)]
    pub video: PathBuf,
    /// Source frames to evaluate, START..END (END excluded) or START.. (the part of A's clip
    /// kept out of training with `extract faces --frames`).
    #[arg(long)]
    pub frames: Option<String>,
    /// A photo of the target person (B), or a video whose first frame shows B alone.
    #[arg(long)]
    pub target_ref: PathBuf,
    /// Also write a PNG grid of four judged frames' faces: input | swapped.
    #[arg(long, value_name = "OUT.png")]
    pub preview: Option<PathBuf>,
    #[command(flatten)]
    pub blend: BlendFlags,
    /// Use the tracker's landmarks as they are, without smoothing them over time.
    #[arg(long)]
    pub no_smooth: bool,
    #[command(flatten)]
    pub smoothing: SmoothFlags,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct EvalReenactArgs {
    /// The reenactment model (its card and mean frame beside it).
    #[arg(long)]
    pub model: PathBuf,
    /// A video of the target person.
    #[arg(long)]
    pub video: PathBuf,
    /// Source frames to evaluate, START..END (END excluded) or START..
    #[arg(long)]
    pub frames: Option<String>,
    /// Times each frame is doubled before detection.
    #[arg(long, default_value_t = 0)]
    pub upsample: u32,
    /// Also write a PNG grid of four evaluated frames: sketch | mean frame | nearest training
    /// frame | model | real.
    #[arg(long, value_name = "OUT.png")]
    pub preview: Option<PathBuf>,
    #[command(flatten)]
    pub retargeting: RetargetFlags,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct EvalDriveArgs {
    #[command(flatten)]
    pub session: SessionFlags,
    /// A video of someone else driving the model.
    #[arg(long)]
    pub driver: PathBuf,
    /// Stop after this many driver frames.
    #[arg(long)]
    pub max_frames: Option<u64>,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Subcommand)]
pub enum TrainCommand {
    /// pix2pix reenactment: sketch → frame of the target, on a dataset from `extract reenact`.
    Pix2pix(TrainPix2PixArgs),
    /// Face swap: the shared-encoder autoencoder, on two face sets from `extract faces`.
    Swap(TrainSwapArgs),
    /// Unpaired translation (CycleGAN, DiscoGAN, DualGAN) between two domains of pictures.
    Cyclegan(TrainCycleganArgs),
}

/// Two domains of pictures, for unpaired training and its evaluation.
#[derive(Debug, Args)]
pub struct DomainFlags {
    /// Domain A: photos, videos (frames sampled) or folders of them.
    #[arg(long, num_args = 1.., required = true)]
    pub a: Vec<PathBuf>,
    /// Domain B, the same way.
    #[arg(long, num_args = 1.., required = true)]
    pub b: Vec<PathBuf>,
    /// At most this many frames of each video, evenly spaced.
    #[arg(long, default_value_t = 200)]
    pub frames_per_video: u64,
}

impl DomainFlags {
    /// How to gather both domains at `size`.
    pub fn options(&self, size: u32) -> mimic::data::imageset::ImageSetOptions {
        mimic::data::imageset::ImageSetOptions {
            size,
            frames_per_video: self.frames_per_video.max(1),
        }
    }
}

#[derive(Debug, Args)]
pub struct TrainCycleganArgs {
    #[command(flatten)]
    pub domains: DomainFlags,
    /// Name of the models: writes NAME_a2b.onnx and NAME_b2a.onnx (with cards), and the run
    /// (previews, losses, checkpoint) into NAME.train/.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t = Variant::Cyclegan)]
    pub variant: Variant,
    /// DiscoGAN's reconstruction loss.
    #[arg(long, value_enum, default_value_t = Reconstruction::Mse)]
    pub reconstruction: Reconstruction,
    /// Network size: tiny (64 px) and small (128 px) train on a CPU; base is the book's.
    #[arg(long, value_enum, default_value_t = CyclePreset::Tiny)]
    pub preset: CyclePreset,
    /// Picture side, instead of the preset's (a multiple of 16).
    #[arg(long)]
    pub size: Option<u32>,
    /// Training steps (each one picture of A and one of B, as in the book).
    #[arg(long, default_value_t = 5000)]
    pub steps: u64,
    #[command(flatten)]
    pub run: RunFlags,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct TrainSwapArgs {
    /// Face set of person A (the one whose faces get replaced live).
    #[arg(long)]
    pub a: PathBuf,
    /// Face set of person B (the face put in their place).
    #[arg(long)]
    pub b: PathBuf,
    /// Name of the models: writes NAME_a2b.onnx and NAME_b2a.onnx (with cards), and the run
    /// (previews, losses, checkpoint) into NAME.train/.
    #[arg(long)]
    pub out: PathBuf,
    /// Network size: tiny128 (128 px, the default), tiny (64 px) and small train on a CPU;
    /// base is the book's network.
    #[arg(long, value_enum, default_value_t = SwapPreset::Tiny128)]
    pub preset: SwapPreset,
    /// What training brings down, weighted to the face: the absolute error with the structural
    /// dissimilarity (DSSIM, for sharper faces; the default), or the error alone.
    #[arg(long, value_enum, default_value_t = SwapLoss::L1Dssim)]
    pub loss: SwapLoss,
    /// Training steps (each one batch of A and one of B).
    #[arg(long, default_value_t = 5000)]
    pub steps: u64,
    /// `dfm` also writes NAME.dfm (A→B in DeepFaceLive's signature, card NAME.toml).
    #[arg(long, value_enum, default_value_t = SwapFormat::Onnx)]
    pub format: SwapFormat,
    /// Also write INT8 copies (NAME_a2b.int8.onnx, NAME_b2a.int8.onnx), each calibrated on
    /// its input face set as `mimic quantize` does.
    #[arg(long)]
    pub int8: bool,
    #[command(flatten)]
    pub run: RunFlags,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// What `train swap` exports besides the two ONNX models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SwapFormat {
    /// NAME_a2b.onnx and NAME_b2a.onnx.
    Onnx,
    /// Those and NAME.dfm, for DeepFaceLive.
    Dfm,
}

#[derive(Debug, Args)]
pub struct TrainPix2PixArgs {
    /// Dataset folder made by `mimic extract reenact`.
    #[arg(required_unless_present = "pairs", conflicts_with = "pairs")]
    pub dataset: Option<PathBuf>,
    /// Instead of a dataset: two folders of pictures paired by file name, inputs then
    /// targets (`mimic extract pairs` makes them from any photos or videos).
    #[arg(long, num_args = 2, value_names = ["DIR_A", "DIR_B"])]
    pub pairs: Option<Vec<PathBuf>>,
    /// Where to write the ONNX model (its card, mean frame and MODEL.train/ go beside it).
    #[arg(long)]
    pub out: PathBuf,
    /// Network size: tiny (128 px, CPU), small (256 px), base (256 px, the book's, GPU).
    #[arg(long, value_enum, default_value_t = Preset::Tiny)]
    pub preset: Preset,
    /// The generator: warp (the U-Net also sees the target's reference picture moved onto
    /// the sketch; the default on a reenactment dataset) or book (the book's U-Net; the
    /// default with --pairs).
    #[arg(long, value_enum)]
    pub arch: Option<Arch>,
    /// Normalisation layers.
    #[arg(long, value_enum, default_value_t = NormKind::Instance)]
    pub norm: NormKind,
    /// Dropout rate in the decoder while training.
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f32,
    /// Stop after this many steps (default: 20 passes over the training pairs or 15 minutes,
    /// whichever comes first, for micro and tiny; 20000 steps small, 100000 base).
    #[arg(long)]
    pub steps: Option<u64>,
    /// Stop after this many passes over the training pairs (when --steps is not given).
    #[arg(long)]
    pub epochs: Option<u64>,
    /// Also write an INT8 copy (NAME.int8.onnx), calibrated on the training data as
    /// `mimic quantize` does.
    #[arg(long)]
    pub int8: bool,
    #[command(flatten)]
    pub run: RunFlags,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// How every trainer runs: when it stops, where, and what it writes along the way.
#[derive(Debug, Args)]
pub struct RunFlags {
    /// Stop after this many minutes, checkpointing and exporting as usual.
    #[arg(long)]
    pub max_minutes: Option<f64>,
    #[arg(long, value_enum, default_value_t = TrainDevice::Cpu)]
    pub device: TrainDevice,
    /// Seed for initialisation and batch order: the same seed gives the same run on a CPU.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write a preview grid and the loss plot (with the swap's validation MAE) every N steps.
    #[arg(long, default_value_t = 100)]
    pub preview_every: u64,
    /// Checkpoint every N steps.
    #[arg(long, default_value_t = 500)]
    pub checkpoint_every: u64,
    /// Continue from the checkpoint in NAME.train/.
    #[arg(long)]
    pub resume: bool,
    /// The learning rate's course: constant, or linear-decay (held for the first half of the
    /// run, then down to nothing; pix2pix's default).
    #[arg(long, value_enum)]
    pub schedule: Option<Schedule>,
}

impl RunFlags {
    /// The run these flags ask for, stopping after `steps` (or the time budget), with
    /// `schedule` unless the flags name one.
    pub fn options(&self, steps: Option<u64>, schedule: Schedule) -> RunOptions {
        RunOptions {
            steps,
            max_minutes: self.max_minutes,
            seed: self.seed,
            preview_every: self.preview_every.max(1),
            checkpoint_every: self.checkpoint_every.max(1),
            resume: self.resume,
            schedule: self.schedule.unwrap_or(schedule),
        }
    }
}

/// How a swapped face is blended back into the frame.
#[derive(Debug, Args)]
pub struct BlendFlags {
    /// Which part of the generated face replaces the frame's.
    #[arg(long, value_enum, default_value_t = MaskKind::HullRect)]
    pub mask: MaskKind,
    /// Shrink the mask by this share of the face crop's side.
    #[arg(long, default_value_t = 0.03)]
    pub erode: f32,
    /// Fade the mask in over this share of the face crop's side.
    #[arg(long, default_value_t = 0.08)]
    pub blur: f32,
    /// Match the generated face's colours to the face it replaces.
    #[arg(long, value_enum, default_value_t = ColorMatch::Rct)]
    pub color: ColorMatch,
    /// Poisson blending: the face keeps its detail and takes its edges from the frame.
    #[arg(long)]
    pub seamless: bool,
    /// Leave out the target's fine detail (from the keyframes a swap model keeps): the
    /// generated face as the model drew it.
    #[arg(long)]
    pub no_detail: bool,
}

impl Default for BlendFlags {
    /// The flags' defaults, for callers that build a session without a command line.
    fn default() -> Self {
        let o = BlendOptions::default();
        BlendFlags {
            mask: o.mask,
            erode: o.erode,
            blur: o.blur,
            color: o.color,
            seamless: o.seamless,
            no_detail: !o.detail,
        }
    }
}

impl BlendFlags {
    pub fn options(&self) -> BlendOptions {
        BlendOptions {
            mask: self.mask,
            erode: self.erode.clamp(0.0, 0.5),
            blur: self.blur.clamp(0.0, 0.5),
            color: self.color,
            seamless: self.seamless,
            detail: !self.no_detail,
        }
    }
}

/// How a reenactment places the driver's face on the target (DESIGN §2, "retarget").
#[derive(Debug, Args)]
pub struct RetargetFlags {
    /// Reenact: `auto` carries the driver's expression (against their neutral face from the
    /// first second and a half, or after the `c` key) onto the target's neutral face at its
    /// framing; `none` draws the driver's own landmarks in the driver's framing (the book's
    /// way). Default: auto when the model card has the target's neutral.
    #[arg(long, value_enum)]
    pub retarget: Option<RetargetMode>,
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
    #[arg(long, value_enum, default_value_t = Follow::Target)]
    pub follow: Follow,
}

impl Default for RetargetFlags {
    /// The flags' defaults, for callers that build a session without a command line.
    fn default() -> Self {
        RetargetFlags {
            retarget: None,
            calibration: None,
            expression_gain: 1.0,
            follow: Follow::default(),
        }
    }
}

/// What `live` and `bench` both need: the model, the driving video and how the path runs.
#[derive(Debug, Args)]
pub struct SessionFlags {
    #[command(flatten)]
    pub detection: DetectorFlag,
    /// The generator (ONNX, its card beside it).
    #[arg(long)]
    pub model: PathBuf,
    /// reenact (sketch → target) or swap (face → the other face); default: the model card's.
    #[arg(long, value_enum)]
    pub mode: Option<ModelKind>,
    #[command(flatten)]
    pub blend: BlendFlags,
    /// Use the tracker's landmarks as they are, without smoothing them over time.
    #[arg(long)]
    pub no_smooth: bool,
    #[command(flatten)]
    pub smoothing: SmoothFlags,
    #[command(flatten)]
    pub retargeting: RetargetFlags,
    /// Live | generated | sketch panels, or the generated frame alone.
    #[arg(long, value_enum, default_value_t = View::Panels)]
    pub view: View,
    /// Run the face detector on every N-th frame; landmarks follow the face in between.
    #[arg(long, default_value_t = 4)]
    pub detect_every: u32,
    /// Which face drives, by size: 0 the largest, 1 the next, and so on.
    #[arg(long, default_value_t = 0)]
    pub face_index: usize,
    /// Where the generator runs.
    #[arg(long, value_enum, default_value_t = DevicePreference::Auto)]
    pub device: DevicePreference,
    /// Run the model's graph as the file has it, without mimic's exact rewrites (to compare).
    #[arg(long)]
    pub as_is: bool,
    /// Track each frame and then generate it, on one thread, instead of tracking the next
    /// frame while this one is generated (to compare).
    #[arg(long)]
    pub serial: bool,
}

impl SessionFlags {
    /// The flags' defaults for `model`, as a command line naming only `--model` gives them.
    pub fn defaults(model: PathBuf) -> SessionFlags {
        SessionFlags {
            detection: DetectorFlag {
                detector: DetectorKind::default(),
            },
            model,
            mode: None,
            blend: BlendFlags::default(),
            no_smooth: false,
            smoothing: SmoothFlags::default(),
            retargeting: RetargetFlags::default(),
            view: View::Panels,
            detect_every: 4,
            face_index: 0,
            device: DevicePreference::Auto,
            as_is: false,
            serial: false,
        }
    }
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
    #[arg(long, value_enum, default_value_t = View::Output)]
    pub output_view: View,
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
    /// Replace the --record file if it exists (without it, an existing file is never written
    /// over).
    #[arg(long, requires = "record")]
    pub force: bool,
    /// The view recordings hold (default: the window's view when the recording starts); the
    /// window can change views while recording either way.
    #[arg(long, value_enum)]
    pub record_view: Option<View>,
    /// Run without a window (implied when there is no display). Keys in the window: q/Esc
    /// quit, r start/stop recording, v next view, l landmarks on the live panel, s save the
    /// frame as a PNG; in swap mode m next mask, k next colour match.
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
pub struct QuantizeArgs {
    /// The float generator (ONNX, its card beside it).
    pub model: PathBuf,
    /// Frames to calibrate on, run through the live path as a camera's would be: a video,
    /// an image folder, a dataset (`extract reenact`) or a face set (`extract faces`).
    #[arg(long)]
    pub calibration: PathBuf,
    /// Where the INT8 model goes (its card beside it); default MODEL.int8.onnx.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Frames with a face to use, spread over the source; the last fifth are held out to
    /// compare the INT8 model with its parent.
    #[arg(long, default_value_t = crate::commands::quantize::DEFAULT_FRAMES)]
    pub frames: usize,
    /// How activation ranges are chosen; default: both tried, the closer to the parent kept.
    #[arg(long, value_enum)]
    pub method: Option<Method>,
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
pub struct TrackArgs {
    #[command(flatten)]
    pub detection: DetectorFlag,
    /// A video file or a folder of images.
    pub video: PathBuf,
    /// Run the face detector on every N-th frame; landmarks follow the face in between.
    #[arg(long, default_value_t = 4)]
    pub detect_every: u32,
    /// Detect on the frame resized by this factor (landmarks always use the full frame).
    #[arg(long, default_value_t = 1.0)]
    pub detect_scale: f32,
    /// Which face to follow, by size: 0 the largest, 1 the next, and so on.
    #[arg(long, default_value_t = 0)]
    pub face_index: usize,
    /// Report the landmarks as the live loop smooths them (for reenactment), with the jitter
    /// before and after and the lag smoothing adds.
    #[arg(long)]
    pub smooth: bool,
    #[command(flatten)]
    pub smoothing: SmoothFlags,
    #[command(flatten)]
    pub json: JsonFlag,
}

/// How a reenactment places the driver's face on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RetargetMode {
    Auto,
    None,
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
    /// One-Euro cut-off at rest for the mouth, eyelids and chin, Hz (mimic's default 1.5):
    /// lower steadies a still expression more.
    #[arg(long)]
    pub min_cutoff: Option<f32>,
    /// How fast that cut-off rises with speed, per inter-ocular distance per second (mimic's
    /// default 4): higher follows speech more closely.
    #[arg(long)]
    pub beta: Option<f32>,
}

impl SmoothFlags {
    /// The settings: these flags over the card's over mimic's defaults.
    pub fn settings(&self, card: Option<SmoothSettings>) -> SmoothSettings {
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

#[derive(Debug, Subcommand)]
pub enum ExtractCommand {
    /// Sketch/frame pairs of a target person for pix2pix reenactment.
    Reenact(ExtractReenactArgs),
    /// Aligned faces of one person (for the swap) from photos, videos and image folders.
    Faces(ExtractFacesArgs),
    /// Edge→photo or grey→colour pairs of any photos or videos, for `train pix2pix --pairs`.
    Pairs(ExtractPairsArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["edges", "gray"])))]
pub struct ExtractPairsArgs {
    /// Photos, videos or folders of them.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// The input of each pair is the picture's edge map (black lines on white).
    #[arg(long)]
    pub edges: bool,
    /// The input of each pair is the picture in grey (colourisation).
    #[arg(long)]
    pub gray: bool,
    /// Folder to write DIR/a (inputs) and DIR/b (targets) into.
    #[arg(long)]
    pub out: PathBuf,
    /// Side of every picture (each is cut to its centred square).
    #[arg(long, default_value_t = 256)]
    pub size: u32,
    /// At most this many frames of each video, evenly spaced.
    #[arg(long, default_value_t = 200)]
    pub frames_per_video: u64,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct ExtractFacesArgs {
    #[command(flatten)]
    pub detection: DetectorFlag,
    /// Photos, videos or folders of images.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Folder to write the face set into.
    #[arg(long)]
    pub out: PathBuf,
    /// A photo of the person to keep; without it a frame with several faces is skipped.
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Face-descriptor distance within which a face is the reference person.
    #[arg(long, default_value_t = DEFAULT_IDENTITY_THRESHOLD)]
    pub threshold: f32,
    /// Side of each aligned face in pixels.
    #[arg(long, default_value_t = 256)]
    pub size: u32,
    /// Margin around the mean-face template, as a fraction of the side.
    #[arg(long, default_value_t = 0.2)]
    pub padding: f32,
    /// Take every N-th frame of a video.
    #[arg(long, default_value_t = 1)]
    pub every: u64,
    /// Only these frames of each video, START..END (END excluded) or START.. (to keep a
    /// clip's end out of training and judge the model there: `eval swap --frames`).
    #[arg(long)]
    pub frames: Option<String>,
    /// Times each frame is doubled before detection. MTCNN's smallest face is 40 pixels
    /// (halved for each), HOG's about 80: smaller faces make poor training pictures, and at
    /// 20 pixels MTCNN took a blurred sleeve in obama.jpg for a face.
    #[arg(long, default_value_t = 0)]
    pub upsample: u32,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct ExtractReenactArgs {
    #[command(flatten)]
    pub detection: DetectorFlag,
    /// Video of the target person (MP4, MOV, MKV, AVI, GIF or a folder of images).
    pub video: PathBuf,
    /// Folder to write the dataset into.
    #[arg(long)]
    pub out: PathBuf,
    /// Side of each frame and sketch in pixels.
    #[arg(long, default_value_t = 256)]
    pub size: u32,
    /// Share of pairs held out for evaluation, taken from the end of the video.
    #[arg(long, default_value_t = 0.1)]
    pub holdout: f32,
    /// Times each frame is doubled before detection (talking-head faces are large: 0).
    #[arg(long, default_value_t = 0)]
    pub upsample: u32,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    pub json: bool,
}

/// Which face detector finds faces (and, in a video, finds them again).
#[derive(Debug, Args)]
pub struct DetectorFlag {
    /// mtcnn (the book's three-network cascade, with five points: finds the most faces at
    /// the live loop's cost), hog (dlib's; frontal faces) or cnn (dlib's MMOD CNN: seconds a
    /// photo on a CPU); README "Face detectors, measured".
    #[arg(long, value_enum, default_value_t = DetectorKind::default())]
    pub detector: DetectorKind,
}

/// Detection on photos, where time matters less than finding every face.
#[derive(Debug, Args)]
pub struct DetectionFlags {
    /// hog (dlib's, with --upsample 1: finds every annotated face in testdata), mtcnn (the
    /// book's cascade, with five points; 7 times faster, missed one face of 44) or cnn
    /// (dlib's MMOD CNN); README "Face detectors, measured".
    #[arg(long, value_enum, default_value_t = DetectorKind::Hog)]
    pub detector: DetectorKind,
    /// Times the image is doubled before detection (finds faces below ~80 px).
    #[arg(long, default_value_t = 1)]
    pub upsample: u32,
    /// Detect on the image resized by this factor (below 1 is faster).
    #[arg(long, default_value_t = 1.0)]
    pub detect_scale: f32,
}

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// Images to analyse (PNG, JPEG, BMP, GIF).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    #[command(flatten)]
    pub detection: DetectionFlags,
    /// Write a copy of the image with boxes and landmarks drawn (with several images,
    /// OUT-1.png, OUT-2.png, …).
    #[arg(long, value_name = "OUT.png")]
    pub annotate: Option<PathBuf>,
    #[command(flatten)]
    pub json: JsonFlag,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder to write demo.mp4 into.
    #[arg(long, default_value = "demo-output")]
    pub out: PathBuf,
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
