//! The calibration guide (`mimic calibrate`'s window): the frame with an oval to sit in, the
//! faces' landmarks in green when frontal and amber otherwise, and the countdown or the
//! progress of taking the neutral face.

use image::Rgb;

use super::font::{draw_text, fill_rect, text_size};
use crate::face::Face;
use crate::frame::Rgb8;
use crate::geometry::Point;
use crate::reenact::calibrate::{Phase, Sighting};
use crate::reenact::sketch::{draw_segment, draw_strokes};

/// The guide's line for what the frame shows.
pub fn hint(sighting: Sighting) -> &'static str {
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
pub fn guide(frame: &Rgb8, faces: &[Face], sighting: Sighting, phase: Phase) -> Rgb8 {
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
