//! `mimic calibrate`: the driver looks at the camera with a neutral face; after a countdown a
//! couple of seconds of their face become a calibration profile. The window shows a guide
//! ([`mimic::output::guide`]); without one, stderr says each phase.

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::{bail, Context};
use mimic::capture::Source;
use mimic::face::{DetectOptions, FaceAnalyzer};
use mimic::frame::Frame;
use mimic::output::guide::{guide, hint};
use mimic::output::window::LiveWindow;
use mimic::output::Control;
use mimic::reenact::calibrate::{self, Calibration, Camera, Phase, Profile};
use serde::Serialize;

use crate::cli::CalibrateArgs;

#[derive(Serialize)]
struct Report<'a> {
    out: &'a std::path::Path,
    frames: usize,
    pose: mimic::face::HeadPose,
    spread: f32,
}

/// A calibration under way: what watches it, and what it has taken.
struct Taking {
    analyzer: FaceAnalyzer,
    window: Option<LiveWindow>,
    calibration: Calibration,
    /// When the first frame used was taken, in the source's time.
    start: Option<f64>,
    /// The last phase said on stderr (headless).
    said: Option<String>,
}

const STOPPED: &str = "calibration stopped before it finished; nothing was written";

pub fn run(args: CalibrateArgs) -> anyhow::Result<ExitCode> {
    if args.out.exists() && !args.force {
        bail!(
            "'{}' already exists: give --force to replace it, or another --out",
            args.out.display()
        );
    }
    if args.seconds.is_nan() || args.seconds <= 0.0 {
        bail!("--seconds must be above 0");
    }
    let spec = args.source.spec()?;
    let mut source = Source::open(&spec)?;
    let info = source.info();
    let window = match super::window_wanted(args.headless) {
        true => Some(LiveWindow::open(
            "mimic calibrate",
            info.width,
            info.height,
        )?),
        false => {
            eprintln!("mimic: look at the camera with a relaxed, neutral face");
            None
        }
    };
    let mut taking = Taking {
        analyzer: FaceAnalyzer::new(DetectOptions {
            detector: args.detection.detector.into(),
            upsample: 0,
            ..Default::default()
        })?,
        window,
        calibration: Calibration::default(),
        start: None,
        said: None,
    };
    taking.take_all(&mut source, &args)?;
    source.finish()?;
    if taking.calibration.frames() == 0 {
        bail!(
            "the video ended before calibration began (it starts {} s in): give a smaller --from",
            args.from
        );
    }
    let camera = Camera {
        width: info.width,
        height: info.height,
        fps: info.fps,
    };
    let profile = taking.calibration.finish(spec.name(), camera)?;
    save(&args, &profile)?;
    report(&args, &profile)?;
    Ok(ExitCode::SUCCESS)
}

impl Taking {
    /// Frames until the neutral face is taken (or the source ends).
    fn take_all(&mut self, source: &mut Source, args: &CalibrateArgs) -> anyhow::Result<()> {
        // A camera gives the driver a few seconds to get ready; a video starts at once.
        let countdown = args
            .countdown
            .unwrap_or(match args.source.camera {
                Some(_) => 3.0,
                None => 0.0,
            })
            .max(0.0);
        let stop = super::stop_flag()?;
        while let Some(frame) = source.next_frame()?.frame()? {
            if stop.load(Ordering::Relaxed) {
                bail!(STOPPED);
            }
            let t = frame.t.as_secs_f64();
            if t < args.from {
                continue;
            }
            let elapsed = t - *self.start.get_or_insert(t);
            let Some(phase) = Phase::at(elapsed, countdown, args.seconds) else {
                break;
            };
            self.take(&frame, phase)?;
        }
        Ok(())
    }

    /// One frame of `phase`: its faces observed, and the guide shown or the phase said.
    fn take(&mut self, frame: &Frame, phase: Phase) -> anyhow::Result<()> {
        let faces = self
            .analyzer
            .faces(&frame.image)
            .with_context(|| format!("frame {}", frame.index))?;
        let sighting = match phase {
            Phase::Taking(_) => self.calibration.observe(&faces),
            Phase::Countdown(_) => calibrate::sight(&faces),
        };
        let Some(window) = &mut self.window else {
            let announcement = phase.announcement();
            if self.said.as_ref() != Some(&announcement) {
                eprintln!("mimic: {announcement}");
                self.said = Some(announcement);
            }
            return Ok(());
        };
        let shown = guide(&frame.image, &faces, sighting, phase);
        if window
            .show(&shown, hint(sighting))?
            .contains(&Control::Quit)
        {
            bail!(STOPPED);
        }
        Ok(())
    }
}

fn save(args: &CalibrateArgs, profile: &Profile) -> anyhow::Result<()> {
    if let Some(folder) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create the folder '{}'", folder.display()))?;
    }
    Ok(profile.save(&args.out)?)
}

fn report(args: &CalibrateArgs, profile: &Profile) -> anyhow::Result<()> {
    if args.json.json {
        return super::print_json(&Report {
            out: &args.out,
            frames: profile.frames,
            pose: profile.pose,
            spread: profile.spread,
        });
    }
    println!(
        "{}: neutral face from {} frames, head turned {:.0}° (yaw {:.0}°, pitch {:.0}°, roll {:.0}°), still to {:.3} eye distances; use it with `mimic live --calibration {}`",
        args.out.display(),
        profile.frames,
        profile.pose.largest(),
        profile.pose.yaw,
        profile.pose.pitch,
        profile.pose.roll,
        profile.spread,
        args.out.display()
    );
    Ok(())
}
