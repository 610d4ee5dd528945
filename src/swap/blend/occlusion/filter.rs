//! Square windows over a grid of weights, by running sums (so a wide window costs no more than
//! a narrow one): erosion and dilation of a 0/1 mask, and a box blur.

/// What a square window does to the value at its middle.
#[derive(Clone, Copy)]
pub(super) enum Window {
    /// 1 where the whole window is 1 (erosion of a 0/1 grid).
    All,
    /// 1 where any of the window is (dilation).
    Any,
    /// The window's mean (a box blur).
    Mean,
}

/// Each value of the `side`×`side` grid `w` replaced by what `window` makes of the values
/// within `r` of it, along rows and then along columns; running sums, so the cost does not
/// grow with `r`.
pub(super) fn filter(w: &mut [f32], s: &mut Vec<f32>, side: u32, r: usize, window: Window) {
    let n = side as usize;
    for pass in 0..2 {
        let at = |a: usize, k: usize| if pass == 0 { a * n + k } else { k * n + a };
        for a in 0..n {
            s.clear();
            s.push(0.0);
            for k in 0..n {
                let last = s[k];
                s.push(last + w[at(a, k)]);
            }
            for b in 0..n {
                let (lo, hi) = (b.saturating_sub(r), (b + r).min(n - 1));
                let (sum, count) = (s[hi + 1] - s[lo], (hi - lo + 1) as f32);
                w[at(a, b)] = match window {
                    Window::All => f32::from(sum >= count - 0.5),
                    Window::Any => f32::from(sum > 0.5),
                    Window::Mean => sum / count,
                };
            }
        }
    }
}
