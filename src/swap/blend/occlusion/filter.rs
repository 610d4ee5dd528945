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

#[cfg(test)]
mod tests {
    use super::*;

    /// A 0/1 grid of `side`² with the cells `on` says set.
    fn grid(side: usize, on: impl Fn(usize, usize) -> bool) -> Vec<f32> {
        (0..side * side)
            .map(|i| f32::from(on(i % side, i / side)))
            .collect()
    }

    #[test]
    fn windows_erode_dilate_and_blur_as_their_names_say() {
        let n = 20;
        let square = |x: usize, y: usize| (5..15).contains(&x) && (5..15).contains(&y);
        let mut s = Vec::new();
        let mut w = grid(n, square);
        filter(&mut w, &mut s, n as u32, 2, Window::All);
        assert_eq!(
            w,
            grid(n, |x, y| (7..13).contains(&x) && (7..13).contains(&y))
        );
        filter(&mut w, &mut s, n as u32, 2, Window::Any);
        assert_eq!(w, grid(n, square), "opening gives the square back");
        filter(&mut w, &mut s, n as u32, 1, Window::Mean);
        assert_eq!(w[10 * n + 10], 1.0, "inside");
        assert_eq!(
            w[5 * n + 10],
            2.0 / 3.0,
            "on the edge, a third of the window outside"
        );
        assert_eq!(w[0], 0.0);
    }

    #[test]
    fn a_majority_takes_a_thin_line_away_and_fills_a_speckled_patch() {
        let n = 24;
        let line = |x: usize, y: usize| y == 4 && x > 2;
        let speckled = |x: usize, y: usize| {
            (12..20).contains(&x) && (12..20).contains(&y) && !(x + y).is_multiple_of(3)
        };
        let mut w = grid(n, |x, y| line(x, y) || speckled(x, y));
        let mut s = Vec::new();
        filter(&mut w, &mut s, n as u32, 2, Window::Mean);
        w.iter_mut().for_each(|v| *v = f32::from(*v > 0.5));
        assert!((0..n).all(|x| w[4 * n + x] == 0.0), "the line is gone");
        assert!(
            (14..18).all(|x| (14..18).all(|y| w[y * n + x] == 1.0)),
            "the patch is whole inside (its edge, half outside each window, goes)"
        );
    }
}
