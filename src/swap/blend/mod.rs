//! Putting a generated face back into the frame (face swap): a soft mask in the model's crop,
//! the generated face's colours matched to the face it replaces (optionally also a seamless,
//! Poisson, correction), and the blend through the inverse of the alignment, optionally with
//! the driver's own mouth kept over it. Pixels outside the mask's footprint are never touched.
//!
//! The mask and the skin it measures are in `mask.rs`, the colour match in `colour.rs`, the
//! seamless correction in `seamless.rs`, the mouth mask in `mouth.rs`, what is in front of
//! the face in `occlusion.rs`, what can be asked of them in `options.rs`; [`Blend`] runs them
//! for one face, frame after frame.

mod colour;
mod mask;
mod mouth;
mod occlusion;
mod options;
mod seamless;

use self::colour::ColourFollow;
use self::mask::Mask;
use self::mouth::Mouth;
pub use self::mouth::MOUTH_FEATHER;
use self::occlusion::Occlusion;
pub use self::options::{BlendOptions, ColorMatch, MaskKind};
pub use self::seamless::SEAMLESS_GRID;
use crate::face::{AlignedCrop, Landmarks};
use crate::frame::sample::Bordered;
use crate::frame::Rgb8;
use crate::geometry::{Point, Similarity};

/// The blend of one face, its mask worked out once per frame at the crop's size.
pub struct Blend {
    options: BlendOptions,
    mask: Mask,
    /// The mouth kept from the frame, shaped when the options (or a caller) ask for it.
    mouth: Mouth,
    /// What is in front of the face, learnt and found when the options ask for it.
    occlusion: Occlusion,
    /// The face mask less what the frame keeps (mouth, what is in front), as pasted.
    pasted: Vec<f32>,
    /// The generated face as the paste samples it, kept from frame to frame.
    paste_source: Bordered,
    colour: ColourFollow,
}

impl Blend {
    pub fn new(options: BlendOptions, side: u32) -> Blend {
        Blend {
            options,
            mask: Mask::new(side),
            mouth: Mouth::new(side),
            occlusion: Occlusion::new(side),
            pasted: Vec::new(),
            paste_source: Bordered::default(),
            colour: ColourFollow::default(),
        }
    }

    pub fn options(&self) -> BlendOptions {
        self.options
    }

    pub fn set_options(&mut self, options: BlendOptions) {
        self.options = options;
        self.forget();
    }

    /// Forgets the last frames' colour match and the face learnt for occlusion (the face was
    /// lost, or the options changed).
    pub fn forget(&mut self) {
        self.colour.forget();
        self.occlusion.forget();
    }

    /// The mask for a face whose landmarks are `in_crop` (crop pixels): 0 outside, rising to 1
    /// over the blur width inside the eroded region; and its mouth, when the options keep it.
    pub fn shape(&mut self, in_crop: &Landmarks) {
        self.mask.shape(in_crop, &self.options);
        if self.options.mouth {
            self.shape_mouth(in_crop);
        }
    }

    /// The mouth of the face last shaped, whose landmarks are `in_crop`, whatever the options
    /// say (for [`Self::paste_as`]).
    pub fn shape_mouth(&mut self, in_crop: &Landmarks) {
        self.mouth.shape(in_crop);
    }

    /// With occlusion on, finds what is in front of the face in `frame`, whose landmarks
    /// (frame pixels) are `landmarks` and whose crop `to_crop` cuts out, once the mask is
    /// shaped.
    pub fn see_occlusion(&mut self, frame: &Rgb8, landmarks: &Landmarks, to_crop: &Similarity) {
        if self.options.occlusion {
            let face = &self.mask.weights;
            self.occlusion.see(frame, landmarks, to_crop, face);
        }
    }

    /// The occlusion's weight at a crop point (bilinear): 1 where what is in front of the
    /// face is kept whole, 0 where nothing is, or when occlusion is off.
    pub fn occlusion_weight(&self, p: Point) -> f32 {
        match self.options.occlusion {
            true => self.occlusion.weight(p),
            false => 0.0,
        }
    }

    /// The mask's weights, row-major at the crop's size.
    pub fn mask(&self) -> &[f32] {
        &self.mask.weights
    }

    /// The mask at a crop point (bilinear; 0 outside the crop).
    pub fn weight(&self, p: Point) -> f32 {
        self.mask.weight(p)
    }

    /// The mouth mask at a crop point (bilinear): 1 where the frame's own mouth is kept
    /// whole, 0 outside the crop, where the feather ends, or when the mouth mask is off.
    pub fn mouth_weight(&self, p: Point) -> f32 {
        match self.options.mouth {
            true => self.mouth.weight(p),
            false => 0.0,
        }
    }

    /// Whether occlusion is on and knows the face well enough to say what covers it.
    fn covered(&self) -> bool {
        self.options.occlusion && self.occlusion.ready()
    }

    /// Matches `generated`'s colours to `original`'s (both crops) inside the mask.
    pub fn match_colors(&mut self, generated: &mut Rgb8, original: &Rgb8) {
        let lab = match self.options.color {
            ColorMatch::None => return,
            ColorMatch::Mean => false,
            ColorMatch::Rct => true,
        };
        // Only what is pasted, unless the seamless correction reads the rest.
        let everywhere = self.options.seamless;
        let covered = self.covered().then_some(self.occlusion.weights.as_slice());
        self.colour.transfer(
            (generated, original),
            (&self.mask, covered),
            lab,
            everywhere,
        );
    }

    /// With `seamless`, solves Poisson's equation in the crop so the generated face keeps its
    /// own gradients but meets `original` where the mask ends ([`SEAMLESS_GRID`]).
    pub fn make_seamless(&self, generated: &mut Rgb8, original: &Rgb8) {
        if self.options.seamless {
            seamless::make_seamless(&self.mask, generated, original);
        }
    }

    /// Blends the generated crop into `frame` through the inverse of `to_crop`, weighted by
    /// the mask (less the mouth, with the mouth mask).
    pub fn paste(
        &mut self,
        generated: &Rgb8,
        crop: &AlignedCrop,
        to_crop: &Similarity,
        frame: &mut Rgb8,
    ) {
        self.paste_as(self.options.mouth, generated, crop, to_crop, frame);
    }

    /// [`Self::paste`] with the mouth mask on or off whatever the options say (on: the mouth
    /// shaped for this face, by [`Self::shape`] or [`Self::shape_mouth`]): the same face
    /// pasted both ways, to compare them.
    pub fn paste_as(
        &mut self,
        mouth: bool,
        generated: &Rgb8,
        crop: &AlignedCrop,
        to_crop: &Similarity,
        frame: &mut Rgb8,
    ) {
        if self.mask.extent.0.x > self.mask.extent.1.x {
            return; // an empty mask
        }
        // The mouth and what is in front only take weight away, so the mask's extent still
        // bounds the paste.
        let mouth = mouth && !self.mouth.weights.is_empty();
        let occluded = self.covered();
        let weights = match (mouth, occluded) {
            (false, false) => &self.mask.weights,
            _ => {
                let kept = |i: usize| {
                    let m = if mouth { self.mouth.weights[i] } else { 0.0 };
                    let o = if occluded {
                        self.occlusion.weights[i]
                    } else {
                        0.0
                    };
                    m.max(o)
                };
                self.pasted.clear();
                let less = self.mask.weights.iter().enumerate();
                self.pasted.extend(less.map(|(i, f)| f * (1.0 - kept(i))));
                &self.pasted
            }
        };
        let source = &mut self.paste_source;
        crop.unwarp_within(
            generated,
            to_crop,
            frame,
            self.mask.extent,
            Some(weights),
            source,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn square_face(side: f32) -> Landmarks {
        // 68 points around a square in the middle of the crop.
        let points: Vec<Point> = (0..68)
            .map(|i| {
                let t = i as f32 / 68.0 * 4.0;
                let (lo, hi) = (side * 0.25, side * 0.75);
                let k = t.fract() * (hi - lo);
                match t as u32 {
                    0 => Point::new(lo + k, lo),
                    1 => Point::new(hi, lo + k),
                    2 => Point::new(hi - k, hi),
                    _ => Point::new(lo, hi - k),
                }
            })
            .collect();
        Landmarks::from_slice(&points).unwrap()
    }

    #[test]
    fn the_mask_is_bounded_and_soft_inside_the_hull() {
        let mut blend = Blend::new(BlendOptions::default(), 64);
        blend.shape(&square_face(64.0));
        assert!(blend.mask().iter().all(|&m| (0.0..=1.0).contains(&m)));
        assert_eq!(
            blend.weight(Point::new(32.0, 32.0)),
            1.0,
            "full in the middle"
        );
        assert_eq!(
            blend.weight(Point::new(5.0, 5.0)),
            0.0,
            "nothing outside the hull"
        );
        let edge = blend.weight(Point::new(17.0 + 64.0 * 0.03 + 1.0, 32.0));
        assert!(edge > 0.0 && edge < 1.0, "soft near the edge: {edge}");
    }

    #[test]
    fn pasting_leaves_pixels_outside_the_mask_untouched() {
        let mut blend = Blend::new(BlendOptions::default(), 64);
        blend.shape(&square_face(64.0));
        let frame = Rgb8::from_fn(200, 160, |x, y| Rgb([x as u8, y as u8, 77]));
        let mut out = frame.clone();
        let crop = AlignedCrop::new(64, 0.1);
        // The crop sits at (50, 40) in the frame, at half scale.
        let to_crop = Similarity {
            a: 0.5,
            b: 0.0,
            tx: -25.0,
            ty: -20.0,
        };
        blend.paste(
            &Rgb8::from_pixel(64, 64, Rgb([255, 0, 0])),
            &crop,
            &to_crop,
            &mut out,
        );
        let mut changed = 0;
        for (x, y, p) in out.enumerate_pixels() {
            let q = to_crop.apply(Point::new(x as f32, y as f32));
            if blend.weight(q) == 0.0 {
                assert_eq!(
                    p,
                    frame.get_pixel(x, y),
                    "({x}, {y}) outside the mask changed"
                );
            } else {
                changed += 1;
            }
        }
        assert!(changed > 500);
        assert_eq!(
            out.get_pixel(114, 104).0,
            [255, 0, 0],
            "the crop's centre is the face"
        );
    }

    #[test]
    fn colour_transfer_moves_the_generated_face_to_the_original_tone() {
        let mut blend = Blend::new(BlendOptions::default(), 32);
        blend.shape(&square_face(32.0));
        let original = Rgb8::from_fn(32, 32, |x, _| Rgb([150 + (x % 4) as u8, 100, 80]));
        for color in [ColorMatch::Mean, ColorMatch::Rct] {
            blend.set_options(BlendOptions {
                color,
                ..BlendOptions::default()
            });
            let mut generated = Rgb8::from_fn(32, 32, |x, _| Rgb([60 + (x % 4) as u8, 120, 160]));
            blend.match_colors(&mut generated, &original);
            let p = generated.get_pixel(16, 16).0;
            assert!((i32::from(p[0]) - 151).abs() <= 3, "{color:?}: {p:?}");
            assert!((i32::from(p[2]) - 80).abs() <= 3, "{color:?}: {p:?}");
        }
    }

    #[test]
    fn the_colour_match_follows_a_change_of_tone_over_a_few_frames() {
        let mut blend = Blend::new(BlendOptions::default(), 32);
        blend.shape(&square_face(32.0));
        let tone = |r: u8| Rgb8::from_fn(32, 32, |x, _| Rgb([r + (x % 4) as u8, 100, 80]));
        let generated = || Rgb8::from_fn(32, 32, |x, _| Rgb([60 + (x % 4) as u8, 120, 160]));
        let red_after = |blend: &mut Blend, r: u8| {
            let mut g = generated();
            blend.match_colors(&mut g, &tone(r));
            i32::from(g.get_pixel(16, 16)[0])
        };
        assert!((red_after(&mut blend, 150) - 151).abs() <= 3);
        // The light changes: the next frame moves part of the way, later ones the rest.
        let first = red_after(&mut blend, 200);
        assert!(first > 160 && first < 190, "one frame after: {first}");
        let later = (0..12).map(|_| red_after(&mut blend, 200)).last().unwrap();
        assert!((later - 201).abs() <= 3, "a dozen frames after: {later}");
        // A lost face starts afresh.
        blend.forget();
        assert!((red_after(&mut blend, 150) - 151).abs() <= 3);
    }

    #[test]
    fn seamless_keeps_the_faces_detail_and_meets_the_frame_at_the_edge() {
        let side = 64;
        let options = BlendOptions {
            seamless: true,
            color: ColorMatch::None,
            ..BlendOptions::default()
        };
        let mut blend = Blend::new(options, side);
        blend.shape(&square_face(side as f32));
        // A frame with a brightness ramp, a generated face of another tone with a stripe.
        let original = Rgb8::from_fn(side, side, |x, _| Rgb([100 + x as u8, 90, 80]));
        let stripe = |x: u32| if x == 32 { 40 } else { 0 };
        let mut generated = Rgb8::from_fn(side, side, |x, _| Rgb([200 + stripe(x), 20, 20]));
        blend.make_seamless(&mut generated, &original);
        // Just inside the mask's edge the face has the frame's values…
        let edge = blend.mask.extent.0.x as u32 + 2;
        let (g, o) = (
            generated.get_pixel(edge, 32).0,
            original.get_pixel(edge, 32).0,
        );
        for c in 0..3 {
            assert!(
                (i32::from(g[c]) - i32::from(o[c])).abs() <= 8,
                "{g:?} vs {o:?}"
            );
        }
        // …and inside it keeps its own detail: the stripe stands out from its neighbours.
        let (s, n) = (
            generated.get_pixel(32, 32).0[0],
            generated.get_pixel(30, 32).0[0],
        );
        assert!(i32::from(s) - i32::from(n) >= 35, "stripe {s} vs {n}");
        // The smooth ramp of the frame is followed: the middle is between the two edges.
        let (left, mid) = (
            generated.get_pixel(24, 40).0[0],
            generated.get_pixel(31, 40).0[0],
        );
        assert!(mid > left, "{left} → {mid}");
    }
}
