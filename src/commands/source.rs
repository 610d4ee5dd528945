//! Where the live commands' frames come from: a camera, or a video file read frame by frame
//! or played at its own pace.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::bail;
use mimic::capture::{LiveSource, SourceInfo};
use mimic::frame::Frame;
use mimic::video::VideoReader;

use crate::cli::SourceFlags;

/// Where live frames come from: a file read frame by frame (nothing dropped), or a threaded
/// source (a camera, or a file at its own pace) whose late frames are dropped.
pub enum Frames {
    File(VideoReader, PathBuf),
    Live(LiveSource, Option<PathBuf>),
}

/// A threaded source that delivers nothing for this long has stopped.
const STALL: Duration = Duration::from_secs(5);

impl Frames {
    pub fn open(args: &SourceFlags) -> anyhow::Result<Frames> {
        Ok(match (&args.input, args.camera) {
            (Some(path), _) if args.realtime => {
                Frames::Live(LiveSource::paced_file(path)?, Some(path.clone()))
            }
            (Some(path), _) => Frames::File(VideoReader::open(path)?, path.clone()),
            (None, Some(index)) => {
                Frames::Live(LiveSource::camera(index, args.resolution, args.fps)?, None)
            }
            (None, None) => bail!("give --camera N or --input VIDEO"),
        })
    }

    pub fn info(&self) -> SourceInfo {
        match self {
            Frames::File(reader, _) => {
                let i = reader.info();
                SourceInfo {
                    width: i.width,
                    height: i.height,
                    fps: i.fps,
                }
            }
            Frames::Live(source, _) => source.info(),
        }
    }

    /// The file whose sound a recording should keep.
    pub fn audio(&self) -> Option<&Path> {
        match self {
            Frames::File(reader, path) => reader.info().has_audio.then_some(path.as_path()),
            Frames::Live(_, path) => path.as_deref(),
        }
    }

    pub fn next(&mut self) -> anyhow::Result<Option<Frame>> {
        match self {
            Frames::File(reader, _) => Ok(reader.next_frame()?),
            Frames::Live(source, _) => {
                let waited = Instant::now();
                loop {
                    if let Some(frame) = source.next_frame(Duration::from_millis(200)) {
                        return Ok(Some(frame));
                    }
                    if source.ended() {
                        return Ok(None);
                    }
                    if waited.elapsed() > STALL {
                        bail!(
                            "no frame arrived for {} s: the camera stopped delivering",
                            STALL.as_secs()
                        );
                    }
                }
            }
        }
    }

    pub fn dropped(&self) -> u64 {
        match self {
            Frames::File(..) => 0,
            Frames::Live(source, _) => source.dropped(),
        }
    }

    pub fn finish(self) -> anyhow::Result<()> {
        if let Frames::Live(source, _) = self {
            source.finish()?;
        }
        Ok(())
    }
}
