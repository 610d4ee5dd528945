//! A recording of the live loop: the composites in one view, tagged as synthetic, written at
//! the capture's rate. Frames the loop dropped before a processed one are filled with it, so
//! the recording keeps the capture's pace and its sound stays in step.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::compose::{synthetic_metadata, Composer, Picture, View};
use crate::capture::SourceInfo;
use crate::frame::Rgb8;
use crate::video::{Recorder, VideoError, WriterOptions};

/// A recording in progress.
pub struct Recording {
    writer: Recorder,
    /// The view it holds, composed apart when the window's composite does not serve.
    composer: Composer,
    /// The source frame slot the next picture fills.
    next_slot: u64,
}

/// A recording finished: where, how many frames, and how long they waited for the encoder.
#[derive(Debug, Clone)]
pub struct Finished {
    pub path: PathBuf,
    pub waited: Duration,
    pub frames: u64,
}

impl Recording {
    /// A new recording at `path` composed like `template` in `view`, of frames from a source
    /// like `info`, with the sound of `audio` when given; its first picture fills slot
    /// `first_slot`.
    pub fn start(
        path: &Path,
        template: &Composer,
        view: View,
        info: SourceInfo,
        audio: Option<&Path>,
        first_slot: u64,
    ) -> Result<Recording, VideoError> {
        let composer = template.for_view(view);
        let (width, height) = composer.size_for(info.width, info.height);
        let options = WriterOptions {
            width,
            height,
            fps: info.fps,
            audio_from: audio.map(Path::to_path_buf),
            metadata: synthetic_metadata(),
        };
        Ok(Recording {
            writer: Recorder::create(path, options)?,
            composer,
            next_slot: first_slot,
        })
    }

    pub fn path(&self) -> &Path {
        self.writer.path()
    }

    pub fn view(&self) -> View {
        self.composer.view()
    }

    /// Records `picture` in this recording's view, for its source frame's slot (and for every
    /// slot skipped before it); how long composing and handing it over took.
    pub fn record(&mut self, picture: &Picture) -> Result<Duration, VideoError> {
        let started = Instant::now();
        let image = picture.composed_by(&mut self.composer);
        let index = picture.index;
        let copies = (index + 1).saturating_sub(self.next_slot).max(1);
        for _ in 0..copies {
            self.writer.write(image)?;
        }
        self.next_slot = self.next_slot.max(index + 1);
        Ok(started.elapsed())
    }

    /// What the last [`Self::record`] of `picture` wrote.
    pub fn last<'a>(&'a self, picture: &Picture<'a>) -> &'a Rgb8 {
        picture.as_composed(&self.composer)
    }

    /// Finishes the file.
    pub fn finish(self) -> Result<Finished, VideoError> {
        let path = self.writer.path().to_path_buf();
        let waited = self.writer.waited();
        let frames = self.writer.finish()?.frames;
        Ok(Finished {
            path,
            waited,
            frames,
        })
    }

    /// Finishes the file after the run failed, under a name that says it is not whole.
    pub fn finish_partial(self) -> Result<Finished, VideoError> {
        let waited = self.writer.waited();
        let (path, summary) = self.writer.finish_partial()?;
        Ok(Finished {
            path,
            waited,
            frames: summary.frames,
        })
    }
}
