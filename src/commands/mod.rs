//! One file per command: each turns parsed flags into calls on the library and a report.

pub mod bench;
pub mod demo;
pub mod detect;
pub mod devices;
pub mod doctor;
pub mod eval;
pub mod extract;
pub mod live;
pub mod track;
pub mod train;

use mimic::compose::Composer;
use mimic::face::{DetectOptions, FaceAnalyzer};
use mimic::infer::{Generator, ModelKind};
use mimic::pipeline::{Processor, Reenactor, Retargeting, Session, Stylizer, Swapper};

use crate::cli::RetargetMode;
use mimic::track::{FaceTracker, TrackOptions};

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

/// Retargeting for a reenactment: on by default when the card has the target's neutral.
fn retargeting(
    flags: &crate::cli::SessionFlags,
    generator: &Generator,
) -> anyhow::Result<Option<Retargeting>> {
    let neutral = generator.card().and_then(|c| c.neutral);
    match (flags.retarget, neutral) {
        (Some(RetargetMode::None), _) | (None, None) => Ok(None),
        (_, Some(target)) => Ok(Some(Retargeting::new(target, flags.expression_gain))),
        (Some(RetargetMode::Auto), None) => anyhow::bail!(
            "'{}' has no target neutral in its card (models trained before retargeting): train it again with `mimic train pix2pix`, which writes one from its dataset, or run it with --retarget none",
            flags.model.display()
        ),
    }
}

/// The face tracker of the face modes (detecting beside the frames when `background`).
fn face_tracker(flags: &crate::cli::SessionFlags, background: bool) -> anyhow::Result<FaceTracker> {
    let analyzer = FaceAnalyzer::new(DetectOptions {
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
    let generator = Generator::open(model, flags.device)?;
    let mode = flags.mode.unwrap_or(generator.kind());
    if generator.kind() != mode {
        anyhow::bail!(
            "'{}' is a {:?} model, not a {mode:?} model: give --mode {} or a {mode:?} model (reenact: `mimic train pix2pix`; swap: `mimic train swap`)",
            model.display(),
            generator.kind(),
            format!("{:?}", generator.kind()).to_lowercase()
        );
    }
    let panel = generator.output_size().max(MIN_PANEL);
    let composer = Composer::new(flags.view, panel, mark);
    let tracker = || face_tracker(flags, background);
    let card_smoothing = generator.card().and_then(|c| c.smoothing);
    let smoothing = (!flags.no_smooth).then(|| flags.smoothing.settings(card_smoothing));
    let retargeting = retargeting(flags, &generator)?;
    let (processor, composer) = match mode {
        ModelKind::Reenact => (
            Processor::Reenact(Box::new(Reenactor::new(
                tracker()?,
                generator,
                smoothing,
                retargeting,
            ))),
            composer,
        ),
        ModelKind::Swap => (
            Processor::Swap(Box::new(Swapper::new(
                tracker()?,
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
    Ok(Session::new(processor, composer)?)
}
