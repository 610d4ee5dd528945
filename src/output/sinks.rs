//! Where the live loop's pictures go: the window, the recording and the live outputs (a
//! virtual camera, a network stream), each in its own view and on its own thread. The window's
//! composite serves every sink in its view; the others are composed once each from the panels.
//! The sinks also act on the controls that concern files (start or stop recording, save a
//! snapshot) and keep a recording safe whatever ends the run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::compose::{synthetic_metadata, Composer, Picture, View, SYNTHETIC_PNG_TEXT};
use super::recording::{Finished, Recording};
use super::stream::{LiveOutput, OutputReport};
use super::window::{WindowError, WindowThread};
use super::Control;
use crate::capture::SourceInfo;
use crate::files::FileError;
use crate::files::{continued_path, free_path};
use crate::frame::Rgb8;
use crate::video::{Destination, LocalOutput, StreamOptions, VideoError};

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error(transparent)]
    Video(#[from] VideoError),
    #[error(transparent)]
    Window(#[from] WindowError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error("'{0}' would send the pictures to another program's input: give a file, a device (v4l2:/dev/videoN) or a network address")]
    Pipe(String),
}

impl SinkOptions {
    /// What can be refused before anything is opened: a recording or a local output file
    /// that is already there (unless `replace`), an output into a pipe.
    pub fn check(&self) -> Result<(), SinkError> {
        if let Some(path) = &self.record {
            crate::files::refuse_existing(path, self.replace)?;
        }
        for url in &self.outputs {
            match Destination::parse(url).local() {
                Some(LocalOutput::Pipe) => return Err(SinkError::Pipe(url.clone())),
                Some(LocalOutput::File(path)) => {
                    crate::files::refuse_existing(&path, self.replace)?
                }
                None => {}
            }
        }
        Ok(())
    }
}

/// Which sinks to open, and in what views.
#[derive(Debug, Clone, Default)]
pub struct SinkOptions {
    /// A window with this title (`None`: headless).
    pub window: Option<String>,
    /// A recording of the whole run.
    pub record: Option<PathBuf>,
    /// Replace the recording's file, or a live output's local file, when it is already there
    /// (without it, an existing file is never written over).
    pub replace: bool,
    /// The view recordings hold (default: the window's when each starts).
    pub record_view: Option<View>,
    /// Live output addresses (`v4l2:/dev/videoN`, `udp://…`, any FFmpeg URL).
    pub outputs: Vec<String>,
    pub output_view: View,
    /// Where snapshots (`s`) and recordings started with `r` go (default: the working folder).
    pub folder: PathBuf,
}

/// What one delivered frame cost and asked for.
#[derive(Debug, Default)]
pub struct Delivered {
    /// Composing (in another view) and handing the picture to the recorder.
    pub record: Option<Duration>,
    /// What the user asked for in the window since the last frame.
    pub controls: Vec<Control>,
}

/// What the sinks did over the run.
#[derive(Debug, Default)]
pub struct SinksReport {
    /// Every recording finished, in order.
    pub recordings: Vec<Finished>,
    pub outputs: Vec<OutputReport>,
}

/// The open sinks.
pub struct Sinks {
    options: SinkOptions,
    /// The session's composer: the panel size and mark every sink's view is composed with.
    template: Composer,
    info: SourceInfo,
    /// The window's view at the last frame: a recording started without a view of its own
    /// takes it.
    view: View,
    window: Option<WindowThread>,
    recording: Option<Recording>,
    finished: Vec<Finished>,
    outputs: Vec<LiveOutput>,
    output_composer: Composer,
    /// Outputs ended when a camera came back at another size.
    ended_outputs: Vec<OutputReport>,
}

impl Sinks {
    /// Opens the live outputs, then the recording (with the sound of `audio`), then the
    /// window, for frames of a source like `info` composed like `template`. An address or a
    /// file that cannot be opened is an error here, before any frame; `say` hears what
    /// people should know.
    pub fn open(
        options: SinkOptions,
        template: &Composer,
        info: SourceInfo,
        audio: Option<&Path>,
        say: &mut dyn FnMut(String),
    ) -> Result<Sinks, SinkError> {
        let mut sinks = Sinks {
            output_composer: template.for_view(options.output_view),
            template: template.for_view(template.view()),
            info,
            view: template.view(),
            window: None,
            recording: None,
            finished: Vec::new(),
            outputs: Vec::new(),
            ended_outputs: Vec::new(),
            options,
        };
        sinks.outputs = sinks.open_outputs(say)?;
        if let Some(path) = sinks.options.record.clone() {
            let view = sinks.options.record_view.unwrap_or(template.view());
            sinks.recording = Some(sinks.start_recording(&path, view, audio, 0)?);
        }
        if let Some(title) = &sinks.options.window {
            let (width, height) = template.size_for(info.width, info.height);
            sinks.window = Some(WindowThread::open(title, width, height)?);
        }
        Ok(sinks)
    }

    fn open_outputs(&self, say: &mut dyn FnMut(String)) -> Result<Vec<LiveOutput>, SinkError> {
        let (width, height) = self
            .output_composer
            .size_for(self.info.width, self.info.height);
        let options = StreamOptions {
            width,
            height,
            fps: self.info.fps,
            metadata: synthetic_metadata(),
        };
        let mut open = |url: &String| {
            let destination = Destination::parse(url);
            if let Destination::Other(_) = destination {
                say(format!(
                    "sending to {url} in the format FFmpeg guesses from it"
                ));
            }
            LiveOutput::open(destination, options.clone())
        };
        let mut outputs = Vec::with_capacity(self.options.outputs.len());
        for url in &self.options.outputs {
            outputs.push(open(url)?);
        }
        Ok(outputs)
    }

    fn start_recording(
        &self,
        path: &Path,
        view: View,
        audio: Option<&Path>,
        first_slot: u64,
    ) -> Result<Recording, SinkError> {
        let recording = Recording::start(path, &self.template, view, self.info, audio, first_slot)?;
        Ok(recording)
    }

    /// Whether a window shows the frames.
    pub fn has_window(&self) -> bool {
        self.window.is_some()
    }

    /// Records, streams and shows one frame (the window with `overlay` text).
    pub fn deliver(&mut self, picture: &Picture, overlay: &str) -> Result<Delivered, SinkError> {
        self.view = picture.view;
        let record = match &mut self.recording {
            Some(recording) => Some(recording.record(picture)?),
            None => None,
        };
        self.stream(picture);
        let controls = match &mut self.window {
            Some(window) => window.show(picture.composite, overlay)?,
            None => Vec::new(),
        };
        Ok(Delivered { record, controls })
    }

    /// Hands the live outputs their view of `picture`: the recording's picture when they
    /// share its view, else the window's or one composed for them.
    fn stream(&mut self, picture: &Picture) {
        if self.outputs.is_empty() {
            return;
        }
        let image = match &self.recording {
            Some(r) if r.view() == self.output_composer.view() => r.last(picture),
            _ => picture.composed_by(&mut self.output_composer),
        };
        for output in &mut self.outputs {
            output.send(image, picture.t);
        }
    }

    /// Acts on the controls that concern files, during frame `index` showing `composite`;
    /// what was done, for people.
    pub fn act(
        &mut self,
        control: Control,
        index: u64,
        composite: &Rgb8,
    ) -> Result<Option<String>, SinkError> {
        match control {
            Control::ToggleRecording => self.toggle_recording(index).map(Some),
            Control::Snapshot => {
                let path = free_path(
                    &self
                        .options
                        .folder
                        .join(format!("mimic-frame-{index:06}.png")),
                );
                crate::frame::save_png_with_text(composite, &path, &SYNTHETIC_PNG_TEXT)?;
                Ok(Some(format!("saved {}", path.display())))
            }
            _ => Ok(None),
        }
    }

    /// `r`: stops the recording in progress, or starts one beside the working folder.
    fn toggle_recording(&mut self, index: u64) -> Result<String, SinkError> {
        if let Some(stopped) = self.recording.take() {
            let finished = stopped.finish()?;
            let said = format!("recording saved to {}", finished.path.display());
            self.finished.push(finished);
            return Ok(said);
        }
        // A recording started mid-run has no sound: the source's would start from its
        // beginning, out of step. An earlier run's recording is never replaced.
        let path = free_path(
            &self
                .options
                .folder
                .join(format!("mimic-recording-{index:06}.mp4")),
        );
        let view = self.options.record_view.unwrap_or(self.view);
        self.recording = Some(self.start_recording(&path, view, None, index + 1)?);
        Ok(format!("recording to {}", path.display()))
    }

    /// The camera was lost: the recording in progress is finished, safe whatever happens
    /// next; what it holds.
    pub fn break_recording(&mut self) -> Result<Option<Finished>, SinkError> {
        let Some(recording) = self.recording.take() else {
            return Ok(None);
        };
        let finished = recording.finish()?;
        self.finished.push(finished.clone());
        Ok(Some(finished))
    }

    /// The camera is back, delivering frames like `info`: live outputs start again at a new
    /// size, and a recording broken by the loss goes on in a new file beside it (without
    /// sound: a camera has none). Where it goes on.
    pub fn resume(
        &mut self,
        info: SourceInfo,
        broken: Option<&Path>,
        say: &mut dyn FnMut(String),
    ) -> Result<Option<PathBuf>, SinkError> {
        let before = std::mem::replace(&mut self.info, info);
        if (before.width, before.height) != (info.width, info.height) {
            let old = std::mem::take(&mut self.outputs);
            self.ended_outputs
                .extend(old.into_iter().map(LiveOutput::finish));
            self.outputs = self.open_outputs(say)?;
        }
        let Some(broken) = broken else {
            return Ok(None);
        };
        let path = continued_path(broken);
        let view = self.options.record_view.unwrap_or(self.view);
        self.recording = Some(self.start_recording(&path, view, None, 0)?);
        Ok(Some(path))
    }

    /// Shows `picture` under `overlay` while the loop waits (a lost camera); whether the user
    /// asked to quit.
    pub fn show_waiting(&mut self, picture: &Rgb8, overlay: &str) -> Result<bool, SinkError> {
        match &mut self.window {
            Some(window) => Ok(window.show(picture, overlay)?.contains(&Control::Quit)),
            None => Ok(false),
        }
    }

    /// After the run failed: the recording in progress, finished and kept under a name that
    /// says it is not whole.
    pub fn keep_partial(&mut self) -> Option<Result<Finished, VideoError>> {
        self.recording.take().map(Recording::finish_partial)
    }

    /// Finishes the recording and the live outputs.
    pub fn finish(mut self) -> Result<SinksReport, SinkError> {
        if let Some(recording) = self.recording.take() {
            self.finished.push(recording.finish()?);
        }
        let outputs = std::mem::take(&mut self.outputs);
        let mut ended = std::mem::take(&mut self.ended_outputs);
        ended.extend(outputs.into_iter().map(LiveOutput::finish));
        Ok(SinksReport {
            recordings: std::mem::take(&mut self.finished),
            outputs: ended,
        })
    }
}
