//! `mimic calibrate`: the driver looks at the camera with a neutral face; after a countdown a
//! couple of seconds of their face become a calibration profile. The window shows a guide (an
//! oval to sit in, the landmarks in green when the face is frontal) and the countdown.

use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::{bail, Context};
use image::Rgb;
use mimic::face::{DetectOptions, Face, FaceAnalyzer};
use mimic::frame::Rgb8;
use mimic::geometry::Point;
use mimic::output::font::{draw_text, fill_rect, text_size};
use mimic::output::window::{self, Action, LiveWindow};
use mimic::reenact::calibrate::{self, Calibration, Camera, Profile, Sighting};
use mimic::reenact::sketch::{draw_segment, draw_strokes};
use serde::Serialize;

use super::source::Frames;
use crate::cli::CalibrateArgs;

#[derive(Serialize)]
struct Report<'a> {
    out: &'a std::path::Path,
    frames: usize,
    pose: mimic::face::HeadPose,
    spread: f32,
}

/// Where a calibration is in its time line.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Seconds left before the neutral face is taken.
    Countdown(f64),
    /// The share of the neutral face taken so far.
    Taking(f64),
}

impl Phase {
    fn at(elapsed: f64, countdown: f64, seconds: f64) -> Option<Phase> {
        if elapsed < countdown {
            Some(Phase::Countdown(countdown - elapsed))
        } else if elapsed < countdown + seconds {
            Some(Phase::Taking((elapsed - countdown) / seconds))
        } else {
            None
        }
    }

    /// What stderr says when the phase changes (headless runs).
    fn announcement(self) -> String {
        match self {
            Phase::Countdown(left) => format!("{:.0}…", left.ceil()),
            Phase::Taking(_) => "hold still with a relaxed, neutral face…".into(),
        }
    }
}

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
    let mut source = Frames::open(&args.source)?;
    let info = source.info();
    let countdown = args
        .countdown
        .unwrap_or(if args.source.camera.is_some() {
            3.0
        } else {
            0.0
        })
        .max(0.0);
    let analyzer = FaceAnalyzer::new(DetectOptions {
        detector: args.detection.detector,
        upsample: 0,
        ..Default::default()
    })?;
    let mut window = if args.headless || !window::display_available() {
        None
    } else {
        Some(LiveWindow::open(
            "mimic calibrate",
            info.width,
            info.height,
        )?)
    };
    if window.is_none() {
        eprintln!("mimic: look at the camera with a relaxed, neutral face");
    }
    let stop = super::stop_flag()?;
    let mut calibration = Calibration::default();
    let (mut start, mut said) = (None, None);
    while let Some(frame) = source.next()?.frame()? {
        if stop.load(Ordering::Relaxed) {
            bail!("calibration stopped before it finished; nothing was written");
        }
        let t = frame.t.as_secs_f64();
        if t < args.from {
            continue;
        }
        let elapsed = t - *start.get_or_insert(t);
        let Some(phase) = Phase::at(elapsed, countdown, args.seconds) else {
            break;
        };
        let faces = analyzer
            .faces(&frame.image)
            .with_context(|| format!("frame {}", frame.index))?;
        let sighting = match phase {
            Phase::Taking(_) => calibration.observe(&faces),
            Phase::Countdown(_) => calibrate::sight(&faces),
        };
        match &mut window {
            Some(window) => {
                let guide = guide(&frame.image, &faces, sighting, phase);
                if window.show(&guide, hint(sighting))?.contains(&Action::Quit) {
                    bail!("calibration stopped before it finished; nothing was written");
                }
            }
            None => {
                let announcement = phase.announcement();
                if said.as_ref() != Some(&announcement) {
                    eprintln!("mimic: {announcement}");
                    said = Some(announcement);
                }
            }
        }
    }
    source.finish()?;
    let what = match (&args.source.input, args.source.camera) {
        (Some(path), _) => path.display().to_string(),
        (None, Some(index)) => format!("camera {index}"),
        (None, None) => String::new(),
    };
    let camera = Camera {
        width: info.width,
        height: info.height,
        fps: info.fps,
    };
    if calibration.frames() == 0 {
        bail!(
            "the video ended before calibration began (it starts {} s in): give a smaller --from",
            args.from
        );
    }
    let profile = calibration.finish(what, camera)?;
    if let Some(folder) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create the folder '{}'", folder.display()))?;
    }
    profile.save(&args.out)?;
    report(&args, &profile)?;
    Ok(ExitCode::SUCCESS)
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

/// The guide's line for what the frame shows.
fn hint(sighting: Sighting) -> &'static str {
    match sighting {
        Sighting::NoFace => "NO FACE: LOOK AT THE CAMERA",
        Sighting::SeveralFaces(_) => "SEVERAL FACES: ONLY YOU IN VIEW",
        Sighting::TurnedAway(_) => "TURN TO FACE THE CAMERA",
        Sighting::Frontal(_) => "GOOD: RELAXED NEUTRAL FACE",
    }
}

const GREEN: Rgb<u8> = Rgb([64, 230, 64]);
const AMBER: Rgb<u8> = Rgb([255, 170, 0]);
const WHITE: Rgb<u8> = Rgb([255, 255, 255]);

/// The frame with an oval to sit in, the faces' landmarks (green when frontal, amber
/// otherwise), and the countdown or the progress of the taking.
fn guide(frame: &Rgb8, faces: &[Face], sighting: Sighting, phase: Phase) -> Rgb8 {
    let mut canvas = frame.clone();
    let (w, h) = (canvas.width() as f32, canvas.height() as f32);
    let line = (h / 240.0).max(1.0);
    let colour = match sighting {
        Sighting::Frontal(_) => GREEN,
        _ => AMBER,
    };
    draw_oval(
        &mut canvas,
        Point::new(w / 2.0, h / 2.0),
        0.22 * h,
        0.32 * h,
        line,
        WHITE,
    );
    for face in faces {
        draw_strokes(&mut canvas, &face.landmarks, line, colour);
    }
    let scale = (h / 60.0).max(2.0) as u32;
    match phase {
        Phase::Countdown(left) => {
            let text = format!("{:.0}", left.ceil());
            // Above the oval, clear of the face.
            let (tw, th) = text_size(&text, scale);
            let x = (w as u32).saturating_sub(tw) / 2;
            let y = ((0.18 * h) as u32).saturating_sub(th) / 2;
            draw_text(&mut canvas, &text, x, y, scale, WHITE);
        }
        Phase::Taking(done) => {
            let (bar, y) = ((0.6 * w) as u32, (0.9 * h) as u32);
            let x = (w as u32 - bar) / 2;
            fill_rect(&mut canvas, x, y, bar, scale * 2, Rgb([40, 40, 40]));
            fill_rect(
                &mut canvas,
                x,
                y,
                (done * f64::from(bar)) as u32,
                scale * 2,
                colour,
            );
            let text = "HOLD STILL";
            let (tw, th) = text_size(text, scale / 2 + 1);
            let x = (w as u32).saturating_sub(tw) / 2;
            draw_text(
                &mut canvas,
                text,
                x,
                y.saturating_sub(th + scale),
                scale / 2 + 1,
                WHITE,
            );
        }
    }
    canvas
}

/// An ellipse outline of half-axes `rx`, `ry` around `centre`.
fn draw_oval(image: &mut Rgb8, centre: Point, rx: f32, ry: f32, width: f32, colour: Rgb<u8>) {
    const STEPS: usize = 72;
    let at = |i: usize| {
        let a = std::f32::consts::TAU * i as f32 / STEPS as f32;
        Point::new(centre.x + rx * a.cos(), centre.y + ry * a.sin())
    };
    for i in 0..STEPS {
        draw_segment(image, at(i), at(i + 1), width, colour);
    }
}
