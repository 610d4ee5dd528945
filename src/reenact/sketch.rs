//! The landmark sketch: the picture a reenactment generator is conditioned on.
//!
//! Nine polylines drawn white on black (the book's choice): the jaw, both brows and the nose
//! bridge open; the lower nose, both eyes and both lips closed. Lines are anti-aliased and
//! their width scales with the output size, so a 128 px and a 512 px sketch look alike.
//! Dataset extraction, training, the live loop and evaluation all draw with this one renderer.

use std::ops::Range;

use image::Rgb;
use serde::{Deserialize, Serialize};

use crate::face::{parts, Landmarks};
use crate::frame::Rgb8;
use crate::geometry::{FaceBox, Point};

/// One stroke of the sketch: a run of landmark indices, closed or open.
struct Stroke {
    points: Range<usize>,
    closed: bool,
}

const STROKES: [Stroke; 9] = [
    Stroke {
        points: parts::JAW,
        closed: false,
    },
    Stroke {
        points: parts::RIGHT_BROW,
        closed: false,
    },
    Stroke {
        points: parts::LEFT_BROW,
        closed: false,
    },
    Stroke {
        points: parts::NOSE_BRIDGE,
        closed: false,
    },
    Stroke {
        points: parts::LOWER_NOSE,
        closed: true,
    },
    Stroke {
        points: parts::RIGHT_EYE,
        closed: true,
    },
    Stroke {
        points: parts::LEFT_EYE,
        closed: true,
    },
    Stroke {
        points: parts::OUTER_LIP,
        closed: true,
    },
    Stroke {
        points: parts::INNER_LIP,
        closed: true,
    },
];

const WHITE: Rgb<u8> = Rgb([255, 255, 255]);

/// How a sketch is drawn; recorded in datasets and model cards so live input matches training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SketchStyle {
    /// Line width in pixels at a 256-pixel output; other sizes scale it.
    pub line_width_at_256: f32,
}

impl Default for SketchStyle {
    fn default() -> Self {
        Self {
            line_width_at_256: 2.5,
        }
    }
}

impl SketchStyle {
    /// Line width in pixels for an output whose shorter side is `side` pixels (never below 1).
    pub fn line_width(&self, side: u32) -> f32 {
        (self.line_width_at_256 * side as f32 / 256.0).max(1.0)
    }
}

/// Draws landmark sketches into a canvas allocated once.
#[derive(Debug, Clone)]
pub struct SketchRenderer {
    style: SketchStyle,
    canvas: Rgb8,
}

impl SketchRenderer {
    pub fn new(width: u32, height: u32, style: SketchStyle) -> Self {
        Self {
            style,
            canvas: Rgb8::new(width, height),
        }
    }

    pub fn style(&self) -> SketchStyle {
        self.style
    }

    /// The last sketch drawn.
    pub fn canvas(&self) -> &Rgb8 {
        &self.canvas
    }

    /// The sketch of `landmarks` (already in canvas coordinates), white on black.
    pub fn render(&mut self, landmarks: &Landmarks) -> &Rgb8 {
        for value in self.canvas.iter_mut() {
            *value = 0;
        }
        let side = self.canvas.width().min(self.canvas.height());
        let width = self.style.line_width(side);
        draw_strokes(&mut self.canvas, landmarks, width, WHITE);
        &self.canvas
    }
}

/// Draws the nine strokes of `landmarks` onto `image` in `color`.
pub fn draw_strokes(image: &mut Rgb8, landmarks: &Landmarks, width: f32, color: Rgb<u8>) {
    let points = landmarks.points();
    for stroke in &STROKES {
        let run = &points[stroke.points.clone()];
        for pair in run.windows(2) {
            draw_segment(image, pair[0], pair[1], width, color);
        }
        if stroke.closed {
            if let (Some(&last), Some(&first)) = (run.last(), run.first()) {
                draw_segment(image, last, first, width, color);
            }
        }
    }
}

/// Marks each face on a photo: its box and its landmark strokes, for `detect --annotate`.
pub fn annotate(image: &mut Rgb8, faces: &[(FaceBox, &Landmarks)]) {
    let side = image.width().min(image.height());
    let width = (side as f32 / 400.0).max(1.0);
    for (bbox, landmarks) in faces {
        let corners = [
            Point::new(bbox.left, bbox.top),
            Point::new(bbox.right, bbox.top),
            Point::new(bbox.right, bbox.bottom),
            Point::new(bbox.left, bbox.bottom),
        ];
        for i in 0..4 {
            draw_segment(
                image,
                corners[i],
                corners[(i + 1) % 4],
                width,
                Rgb([255, 64, 64]),
            );
        }
        draw_strokes(image, landmarks, width, Rgb([64, 255, 64]));
    }
}

/// An anti-aliased line segment of the given width with round caps: each pixel is covered
/// by how far its centre lies inside the capsule around the segment.
pub fn draw_segment(image: &mut Rgb8, p: Point, q: Point, width: f32, color: Rgb<u8>) {
    let (w, h) = image.dimensions();
    if w == 0 || h == 0 {
        return;
    }
    let r = width / 2.0;
    let reach = r + 1.0;
    let x0 = (p.x.min(q.x) - reach).floor().max(0.0) as u32;
    let y0 = (p.y.min(q.y) - reach).floor().max(0.0) as u32;
    let x1 = ((p.x.max(q.x) + reach).ceil().max(0.0) as u32).min(w - 1);
    let y1 = ((p.y.max(q.y) + reach).ceil().max(0.0) as u32).min(h - 1);
    for y in y0..=y1 {
        for x in x0..=x1 {
            let d = Point::new(x as f32, y as f32).distance_to_segment(p, q);
            let coverage = (r + 0.5 - d).clamp(0.0, 1.0);
            if coverage > 0.0 {
                blend(image.get_pixel_mut(x, y), color, coverage);
            }
        }
    }
}

fn blend(dst: &mut Rgb<u8>, color: Rgb<u8>, alpha: f32) {
    for c in 0..3 {
        let v = f32::from(dst[c]) * (1.0 - alpha) + f32::from(color[c]) * alpha;
        dst[c] = v.round() as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_is_centred_and_antialiased() {
        let mut image = Rgb8::new(20, 20);
        // A 3-px line between pixel rows: rows 10 and 11 fully covered, 9 and 12 half.
        let (p, q) = (Point::new(2.0, 10.5), Point::new(17.0, 10.5));
        draw_segment(&mut image, p, q, 3.0, WHITE);
        let column: Vec<u8> = (8..14).map(|y| image.get_pixel(10, y)[0]).collect();
        assert_eq!(column, [0, 128, 255, 255, 128, 0]);
    }

    #[test]
    fn width_scales_with_size() {
        let style = SketchStyle::default();
        assert_eq!(style.line_width(512), 2.0 * style.line_width(256));
        assert_eq!(style.line_width(16), 1.0);
    }
}
