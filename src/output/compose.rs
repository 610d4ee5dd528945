//! Composing what the user sees and what gets recorded: the book's three panels (live |
//! generated | sketch) or the generated frame alone, with the visible "SYNTHETIC" mark.
//!
//! The canvas is allocated once and reused frame to frame; it is only rebuilt when the
//! input's size changes.

use image::Rgb;
use serde::Serialize;

use crate::face::Landmarks;
use crate::frame::resize::scale_into;
use crate::frame::Rgb8;
use crate::geometry::{FaceBox, Point};
use crate::output::font::{draw_text, fill_rect, text_size};
use crate::reenact::sketch::draw_strokes;

/// The words of the visible mark every synthetic frame carries by default.
pub const MARK_TEXT: &str = "SYNTHETIC";

/// The container tag every recording carries, with or without the visible mark.
pub const SYNTHETIC_TAG: &str =
    "synthetic media: made with mimic (face reenactment); not a real recording";

/// The text chunks a picture of synthetic media is saved with (a snapshot, a preview of
/// generated faces): PNG's own keywords for a comment and a description.
pub const SYNTHETIC_PNG_TEXT: [(&str, &str); 2] =
    [("Comment", SYNTHETIC_TAG), ("Description", SYNTHETIC_TAG)];

/// The metadata pairs a recording is written with (MP4 keeps `comment` and `description`).
pub fn synthetic_metadata() -> Vec<(String, String)> {
    ["comment", "description"]
        .map(|key| (key.to_string(), SYNTHETIC_TAG.to_string()))
        .to_vec()
}

/// What the window shows and the recording holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// Live frame | generated frame | sketch, side by side.
    #[default]
    Panels,
    /// The generated frame alone.
    Output,
}

impl View {
    pub fn next(self) -> View {
        match self {
            View::Panels => View::Output,
            View::Output => View::Panels,
        }
    }
}

/// The pictures a composite is made of: the live frame, and the generated picture and the
/// sketch (or aligned face) beside it, when the frame showed what the mode needs.
#[derive(Debug, Clone, Copy)]
pub struct Panels<'a> {
    pub live: &'a Rgb8,
    pub generated: Option<&'a Rgb8>,
    pub sketch: Option<&'a Rgb8>,
}

/// A face in the live frame and what the window calls it (whom it is swapped into).
#[derive(Debug, Clone, Copy)]
pub struct Label<'a> {
    /// Where the face is, in the live frame's pixels.
    pub bounds: FaceBox,
    pub text: &'a str,
    /// Which of the session's faces it is: its colour, the same in the live panel's box and
    /// around its generated face in the [`gallery`].
    pub role: usize,
}

/// What the window draws over the live panel: the driver's landmarks (when switched on) and
/// a box and a name on each face (when the session follows several, or named people).
#[derive(Debug, Clone, Copy, Default)]
pub struct Overlay<'a> {
    pub landmarks: Option<&'a Landmarks>,
    pub labels: &'a [Label<'a>],
}

/// The colours of the faces' boxes and names, by role.
const LABEL_COLOURS: [Rgb<u8>; 4] = [
    Rgb([255, 196, 0]),
    Rgb([0, 200, 255]),
    Rgb([255, 80, 160]),
    Rgb([120, 255, 80]),
];

/// One composed frame on its way out: the window's composite, in its view, and the panels it
/// was made of, so that a recording or an output in another view composes its own.
#[derive(Debug, Clone, Copy)]
pub struct Picture<'a> {
    /// The source frame's index and time.
    pub index: u64,
    pub t: std::time::Duration,
    pub composite: &'a Rgb8,
    pub view: View,
    /// Whether the composite carries the window's overlay (a recording never does).
    pub overlaid: bool,
    pub panels: Panels<'a>,
}

impl<'a> Picture<'a> {
    /// This picture as `composer` composes it: the composite itself where it serves (same
    /// view, no overlay), else composed anew in the composer's canvas.
    pub fn composed_by<'b>(&self, composer: &'b mut Composer) -> &'b Rgb8
    where
        'a: 'b,
    {
        if composer.view() == self.view && !self.overlaid {
            return self.composite;
        }
        let p = self.panels;
        composer.compose(p.live, p.generated, p.sketch, Overlay::default())
    }

    /// What [`Self::composed_by`] last gave for `composer`.
    pub fn as_composed<'b>(&self, composer: &'b Composer) -> &'b Rgb8
    where
        'a: 'b,
    {
        match composer.view() == self.view && !self.overlaid {
            true => self.composite,
            false => composer.canvas(),
        }
    }
}

/// Builds composite frames into one reused canvas.
pub struct Composer {
    view: View,
    height: u32,
    mark: bool,
    landmarks: bool,
    /// The output is a whole frame (face swap) rather than a square (reenactment).
    full_frame: bool,
    canvas: Rgb8,
}

impl Composer {
    /// Panels `height` pixels high (rounded up to even, as H.264 needs).
    pub fn new(view: View, height: u32, mark: bool) -> Composer {
        Composer {
            view,
            height: height.max(16).next_multiple_of(2),
            mark,
            landmarks: false,
            full_frame: false,
            canvas: Rgb8::new(0, 0),
        }
    }

    /// The output panel as wide as the live one: the swapped frame rather than a square.
    pub fn with_full_frame_output(mut self) -> Composer {
        self.full_frame = true;
        self
    }

    pub fn view(&self) -> View {
        self.view
    }

    /// A composer like this one (panel size, mark) for another view, without the overlay.
    pub fn for_view(&self, view: View) -> Composer {
        Composer {
            full_frame: self.full_frame,
            ..Composer::new(view, self.height, self.mark)
        }
    }

    /// Whether the landmarks overlay is on.
    pub fn shows_landmarks(&self) -> bool {
        self.landmarks
    }

    pub fn set_view(&mut self, view: View) {
        self.view = view;
    }

    /// Shows or hides the driver's landmarks on the live panel.
    pub fn toggle_landmarks(&mut self) {
        self.landmarks = !self.landmarks;
    }

    /// The last composite.
    pub fn canvas(&self) -> &Rgb8 {
        &self.canvas
    }

    /// The size the composite of a `live` frame of this size will have.
    pub fn size_for(&self, live_width: u32, live_height: u32) -> (u32, u32) {
        if self.full_frame && self.view == View::Output {
            return full_size(live_width, live_height);
        }
        let h = self.height;
        let lw = self.live_width(live_width, live_height);
        let output = if self.full_frame { lw } else { h };
        match self.view {
            View::Panels => (lw + output + h, h),
            View::Output => (output, h),
        }
    }

    fn live_width(&self, w: u32, h: u32) -> u32 {
        ((w as f32 * self.height as f32 / h.max(1) as f32).round() as u32).next_multiple_of(2)
    }

    /// Whether composing with `overlay` draws over the live panel.
    pub fn overlays(&self, overlay: &Overlay<'_>) -> bool {
        self.view == View::Panels
            && ((self.landmarks && overlay.landmarks.is_some()) || !overlay.labels.is_empty())
    }

    /// The composite for one frame; `generated` and `sketch` are `None` when no face was found.
    /// The overlay (in `live`'s pixels) is drawn on the live panel: the landmarks when
    /// switched on, the labels always.
    pub fn compose(
        &mut self,
        live: &Rgb8,
        generated: Option<&Rgb8>,
        sketch: Option<&Rgb8>,
        overlay: Overlay<'_>,
    ) -> &Rgb8 {
        let (w, h) = self.size_for(live.width(), live.height());
        if self.canvas.dimensions() != (w, h) {
            self.canvas = Rgb8::new(w, h);
        }
        let side = self.height;
        match self.view {
            View::Panels => {
                let lw = self.live_width(live.width(), live.height());
                scale_into(&mut self.canvas, live, (0, 0), (lw, side));
                let k = side as f32 / live.height().max(1) as f32;
                if let Some(points) = overlay.landmarks.filter(|_| self.landmarks) {
                    let scaled =
                        points.map(|p| Point::new((p.x + 0.5) * k - 0.5, (p.y + 0.5) * k - 0.5));
                    draw_strokes(&mut self.canvas, &scaled, 1.5, Rgb([64, 255, 64]));
                }
                for label in overlay.labels {
                    let colour = role_colour(label.role);
                    draw_label(&mut self.canvas, label, k, (lw, side), colour);
                }
                let output = if self.full_frame { lw } else { side };
                paste_or_no_face(&mut self.canvas, generated, lw, output, side);
                paste_or_no_face(&mut self.canvas, sketch, lw + output, side, side);
            }
            View::Output if self.full_frame => match generated {
                // The frame itself, an odd last row or column left out.
                Some(frame) if full_size(frame.width(), frame.height()) == (w, h) => {
                    image::imageops::replace(&mut self.canvas, frame, 0, 0)
                }
                other => paste_or_no_face(&mut self.canvas, other, 0, w, h),
            },
            View::Output => paste_or_no_face(&mut self.canvas, generated, 0, side, side),
        }
        if self.mark {
            draw_mark(&mut self.canvas);
        }
        &self.canvas
    }
}

/// A whole output frame (swap, stylize) is shown and recorded at the frame's own size
/// (rounded down to even, as H.264 needs), not scaled to the panels' height: a face swap is
/// judged by its detail.
fn full_size(width: u32, height: u32) -> (u32, u32) {
    ((width & !1).max(2), (height & !1).max(2))
}

/// A `width` × `height` panel at `x`: the picture, or black with "NO FACE" when there is none.
fn paste_or_no_face(canvas: &mut Rgb8, image: Option<&Rgb8>, x: u32, width: u32, height: u32) {
    match image {
        Some(image) => scale_into(canvas, image, (x, 0), (width, height)),
        None => {
            fill_rect(canvas, x, 0, width, height, Rgb([0, 0, 0]));
            let scale = (height / 100).max(1);
            let (tw, th) = text_size("NO FACE", scale);
            let (tx, ty) = (
                x + width.saturating_sub(tw) / 2,
                height.saturating_sub(th) / 2,
            );
            draw_text(canvas, "NO FACE", tx, ty, scale, Rgb([200, 200, 200]));
        }
    }
}

fn role_colour(role: usize) -> Rgb<u8> {
    LABEL_COLOURS[role % LABEL_COLOURS.len()]
}

/// Several faces' generated faces in one square picture (the panel that shows one face's
/// when one is swapped): in a grid, the session's faces in order, each framed in its label's
/// colour so the window says which is whose; a face not in view is left black. `tile`: each
/// face's side in `out`.
pub fn gallery(faces: &[Option<&Rgb8>], tile: u32, out: &mut Rgb8) {
    let columns = (faces.len() as f32).sqrt().ceil().max(1.0) as u32;
    let rows = (faces.len() as u32).div_ceil(columns);
    let side = columns * tile;
    if out.dimensions() != (side, side) {
        *out = Rgb8::new(side, side);
    }
    fill_rect(out, 0, 0, side, side, Rgb([0, 0, 0]));
    // Fewer rows than columns (two faces) sit in the middle.
    let top = (columns - rows) * tile / 2;
    let line = (tile / 32).max(1);
    for (role, face) in faces.iter().enumerate() {
        let (x, y) = (
            role as u32 % columns * tile,
            top + role as u32 / columns * tile,
        );
        if let Some(face) = face {
            scale_into(out, face, (x, y), (tile, tile));
        }
        let colour = role_colour(role);
        fill_rect(out, x, y, tile, line, colour);
        fill_rect(out, x, y + tile - line, tile, line, colour);
        fill_rect(out, x, y, line, tile, colour);
        fill_rect(out, x + tile - line, y, line, tile, colour);
    }
}

/// A box around a face and its name above it (below, when the face is at the top), on the
/// live panel (`k`: panel pixels per frame pixel; `panel`: its size).
fn draw_label(canvas: &mut Rgb8, label: &Label<'_>, k: f32, panel: (u32, u32), colour: Rgb<u8>) {
    let b = label.bounds;
    let clamp = |v: f32, max: u32| (v * k).round().clamp(0.0, max.saturating_sub(1) as f32) as u32;
    let (left, right) = (clamp(b.left, panel.0), clamp(b.right, panel.0));
    let (top, bottom) = (clamp(b.top, panel.1), clamp(b.bottom, panel.1));
    let line = (panel.1 / 256).max(1);
    let (w, h) = (
        right.saturating_sub(left) + 1,
        bottom.saturating_sub(top) + 1,
    );
    fill_rect(canvas, left, top, w, line, colour);
    fill_rect(
        canvas,
        left,
        bottom.saturating_sub(line - 1),
        w,
        line,
        colour,
    );
    fill_rect(canvas, left, top, line, h, colour);
    fill_rect(canvas, right.saturating_sub(line - 1), top, line, h, colour);
    let scale = (panel.1 / 200).max(1);
    let (tw, th) = text_size(label.text, scale);
    let pad = scale;
    let y = match top >= th + 2 * pad {
        true => top - th - 2 * pad,
        false => (bottom + 1).min(panel.1.saturating_sub(th + 2 * pad)),
    };
    let width = (tw + 2 * pad).min(panel.0.saturating_sub(left));
    fill_rect(canvas, left, y, width, th + 2 * pad, colour);
    draw_text(
        canvas,
        label.text,
        left + pad,
        y + pad,
        scale,
        Rgb([0, 0, 0]),
    );
}

/// "SYNTHETIC" in white on a dark box in the bottom-right corner, sized to the frame.
pub fn draw_mark(canvas: &mut Rgb8) {
    let (w, h) = canvas.dimensions();
    let scale = (h / 180).max(1);
    let (tw, th) = text_size(MARK_TEXT, scale);
    let pad = 2 * scale;
    let (bw, bh) = (tw + 2 * pad, th + 2 * pad);
    if bw > w || bh > h {
        return;
    }
    let (x, y) = (w - bw - pad, h - bh - pad);
    fill_rect(canvas, x, y, bw, bh, Rgb([20, 20, 20]));
    draw_text(
        canvas,
        MARK_TEXT,
        x + pad,
        y + pad,
        scale,
        Rgb([255, 255, 255]),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_sit_side_by_side_with_the_mark() {
        let live = Rgb8::from_pixel(512, 480, Rgb([200, 0, 0]));
        let generated = Rgb8::from_pixel(128, 128, Rgb([0, 200, 0]));
        let sketch = Rgb8::from_pixel(128, 128, Rgb([0, 0, 200]));
        let mut composer = Composer::new(View::Panels, 256, true);
        let out = composer
            .compose(&live, Some(&generated), Some(&sketch), Overlay::default())
            .clone();
        assert_eq!(
            out.dimensions(),
            (274 + 512, 256),
            "live scaled to 256 high, two 256 panels"
        );
        assert_eq!(out.get_pixel(10, 10).0, [200, 0, 0]);
        assert_eq!(out.get_pixel(274 + 10, 10).0, [0, 200, 0]);
        assert_eq!(out.get_pixel(274 + 256 + 10, 10).0, [0, 0, 200]);
        // The mark's dark box and white letters in the bottom-right corner.
        let corner: Vec<[u8; 3]> = (180..out.width())
            .flat_map(|x| (230..254).map(move |y| (x, y)))
            .map(|(x, y)| out.get_pixel(x, y).0)
            .collect();
        assert!(corner.contains(&[255, 255, 255]) && corner.contains(&[20, 20, 20]));
    }

    #[test]
    fn a_whole_output_frame_keeps_its_own_size() {
        let live = Rgb8::from_pixel(513, 481, Rgb([90, 90, 90]));
        let swapped = Rgb8::from_fn(513, 481, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 7]));
        let mut composer = Composer::new(View::Output, 256, false).with_full_frame_output();
        let out = composer
            .compose(&live, Some(&swapped), None, Overlay::default())
            .clone();
        assert_eq!(
            out.dimensions(),
            (512, 480),
            "the frame's size, rounded to even"
        );
        assert_eq!(
            out.get_pixel(300, 200),
            swapped.get_pixel(300, 200),
            "not rescaled"
        );
        let panels = composer.for_view(View::Panels);
        assert_eq!(panels.size_for(513, 481).1, 256, "panels keep their height");
    }

    #[test]
    fn no_face_panels_say_so_and_the_mark_can_be_left_out() {
        let live = Rgb8::from_pixel(64, 64, Rgb([90, 90, 90]));
        let mut composer = Composer::new(View::Output, 128, false);
        let out = composer
            .compose(&live, None, None, Overlay::default())
            .clone();
        assert_eq!(out.dimensions(), (128, 128));
        let lit = out.pixels().filter(|p| p.0 == [200, 200, 200]).count();
        assert!(lit > 50, "NO FACE is written");
        assert!(!out.pixels().any(|p| p.0 == [255, 255, 255]), "no mark");
    }

    #[test]
    fn landmarks_are_drawn_on_the_live_panel_when_switched_on() {
        let live = Rgb8::from_pixel(512, 480, Rgb([90, 90, 90]));
        let points: Vec<Point> = (0..68)
            .map(|i| Point::new(100.0 + 4.0 * i as f32, 200.0 + (i % 7) as f32 * 10.0))
            .collect();
        let landmarks = Landmarks::from_slice(&points).unwrap();
        let overlay = Overlay {
            landmarks: Some(&landmarks),
            labels: &[],
        };
        let mut composer = Composer::new(View::Panels, 240, false);
        let green = |img: &Rgb8| img.pixels().filter(|p| p.0 == [64, 255, 64]).count();
        let off = composer.compose(&live, None, None, overlay).clone();
        assert_eq!(green(&off), 0, "off by default");
        composer.toggle_landmarks();
        let on = composer.compose(&live, None, None, overlay).clone();
        assert!(green(&on) > 50);
        // Scaled with the panel: 480 → 240 px high, so nothing lands right of x = 256 + margin.
        assert!(on
            .enumerate_pixels()
            .filter(|(_, _, p)| p.0 == [64, 255, 64])
            .all(|(x, _, _)| x < 260));
    }
}
