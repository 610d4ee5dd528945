//! Stylisation, one frame at a time: the whole frame, scaled to fit the model's square input
//! with black bars (its shape kept), through the generator, and the part of the output that
//! holds the frame scaled back to the frame's size. No face is needed.

use std::time::Instant;

use super::{PipelineError, Process, StageTimes, Tracked};
use crate::frame::resize::scale_into;
use crate::frame::Rgb8;
use crate::infer::Generator;

/// Where the frame sits inside a square picture of side `side`: its offset and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Letterbox {
    pub offset: (u32, u32),
    pub size: (u32, u32),
}

impl Letterbox {
    /// The largest rectangle of the frame's shape centred in the square.
    pub fn fit(width: u32, height: u32, side: u32) -> Letterbox {
        let scale = side as f32 / width.max(height).max(1) as f32;
        let fit = |v: u32| ((v as f32 * scale).round() as u32).clamp(1, side);
        let size = (fit(width), fit(height));
        Letterbox {
            offset: ((side - size.0) / 2, (side - size.1) / 2),
            size,
        }
    }
}

/// Turns frames into stylised frames, with buffers reused.
pub struct Stylizer {
    generator: Generator,
    /// The frame, letterboxed to the model's input.
    input: Rgb8,
    generated: Rgb8,
    /// The frame-shaped part of the output.
    cut: Rgb8,
    styled: Rgb8,
    times: StageTimes,
}

impl Stylizer {
    pub fn new(generator: Generator) -> Stylizer {
        let (size, out) = (generator.input_size(), generator.output_size());
        Stylizer {
            generator,
            input: Rgb8::new(size, size),
            generated: Rgb8::new(out, out),
            cut: Rgb8::new(0, 0),
            styled: Rgb8::new(0, 0),
            times: StageTimes::default(),
        }
    }

    /// Stylises one frame (no face needed).
    fn stylize(&mut self, frame: &Rgb8) -> Result<(), PipelineError> {
        let started = Instant::now();
        let (w, h) = frame.dimensions();
        let into = Letterbox::fit(w, h, self.input.width());
        self.input.fill(0);
        scale_into(&mut self.input, frame, into.offset, into.size);
        let prepared = Instant::now();
        self.times.prepare = prepared - started;
        self.generator.run(&self.input, &mut self.generated)?;
        let generated = Instant::now();
        self.times.generator = generated - prepared;
        self.back_to_frame(w, h);
        self.times.blend = generated.elapsed();
        self.times.faces = 1;
        Ok(())
    }

    /// The output's frame-shaped part (where the frame sat in the input, at the output's
    /// scale), scaled to the frame's size.
    fn back_to_frame(&mut self, w: u32, h: u32) {
        let out = Letterbox::fit(w, h, self.generated.width());
        let (ox, oy) = out.offset;
        let (cw, ch) = out.size;
        if self.cut.dimensions() != (cw, ch) {
            self.cut = Rgb8::new(cw, ch);
        }
        let stride = self.generated.width() as usize * 3;
        let (src, dst) = (self.generated.as_raw(), &mut *self.cut);
        for (y, row) in dst.chunks_exact_mut(cw as usize * 3).enumerate() {
            let start = (oy as usize + y) * stride + ox as usize * 3;
            row.copy_from_slice(&src[start..start + row.len()]);
        }
        if self.styled.dimensions() != (w, h) {
            self.styled = Rgb8::new(w, h);
        }
        scale_into(&mut self.styled, &self.cut, (0, 0), (w, h));
    }
}

impl Process for Stylizer {
    fn warm_up(&mut self) -> Result<(), PipelineError> {
        Ok(self.generator.warm_up()?)
    }

    /// Always `Ok(true)`: there is no face to miss.
    fn process(&mut self, frame: &Rgb8, _: &Tracked, _: f64) -> Result<bool, PipelineError> {
        self.stylize(frame)?;
        Ok(true)
    }

    fn times(&self) -> StageTimes {
        self.times
    }

    fn generator(&self) -> &Generator {
        &self.generator
    }

    /// The stylised frame and the model's square output.
    fn panels(&self) -> (&Rgb8, &Rgb8) {
        (&self.styled, &self.generated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_letterbox_keeps_the_frames_shape_and_centres_it() {
        // (frame width, height, side) → (offset, size)
        let cases = [
            ((640, 480, 256), ((0, 32), (256, 192))),
            ((480, 640, 256), ((32, 0), (192, 256))),
            ((512, 512, 128), ((0, 0), (128, 128))),
        ];
        for ((w, h, side), (offset, size)) in cases {
            assert_eq!(Letterbox::fit(w, h, side), Letterbox { offset, size });
        }
    }
}
