//! One file per command: each turns parsed flags into calls on the library and a report.

pub mod bench;
pub mod calibrate;
pub mod demo;
pub mod detect;
pub mod devices;
pub mod doctor;
pub mod eval;
pub mod extract;
pub mod live;
pub mod quantize;
pub mod source;
pub mod track;
pub mod train;

use mimic::face::smooth::SmoothSettings;
use mimic::face::{DetectOptions, FaceAnalyzer};
use mimic::infer::{Generator, Graph, Loading, ModelKind};
use mimic::output::compose::Composer;
use mimic::output::stream::{LiveOutput, OutputReport};
use mimic::pipeline::{Processor, Reenactor, Retargeting, Session, Stylizer, Swapper, Target};
use mimic::reenact::calibrate::Profile;
use mimic::video::{Destination, StreamOptions};

use crate::cli::RetargetMode;
use mimic::face::track::{FaceTracker, TrackOptions};

/// The live outputs `flags` ask for, open (an address that cannot be opened is an error
/// before any frame), carrying their view of `session` for a source of this size and rate.
pub fn open_outputs(
    flags: &crate::cli::OutputFlags,
    session: &mut Session,
    (width, height): (u32, u32),
    fps: f64,
) -> anyhow::Result<Vec<LiveOutput>> {
    if flags.urls.is_empty() {
        return Ok(Vec::new());
    }
    session.stream_view(Some(flags.output_view));
    let (width, height) = session.streaming_size_for(width, height);
    let options = StreamOptions {
        width,
        height,
        fps,
        metadata: mimic::output::compose::synthetic_metadata(),
    };
    flags
        .urls
        .iter()
        .map(|url| {
            let destination = Destination::parse(url);
            if let Destination::Other(_) = destination {
                eprintln!("mimic: sending to {url} in the format FFmpeg guesses from it");
            }
            Ok(LiveOutput::open(destination, options.clone())?)
        })
        .collect()
}

/// The live outputs' reports, finished.
pub fn finish_outputs(outputs: Vec<LiveOutput>) -> Vec<OutputReport> {
    outputs.into_iter().map(LiveOutput::finish).collect()
}

/// Prints a value as one line of JSON on stdout.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// A flag that turns true on Ctrl-C (or SIGTERM), so long work can stop cleanly: finish the
/// step, save, export. A second Ctrl-C ends the process at once.
pub fn stop_flag() -> anyhow::Result<std::sync::Arc<std::sync::atomic::AtomicBool>> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let flag = std::sync::Arc::new(AtomicBool::new(false));
    let handler = flag.clone();
    ctrlc::set_handler(move || {
        if handler.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("mimic: stopping after this step (Ctrl-C again to quit at once)");
    })?;
    Ok(flag)
}

/// Retargeting for a reenactment of `model`: on by default when the card has the target's
/// neutral, against a calibration profile's neutral when one is given.
pub fn retargeting(
    flags: &crate::cli::RetargetFlags,
    generator: &Generator,
) -> anyhow::Result<Option<Retargeting>> {
    let profile = flags
        .calibration
        .as_deref()
        .map(Profile::load)
        .transpose()?;
    let neutral = generator.card().and_then(|c| c.neutral);
    let wanted = profile.is_some() || flags.retarget == Some(RetargetMode::Auto);
    let Some(target) = neutral else {
        if wanted {
            anyhow::bail!(
                "'{}' has no target neutral in its card (a model trained before retargeting): train it again with `mimic train pix2pix` on its dataset, which writes one (re-extract the dataset first with `mimic extract reenact` if it has no landmarks.json), or run it with --retarget none",
                generator.path().display()
            );
        }
        return Ok(None);
    };
    let retargeting = Retargeting::new(target, flags.expression_gain, flags.follow);
    Ok(match (profile, flags.retarget) {
        (Some(profile), _) => Some(retargeting.with_profile(profile.neutral)),
        (None, Some(RetargetMode::None)) => None,
        (None, _) => Some(retargeting),
    })
}

/// The face tracker of the face modes (detecting beside the frames when `background`).
pub fn face_tracker(
    flags: &crate::cli::SessionFlags,
    background: bool,
) -> anyhow::Result<FaceTracker> {
    let analyzer = FaceAnalyzer::new(DetectOptions {
        detector: flags.detection.detector,
        upsample: 0,
        ..Default::default()
    })?;
    let options = TrackOptions {
        detect_every: flags.detect_every,
        background,
        face_index: flags.face_index,
    };
    Ok(FaceTracker::new(analyzer, options)?)
}

/// The One-Euro settings for the session's landmarks (`None`: raw, with --no-smooth).
fn smoothing(flags: &crate::cli::SessionFlags, generator: &Generator) -> Option<SmoothSettings> {
    let card_smoothing = generator.card().and_then(|c| c.smoothing);
    (!flags.no_smooth).then(|| flags.smoothing.settings(card_smoothing))
}

/// The reenactment side of a session: smoothing and retargeting as the flags say.
pub fn reenactor(
    flags: &crate::cli::SessionFlags,
    generator: Generator,
) -> anyhow::Result<Reenactor> {
    let retargeting = retargeting(&flags.retargeting, &generator)?;
    let smoothing = smoothing(flags, &generator);
    Ok(Reenactor::new(
        Target::new(generator)?,
        smoothing,
        retargeting,
    ))
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
        ModelKind::Swap => format!(
            "faces aligned at DeepFaceLive's default coverage, {tensor}"
        ),
        ModelKind::Stylize => format!("the whole frame letterboxed, {tensor}"),
    }
}

/// Panels are at least this high, so small models still show at a readable size.
const MIN_PANEL: u32 = 256;

/// The session `live` and `bench` run: model, tracker (detecting beside the frames when
/// `background`), the processing side of the model's mode, composer, warmed up.
pub fn session(
    flags: &crate::cli::SessionFlags,
    mark: bool,
    background: bool,
) -> anyhow::Result<Session> {
    let model = &flags.model;
    let loading = Loading {
        graph: match flags.as_is {
            true => Graph::AsIs,
            false => Graph::Simplified,
        },
        // Beside the tracking thread, idle workers sleep (measured on this 2-core machine:
        // the same speed for a 128-px model, 13 → 20 fps for a 256-px one against one thread).
        spin: flags.serial,
    };
    let generator = Generator::open_as(model, flags.device, loading)?;
    let mode = flags.mode.unwrap_or(generator.kind());
    let cardless = generator.card().is_none();
    if cardless && mode != generator.kind() {
        // The user named the mode of a model that cannot say it itself: run it so, and say
        // with what.
        eprintln!(
            "mimic: '{}' has no card: running it in {} mode with defaults ({})",
            model.display(),
            format!("{mode:?}").to_lowercase(),
            cardless_defaults(mode, &generator)
        );
    } else if generator.kind() != mode {
        anyhow::bail!(
            "'{}' is a {:?} model, not a {mode:?} model: give --mode {} or a {mode:?} model (reenact: `mimic train pix2pix`; swap: `mimic train swap`)",
            model.display(),
            generator.kind(),
            format!("{:?}", generator.kind()).to_lowercase()
        );
    }
    if generator.takes_reference() && mode != ModelKind::Reenact {
        anyhow::bail!(
            "'{}' takes the target's reference picture beside its input: it is a reenactment model, and runs with its card beside it ({})",
            model.display(),
            mimic::infer::ModelCard::path_for(model).display()
        );
    }
    let panel = generator.output_size().max(MIN_PANEL);
    let composer = Composer::new(flags.view, panel, mark);
    let tracker = match mode {
        ModelKind::Reenact | ModelKind::Swap => Some(face_tracker(flags, background)?),
        ModelKind::Stylize => None,
    };
    let smoothing = smoothing(flags, &generator);
    let (processor, composer) = match mode {
        ModelKind::Reenact => (
            Processor::Reenact(Box::new(reenactor(flags, generator)?)),
            composer,
        ),
        ModelKind::Swap => (
            Processor::Swap(Box::new(Swapper::new(
                generator,
                flags.blend.options(),
                smoothing,
            )?)),
            composer.with_full_frame_output(),
        ),
        ModelKind::Stylize => (
            Processor::Stylize(Box::new(Stylizer::new(generator))),
            composer.with_full_frame_output(),
        ),
    };
    Ok(Session::new(tracker, processor, composer)?)
}
