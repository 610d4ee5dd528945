//! `mimic live`: the live loop from a camera or a video into the window, a recording and the
//! live outputs, and the run's report.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use mimic::capture::Source;
use mimic::live::{Ending, Live, LiveReport, Stderr};
use serde::Serialize;

use crate::cli::LiveArgs;

#[derive(Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    run: &'a LiveReport,
    record: Option<&'a Path>,
    stopped_early: bool,
}

pub fn run(args: LiveArgs) -> anyhow::Result<ExitCode> {
    let config = args.config(super::window_wanted(args.headless));
    config.check()?;
    let source = Source::open(&args.source.spec()?)?;
    let (live_source, fps) = (source.is_live(), source.info().fps);
    let live = Live::open(source, config, super::stop_flag()?, &mut Stderr)?;
    let tracks_faces = live.session().tracker().is_some();
    let report = live.run(&mut Stderr)?;
    if args.json.json {
        super::print_json(&Report {
            run: &report,
            record: args.record.as_deref(),
            stopped_early: report.ending == Ending::Stopped,
        })?;
    } else {
        say(&report, tracks_faces, live_source, fps);
    }
    if let Ending::CameraLost(why) = &report.ending {
        let kept = match report.recordings.as_slice() {
            [] => String::new(),
            paths => format!(
                ", and what was recorded is finished and playable in {}",
                list(paths)
            ),
        };
        eprintln!(
            "mimic: {why}; the run ended after {} frames{kept}",
            report.frames
        );
        return Ok(ExitCode::from(crate::EXIT_ERROR));
    }
    match report.source_error {
        Some(error) => Err(error.into()),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// The run's summary for people.
fn say(report: &LiveReport, faces: bool, live_source: bool, fps: f64) {
    let failed = match report.failed_frames {
        0 => String::new(),
        n => format!(" ({n} failed and shown as they came)"),
    };
    let faces = match faces {
        true => format!(" ({} with a face)", report.frames_with_face),
        false => String::new(),
    };
    let recorded = match report.recordings.as_slice() {
        [] => String::new(),
        paths => format!("; recorded {}", list(paths)),
    };
    let sent: String = report
        .outputs
        .iter()
        .map(|o| format!("; sent {} to {} ({} dropped)", o.sent, o.url, o.dropped))
        .collect();
    println!(
        "{} frames{faces}{failed} at {:.1} fps on the {}{recorded}{sent}",
        report.frames, report.fps, report.device
    );
    // A camera's frames held up for more than a frame's time in all: the encoder could not
    // keep up with the capture (a file converted flat out may wait for it: nothing is late).
    let behind = report
        .record_waited_ms
        .filter(|&ms| live_source && ms * fps > 1000.0);
    if let Some(ms) = behind {
        eprintln!(
            "mimic: the recording fell behind: frames waited {ms:.0} ms in all for the encoder"
        );
    }
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
