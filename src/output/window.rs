//! The live window (minifb): shows each composite with an overlay of the loop's figures, and
//! turns key presses into controls. Without a display the live loop runs headless instead.
//! [`WindowThread`] runs it on a thread of its own, so drawing never slows the frame path.

use std::sync::mpsc::{
    channel, sync_channel, Receiver, RecvTimeoutError, Sender, SyncSender, TrySendError,
};
use std::thread::JoinHandle;
use std::time::Duration;

use minifb::{Key, KeyRepeat, Window, WindowOptions};

use super::font::{draw_text, fill_rect};
use super::Control;
use crate::frame::{copy_into, Rgb8};

#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    #[error(
        "cannot open a window: {0}; run with --headless, or under a desktop session or xvfb-run"
    )]
    Open(String),
    #[error("cannot draw to the window: {0}")]
    Update(String),
}

/// Whether a display is there to open a window on.
pub fn display_available() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()))
}

/// A window showing composites, with its pixel buffer allocated once per size.
pub struct LiveWindow {
    window: Window,
    screen: Rgb8,
    buffer: Vec<u32>,
}

impl LiveWindow {
    pub fn open(title: &str, width: u32, height: u32) -> Result<LiveWindow, WindowError> {
        let options = WindowOptions {
            resize: false,
            ..WindowOptions::default()
        };
        let window = Window::new(title, width as usize, height as usize, options)
            .map_err(|e| WindowError::Open(e.to_string()))?;
        Ok(LiveWindow {
            window,
            screen: Rgb8::new(width, height),
            buffer: vec![0; (width * height) as usize],
        })
    }

    /// Shows `composite` with `overlay` text in the top-left corner and returns the controls of
    /// the keys pressed since the last call.
    pub fn show(&mut self, composite: &Rgb8, overlay: &str) -> Result<Vec<Control>, WindowError> {
        if !self.window.is_open() {
            return Ok(vec![Control::Quit]);
        }
        let (w, h) = composite.dimensions();
        if self.screen.dimensions() != (w, h) {
            self.buffer = vec![0; (w * h) as usize];
        }
        copy_into(&mut self.screen, composite);
        let scale = (h / 240).max(1);
        let (tw, th) = crate::output::font::text_size(overlay, scale);
        fill_rect(
            &mut self.screen,
            0,
            0,
            tw + 4 * scale,
            th + 4 * scale,
            image::Rgb([0, 0, 0]),
        );
        draw_text(
            &mut self.screen,
            overlay,
            2 * scale,
            2 * scale,
            scale,
            image::Rgb([255, 255, 0]),
        );
        for (dst, p) in self.buffer.iter_mut().zip(self.screen.pixels()) {
            *dst = u32::from(p[0]) << 16 | u32::from(p[1]) << 8 | u32::from(p[2]);
        }
        self.window
            .update_with_buffer(&self.buffer, w as usize, h as usize)
            .map_err(|e| WindowError::Update(e.to_string()))?;
        Ok(self.controls())
    }

    /// Takes in the window's events without drawing anew, and returns the controls of the keys
    /// pressed since the last call.
    pub fn pump(&mut self) -> Vec<Control> {
        self.window.update();
        self.controls()
    }

    fn controls(&self) -> Vec<Control> {
        if !self.window.is_open() {
            return vec![Control::Quit];
        }
        self.window
            .get_keys_pressed(KeyRepeat::No)
            .into_iter()
            .filter_map(|key| match key {
                Key::Q | Key::Escape => Some(Control::Quit),
                Key::V => Some(Control::CycleView),
                Key::S => Some(Control::Snapshot),
                Key::L => Some(Control::ToggleLandmarks),
                Key::R => Some(Control::ToggleRecording),
                Key::M => Some(Control::CycleMask),
                Key::K => Some(Control::CycleColor),
                Key::P => Some(Control::ToggleSeamless),
                Key::D => Some(Control::ToggleDetail),
                Key::O => Some(Control::ToggleMouth),
                Key::I => Some(Control::ToggleOcclusion),
                Key::C => Some(Control::Recalibrate),
                _ => None,
            })
            .collect()
    }
}

/// How often a window with no new composite still takes in its events (keys, closing).
const PUMP: Duration = Duration::from_millis(30);

/// The live window on a thread of its own (DESIGN §2): the frame path hands it the newest
/// composite and goes on (a window being dragged, or slow to draw, skips composites and never
/// slows the frames), and takes back the controls of the keys pressed since.
pub struct WindowThread {
    composites: Option<SyncSender<(Rgb8, String)>>,
    /// Composites the window has drawn, handed back to be filled again.
    spares: Receiver<Rgb8>,
    controls: Receiver<Control>,
    worker: Option<JoinHandle<Result<(), WindowError>>>,
}

impl WindowThread {
    /// Opens the window (on its thread); an error is the window's own.
    pub fn open(title: &str, width: u32, height: u32) -> Result<WindowThread, WindowError> {
        let (composites, inbox) = sync_channel::<(Rgb8, String)>(1);
        let (keys, controls) = channel();
        let (spare, spares) = channel();
        let (opened_tx, opened) = sync_channel(1);
        let title = title.to_string();
        let worker = std::thread::Builder::new()
            .name("mimic-window".into())
            .spawn(move || match LiveWindow::open(&title, width, height) {
                Ok(window) => {
                    let _ = opened_tx.send(Ok(()));
                    draw(window, inbox, keys, spare)
                }
                Err(error) => {
                    let _ = opened_tx.send(Err(error));
                    Ok(())
                }
            })
            .map_err(|e| WindowError::Open(format!("cannot start the window's thread: {e}")))?;
        match opened.recv() {
            Ok(Ok(())) => Ok(WindowThread {
                composites: Some(composites),
                spares,
                controls,
                worker: Some(worker),
            }),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(WindowError::Open("the window's thread stopped".into())),
        }
    }

    /// Hands `composite` (with `overlay` text) to the window, unless it is still drawing the
    /// last one, and returns the controls of the keys pressed since the last call.
    pub fn show(&mut self, composite: &Rgb8, overlay: &str) -> Result<Vec<Control>, WindowError> {
        if let Some(composites) = &self.composites {
            let mut picture = self.spares.try_recv().unwrap_or_default();
            copy_into(&mut picture, composite);
            match composites.try_send((picture, overlay.to_string())) {
                Ok(()) | Err(TrySendError::Full(_)) => {}
                Err(TrySendError::Disconnected(_)) => return Err(self.stop()),
            }
        }
        Ok(self.controls.try_iter().collect())
    }

    /// The window's thread ended early: why.
    fn stop(&mut self) -> WindowError {
        self.composites.take();
        match self.worker.take().map(JoinHandle::join) {
            Some(Ok(Err(error))) => error,
            _ => WindowError::Update("the window's thread stopped".into()),
        }
    }
}

impl Drop for WindowThread {
    fn drop(&mut self) {
        self.composites.take();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

/// The window's thread: the newest composite drawn as it comes, events taken in between,
/// until the frame path lets go.
fn draw(
    mut window: LiveWindow,
    composites: Receiver<(Rgb8, String)>,
    keys: Sender<Control>,
    spare: Sender<Rgb8>,
) -> Result<(), WindowError> {
    loop {
        let controls = match composites.recv_timeout(PUMP) {
            Ok((composite, overlay)) => {
                let controls = window.show(&composite, &overlay)?;
                let _ = spare.send(composite);
                controls
            }
            Err(RecvTimeoutError::Timeout) => window.pump(),
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        for action in controls {
            if keys.send(action).is_err() {
                return Ok(());
            }
        }
    }
}
