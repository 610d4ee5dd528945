//! Occlusion: what passes in front of the face (a hand, a microphone, a cup) kept from the
//! camera frame over the swapped face, as the live swap tools keep it with a segmentation
//! network; here from what the landmarks and the frames give, with no network.
//!
//! The face is learnt as it looks in a crop held still by the eyes and the nose alone (points
//! 27–47 on the model's template; what covers the mouth and chin moves the landmarks there,
//! and so the model's own crop, but hardly these): the colours each pixel showed, inside the
//! face as the first frame showed it (`looks.rs`). A pixel whose colour, after the whole
//! crop's brightness is matched (the light changes, the face does not), is none of the face's
//! is covered. The eyes, which blink too seldom for their colours to be learnt, are left out
//! of the test, and filled when what covers them covers the skin around them; specks and thin
//! lines (the face's own edges as the head turns) go where most pixels around them are
//! uncovered; a patch that does not reach the face's rim is the face changing (teeth first
//! seen in a smile, the nose as the head turns), not something in front, which comes from
//! beyond the face; the edge is feathered, and the result is carried into the model's crop for
//! the paste. The windows are in `filter.rs`.
//!
//! What it cannot see: something already in front when the face is first learnt (it is learnt
//! as the face, until a cut or the face is lost), something of the face's own colour (a hand
//! over a cheek shows mostly at its edges), and something held still in front for longer than
//! the colours take to be adopted (10 s). The swapped face itself is still placed by all the
//! landmarks, which what covers the mouth pulls.

use crate::face::{parts, AlignedCrop, FaceRegion, Landmarks};
use crate::frame::Rgb8;
use crate::geometry::{quantile, FaceBox, Point, Similarity};

use self::filter::{filter, Window};
use self::looks::Looks;
use super::mask::sample;

mod filter;
mod looks;

/// Frames learnt before anything counts as covered (a second at 25 fps): the face talking.
const WARM_UP: u32 = 25;
/// Where less than half of the pixels within this share of the crop are covered, none is
/// (specks and thin lines: the face's own edges moving); where more are, all are…
const SPECK: f32 = 0.04;
/// …holes (the eyes) up to twice this share are closed when what is in front
/// surrounds them…
const FILL: f32 = 0.07;
/// …and the edge fades over this share.
const FEATHER: f32 = 0.03;
/// The eyes are left out of the test this far (share of the crop) around their points.
const EYE_MARGIN: f32 = 0.03;

/// The brightness is matched over every this many pixels of the face (a prime, so the
/// samples do not line up in columns).
const GAIN_STRIDE: usize = 7;

/// The landmarks the learnt face is held still by: the nose and the eyes.
const ANCHOR: std::ops::Range<usize> = 27..48;
/// The still crop places the template this far (share of its side) inside its edges: room
/// for the chin and the forehead, whatever the model's own crop leaves.
const STILL_PADDING: f32 = 0.2;

/// The still crop is at most this many pixels square, whatever the model's: enough to see a
/// hand, and the cost stays under a millisecond or two.
const STILL_SIDE: u32 = 96;

/// What covers the face, frame after frame, and the face learnt so far.
pub(super) struct Occlusion {
    /// The still crop's side, and the model crop's.
    side: u32,
    crop: u32,
    /// Where the anchor's points go in the learnt face's crop (the model's template).
    anchor: Vec<Point>,
    /// The frame held still by the anchor.
    seen: Rgb8,
    /// The colours each pixel of `seen` showed.
    looks: Looks,
    /// The face as the first frame showed it (the face mask's weights then).
    region: Vec<f32>,
    learnt: u32,
    /// Weight 1 where the frame's pixel is kept (something in front), in `seen`.
    held: Vec<f32>,
    /// Which pixels of `seen` showed none of the face's colours, this frame.
    covered: Vec<bool>,
    /// The same carried into the model's crop, row-major.
    pub(super) weights: Vec<f32>,
    scratch: Vec<f32>,
}

impl Occlusion {
    /// Nothing learnt; buffers are made when it first sees a face.
    pub(super) fn new(crop: u32) -> Occlusion {
        let side = crop.min(STILL_SIDE);
        let template = AlignedCrop::new(side, STILL_PADDING).template_points();
        let first = ANCHOR.start - parts::INNER_FACE.start;
        Occlusion {
            side,
            crop,
            anchor: template[first..first + ANCHOR.len()].to_vec(),
            seen: Rgb8::new(side, side),
            looks: Looks::default(),
            region: Vec::new(),
            learnt: 0,
            held: Vec::new(),
            covered: Vec::new(),
            weights: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Forgets the face learnt (another shot, the face lost).
    pub(super) fn forget(&mut self) {
        self.learnt = 0;
        self.weights.iter_mut().for_each(|w| *w = 0.0);
    }

    /// Whether it has learnt enough to say what covers the face.
    pub(super) fn ready(&self) -> bool {
        self.learnt > WARM_UP
    }

    /// Finds what covers the face in `frame`, whose landmarks (frame pixels) are `landmarks`
    /// and whose model crop `to_crop` cuts out with the face mask's weights `face`; learns the
    /// rest of the face; and carries what covers it into the model's crop.
    pub(super) fn see(
        &mut self,
        frame: &Rgb8,
        landmarks: &Landmarks,
        to_crop: &Similarity,
        face: &[f32],
    ) {
        let Some(to_seen) = Similarity::estimate(landmarks.part(ANCHOR), &self.anchor) else {
            return self.forget();
        };
        to_seen.warp_into(frame, &mut self.seen);
        let n = (self.side * self.side) as usize;
        let crop_to_seen = to_seen.after(&to_crop.inverse());
        if self.learnt == 0 || self.looks.len() != n {
            return self.start(face, &crop_to_seen.inverse());
        }
        let gain = self.gain();
        let skipped = Skipped::of(&landmarks.map(|p| to_seen.apply(p)), self.side);
        self.learnt += 1;
        self.looks.next_frame();
        self.judge(gain, &skipped);
        self.clean();
        self.learn(gain);
        self.carry(&crop_to_seen);
    }

    /// Pixel `i` of the still crop, its brightness matched by `gain`.
    fn colour(&self, i: usize, gain: [f32; 3]) -> [f32; 3] {
        let p = &self.seen.as_raw()[3 * i..3 * i + 3];
        std::array::from_fn(|c| f32::from(p[c]) / gain[c])
    }

    /// Which pixels of the face show none of its colours (`covered`), and of those, the ones
    /// tested (`held`, before it is cleaned).
    fn judge(&mut self, gain: [f32; 3], skipped: &Skipped) {
        let (n, side) = (self.held.len(), self.side as usize);
        let warm_up = !self.ready();
        let mut covered = std::mem::take(&mut self.covered);
        covered.clear();
        covered.extend((0..n).map(|i| {
            let inside = self.region[i] > 0.5;
            inside && !self.looks.is_face(i, self.colour(i, gain), warm_up)
        }));
        for (i, held) in self.held.iter_mut().enumerate() {
            *held = f32::from(covered[i] && !skipped.has(i % side, i / side));
        }
        self.covered = covered;
    }

    /// The face is learnt where nothing is in front nor near it (the cleaned weights are
    /// grown and feathered), what is in front a step towards being adopted.
    fn learn(&mut self, gain: [f32; 3]) {
        for i in (0..self.held.len()).filter(|&i| self.region[i] > 0.5) {
            let p = self.colour(i, gain);
            match (self.covered[i], self.held[i] == 0.0) {
                (true, _) => self.looks.learn_other(i, p),
                (false, true) => self.looks.learn_face(i, p),
                (false, false) => {}
            }
        }
    }

    /// The first sight of the face: learnt as it is, nothing covering it; the face is where
    /// the model crop's mask `face` is (carried into the still crop by `seen_to_crop`).
    fn start(&mut self, face: &[f32], seen_to_crop: &Similarity) {
        let n = (self.side * self.side) as usize;
        let side = self.side as usize;
        self.looks
            .start(self.seen.pixels().map(|p| p.0.map(f32::from)));
        self.region = (0..n)
            .map(|i| Point::new((i % side) as f32, (i / side) as f32))
            .map(|p| sample(face, self.crop, seen_to_crop.apply(p)))
            .collect();
        self.held = vec![0.0; n];
        self.weights = vec![0.0; (self.crop * self.crop) as usize];
        self.learnt = 1;
    }

    /// What covers the face, carried from the still crop into the model's (`crop_to_seen`).
    fn carry(&mut self, crop_to_seen: &Similarity) {
        let side = self.crop as usize;
        for (i, w) in self.weights.iter_mut().enumerate() {
            let p = Point::new((i % side) as f32, (i / side) as f32);
            *w = sample(&self.held, self.side, crop_to_seen.apply(p));
        }
    }

    /// How much brighter the face is now than learnt, channel by channel: the median ratio
    /// over the face's pixels (every [`GAIN_STRIDE`]-th), so what covers part of it does not
    /// count.
    fn gain(&self) -> [f32; 3] {
        let pixels = self.seen.pixels().enumerate().step_by(GAIN_STRIDE);
        let face: Vec<(usize, [u8; 3])> = pixels
            .filter(|(i, _)| self.region[*i] > 0.5)
            .map(|(i, p)| (i, p.0))
            .collect();
        [0, 1, 2].map(|c| {
            let ratios = face
                .iter()
                .map(|(i, p)| (f32::from(p[c]), self.looks.usual(*i)[c]))
                .filter(|(_, usual)| *usual > 8.0)
                .map(|(now, usual)| now / usual)
                .collect();
            match quantile(ratios, 0.5) {
                0.0 => 1.0,
                ratio => ratio.clamp(0.5, 2.0),
            }
        })
    }

    /// Specks and lines taken away and gaps filled by the majority around each pixel, holes
    /// closed, the edge grown a little and feathered.
    fn clean(&mut self) {
        let side = self.side as f32;
        let radius = |share: f32| (share * side).round().max(1.0) as usize;
        let (speck, fill, feather) = (radius(SPECK), radius(FILL), radius(FEATHER));
        let (w, s, n) = (&mut self.held, &mut self.scratch, self.side);
        filter(w, s, n, speck, Window::Mean);
        w.iter_mut().for_each(|v| *v = f32::from(*v > 0.5));
        filter(w, s, n, fill, Window::Any);
        filter(w, s, n, fill, Window::All);
        from_outside(w, &self.region, n as usize);
        filter(w, s, n, feather, Window::Any);
        filter(w, s, n, feather, Window::Mean);
    }

    /// The weight at a crop point (bilinear; 0 before anything was seen).
    pub(super) fn weight(&self, p: Point) -> f32 {
        match self.weights.is_empty() {
            true => 0.0,
            false => sample(&self.weights, self.crop, p),
        }
    }
}

/// The face's rim: where its mask has begun to fade.
const RIM: f32 = 0.95;

/// Keeps, of the 0/1 grid `held` (`side` square), only the patches that reach the face's rim
/// in `region`: what passes in front of a face comes from beyond it (a hand, a microphone
/// from below), while a patch inside it is the face itself changing (a smile's teeth, the nose
/// as the head turns, seen for the first time).
fn from_outside(held: &mut [f32], region: &[f32], side: usize) {
    let mut patch = Vec::new();
    let mut seen = vec![false; held.len()];
    for start in 0..held.len() {
        if held[start] == 0.0 || seen[start] {
            continue;
        }
        // The patch of `start`, four-connected.
        patch.clear();
        patch.push(start);
        seen[start] = true;
        let mut next = 0;
        while next < patch.len() {
            let i = patch[next];
            next += 1;
            let (x, y) = (i % side, i / side);
            let around = [
                (x > 0).then(|| i - 1),
                (x + 1 < side).then_some(i + 1),
                (y > 0).then(|| i - side),
                (y + 1 < side).then_some(i + side),
            ];
            for j in around.into_iter().flatten() {
                if held[j] > 0.0 && !seen[j] {
                    seen[j] = true;
                    patch.push(j);
                }
            }
        }
        if !patch.iter().any(|&i| region[i] < RIM) {
            patch.iter().for_each(|&i| held[i] = 0.0);
        }
    }
}

/// The parts of the still crop left out of the test: the eyes, which blink.
struct Skipped {
    eyes: [(FaceRegion, FaceBox); 2],
    margin: f32,
}

impl Skipped {
    fn of(in_crop: &Landmarks, side: u32) -> Skipped {
        let margin = EYE_MARGIN * side as f32;
        let eye = |points: &[Point]| {
            let b = FaceBox::around(points);
            let grown = FaceBox {
                left: b.left - margin,
                top: b.top - margin,
                right: b.right + margin,
                bottom: b.bottom + margin,
            };
            (FaceRegion::around(points), grown)
        };
        Skipped {
            eyes: [
                eye(in_crop.part(parts::LEFT_EYE)),
                eye(in_crop.part(parts::RIGHT_EYE)),
            ],
            margin,
        }
    }

    fn has(&self, x: usize, y: usize) -> bool {
        let p = Point::new(x as f32, y as f32);
        let near = |b: &FaceBox| p.x >= b.left && p.x <= b.right && p.y >= b.top && p.y <= b.bottom;
        self.eyes
            .iter()
            .any(|(eye, bounds)| near(bounds) && eye.depth(p) > -self.margin)
    }
}
