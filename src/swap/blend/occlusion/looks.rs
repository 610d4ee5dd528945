//! What each pixel of the still face has looked like: a few colours (skin, lip, shadow, teeth),
//! each with its spread and how often it showed — a mixture per pixel, as background
//! subtraction keeps one for a still camera. A colour that showed often enough is the face's;
//! anything else is in front of it. A new colour becomes the face's only after it showed for
//! [`ADOPT`] frames, so what is held in front stays in front that long; the face's colours
//! are learnt only where nothing is in front, nor near it, so they do not creep into it.

/// Colours kept per pixel.
const COLOURS: usize = 4;
/// A colour is the face's once it showed this share of the time.
const FACE_SHARE: f32 = 0.1;
/// A pixel has a colour when within this many levels of it (mean over the channels)…
const MATCH_AT_LEAST: f32 = 20.0;
/// …or this many of its spreads.
const MATCH_SPREADS: f32 = 3.0;
/// A new colour's variance (a spread of 10 levels), and the least a colour keeps.
const NEW_VAR: f32 = 100.0;
const MIN_VAR: f32 = 25.0;
/// A colour's mean and spread follow its last this many sightings.
const FOLLOW: f32 = 20.0;
/// How often each face colour showed, over the last this many frames.
const HISTORY: f32 = 1500.0;
/// A colour that is not the face's becomes it after showing this many frames (10 s at 25 fps).
pub(super) const ADOPT: f32 = 250.0;

#[derive(Debug, Clone, Copy, Default)]
struct Colour {
    mean: [f32; 3],
    var: f32,
    /// How often it showed (a face colour from [`FACE_SHARE`] on).
    share: f32,
    /// Sightings, for the rate its mean follows at.
    seen: f32,
    /// How far a pixel may be from it and still be it (mean over the channels).
    within: f32,
}

impl Colour {
    fn new(p: [f32; 3], share: f32) -> Colour {
        Colour {
            mean: p,
            var: NEW_VAR,
            share,
            seen: 1.0,
            within: reach(NEW_VAR),
        }
    }

    /// How far `p` is from it (mean over the channels), if it is this colour.
    fn distance(&self, p: [f32; 3]) -> Option<f32> {
        let off = (0..3).map(|c| (p[c] - self.mean[c]).abs()).sum::<f32>() / 3.0;
        (self.seen > 0.0 && off <= self.within).then_some(off)
    }

    fn follow(&mut self, p: [f32; 3]) {
        self.seen += 1.0;
        let rate = 1.0 / self.seen.min(FOLLOW);
        let mut off2 = 0.0;
        for (m, v) in self.mean.iter_mut().zip(p) {
            let d = v - *m;
            *m += rate * d;
            off2 += d * d / 3.0;
        }
        self.var = (self.var + rate * (off2 - self.var)).max(MIN_VAR);
        self.within = reach(self.var);
    }
}

/// How far a pixel may be from a colour of variance `var` and still be it.
fn reach(var: f32) -> f32 {
    MATCH_AT_LEAST.max(MATCH_SPREADS * var.sqrt())
}

/// The colours of every pixel of the still crop, and the frames they were learnt over.
#[derive(Default)]
pub(super) struct Looks {
    pixels: Vec<[Colour; COLOURS]>,
    frames: f32,
}

impl Looks {
    /// `n` pixels, each with one colour: `first`'s.
    pub(super) fn start(&mut self, first: impl Iterator<Item = [f32; 3]>) {
        self.pixels.clear();
        self.pixels.extend(first.map(|p| {
            let mut colours = [Colour::default(); COLOURS];
            colours[0] = Colour::new(p, 1.0);
            colours
        }));
        self.frames = 1.0;
    }

    pub(super) fn len(&self) -> usize {
        self.pixels.len()
    }

    /// A new frame begins.
    pub(super) fn next_frame(&mut self) {
        self.frames += 1.0;
    }

    /// Whether pixel `i`'s colour `p` (brightness matched) is one of the face's (in
    /// `warm_up`, every colour is).
    pub(super) fn is_face(&self, i: usize, p: [f32; 3], warm_up: bool) -> bool {
        warm_up || nearest(&self.pixels[i], p, true).is_some()
    }

    /// Learns `p` as the face's at pixel `i`: the colour it is (or a new one, in place of the
    /// one that showed least) showed once more, the others once less.
    pub(super) fn learn_face(&mut self, i: usize, p: [f32; 3]) {
        let history = self.frames.min(HISTORY);
        let colours = &mut self.pixels[i];
        let matched = nearest(colours, p, true).or_else(|| nearest(colours, p, false));
        let matched = matched.unwrap_or_else(|| {
            let k = weakest(colours);
            colours[k] = Colour::new(p, 0.0);
            k
        });
        for (k, colour) in colours.iter_mut().enumerate() {
            let showed = f32::from(u8::from(k == matched));
            colour.share += (showed - colour.share) / history;
        }
        colours[matched].follow(p);
    }

    /// Learns `p`, in front of the face at pixel `i`, one step towards being adopted as the
    /// face's ([`ADOPT`] steps); the face's own colours are left as they are.
    pub(super) fn learn_other(&mut self, i: usize, p: [f32; 3]) {
        let colours = &mut self.pixels[i];
        match nearest(colours, p, false) {
            Some(k) => {
                colours[k].share += FACE_SHARE / ADOPT;
                colours[k].follow(p);
            }
            None => colours[weakest(colours)] = Colour::new(p, FACE_SHARE / ADOPT),
        }
    }

    /// Pixel `i`'s most usual colour (the skin, mostly), for matching brightness.
    pub(super) fn usual(&self, i: usize) -> [f32; 3] {
        let colours = &self.pixels[i];
        let k = (0..COLOURS)
            .max_by(|&a, &b| colours[a].share.total_cmp(&colours[b].share))
            .unwrap_or(0);
        colours[k].mean
    }
}

/// The colour nearest `p` that `p` is, among the face's (`face`) or the others.
fn nearest(colours: &[Colour; COLOURS], p: [f32; 3], face: bool) -> Option<usize> {
    (0..COLOURS)
        .filter(|&k| (colours[k].share >= FACE_SHARE) == face)
        .filter_map(|k| Some((colours[k].distance(p)?, k)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// The colour that showed least: the one a new colour replaces.
fn weakest(colours: &[Colour; COLOURS]) -> usize {
    (0..COLOURS)
        .min_by(|&a, &b| colours[a].share.total_cmp(&colours[b].share))
        .unwrap_or(0)
}
