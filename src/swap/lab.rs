//! CIE Lab (D65) and sRGB: the colour space the swap's colour transfer and the translation
//! evaluation's colour statistics work in, where distances follow what the eye sees.

/// sRGB values made linear, once.
fn linear_table() -> &'static [f32; 256] {
    static TABLE: std::sync::OnceLock<[f32; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        std::array::from_fn(|i| {
            let v = i as f32 / 255.0;
            if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        })
    })
}

/// sRGB → CIE Lab (D65).
pub fn rgb_to_lab(rgb: [u8; 3]) -> [f32; 3] {
    let table = linear_table();
    let linear = rgb.map(|v| table[usize::from(v)]);
    let [r, g, b] = linear;
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let (fx, fy, fz) = (lab_f(x), lab_f(y), lab_f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// Lab's companding of a relative tristimulus value: a cube root, linear near black.
fn lab_f(t: f32) -> f32 {
    if t <= 0.008856 {
        return 7.787 * t + 16.0 / 116.0;
    }
    // From a table, linearly between its steps (within 2e-5 of the cube root; the swap's
    // colour match takes three a pixel, and `cbrt` was most of its time).
    let table = cube_root_table();
    let at = (t.min(CUBE_ROOT_SPAN) / CUBE_ROOT_SPAN) * CUBE_ROOT_STEPS as f32;
    let i = (at as usize).min(CUBE_ROOT_STEPS - 1);
    let f = at - i as f32;
    table[i] + (table[i + 1] - table[i]) * f
}

/// Tristimulus values relative to white stay below this (a little over 1 for saturated
/// colours); the table covers up to it.
const CUBE_ROOT_SPAN: f32 = 1.25;
const CUBE_ROOT_STEPS: usize = 4096;

fn cube_root_table() -> &'static [f32] {
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=CUBE_ROOT_STEPS)
            .map(|i| (i as f32 / CUBE_ROOT_STEPS as f32 * CUBE_ROOT_SPAN).cbrt())
            .collect()
    })
}

/// CIE Lab (D65) → sRGB, clamped.
pub fn lab_to_rgb([l, a, b]: [f32; 3]) -> [u8; 3] {
    let fy = (l + 16.0) / 116.0;
    let (fx, fz) = (fy + a / 500.0, fy - b / 200.0);
    let inv = |t: f32| {
        if t > 0.206_893 {
            t * t * t
        } else {
            (t - 16.0 / 116.0) / 7.787
        }
    };
    let (x, y, z) = (inv(fx) * 0.95047, inv(fy), inv(fz) * 1.08883);
    let r = 3.2406 * x - 1.5372 * y - 0.4986 * z;
    let g = -0.9689 * x + 1.8758 * y + 0.0415 * z;
    let bl = 0.0557 * x - 0.2040 * y + 1.0570 * z;
    let table = encode_table();
    [r, g, bl].map(|v| table[(v.clamp(0.0, 1.0) * ENCODE_STEPS as f32 + 0.5) as usize])
}

/// Linear values are encoded through a table of this many steps: fine enough that every
/// sRGB level has its own (the steepest part, near black, climbs 12.92 levels per 255th).
const ENCODE_STEPS: usize = 1 << 14;

/// Linear light in `ENCODE_STEPS` steps → sRGB levels, once (the swap's colour match encodes
/// every face pixel every frame, and `powf` would be most of its time).
fn encode_table() -> &'static [u8] {
    static TABLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (0..=ENCODE_STEPS)
            .map(|i| {
                let v = i as f32 / ENCODE_STEPS as f32;
                let v = if v <= 0.003_130_8 {
                    12.92 * v
                } else {
                    1.055 * v.powf(1.0 / 2.4) - 0.055
                };
                (v * 255.0).round() as u8
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cube_root_table_matches_the_cube_root() {
        for i in 0..=2000 {
            let t = 0.009 + i as f32 * (1.2 / 2000.0);
            assert!((lab_f(t) - t.cbrt()).abs() < 5e-5, "{t}");
        }
    }

    #[test]
    fn lab_round_trips() {
        let levels = (0..=255u8).step_by(5);
        let greys = levels.clone().map(|v| [v, v, v]);
        let ramps = levels.map(|v| [v, 255 - v, v / 2]);
        let colours = [[200, 30, 90], [12, 140, 250], [1, 2, 3], [254, 253, 1]];
        for rgb in greys.chain(ramps).chain(colours) {
            let back = lab_to_rgb(rgb_to_lab(rgb));
            for c in 0..3 {
                assert!(
                    (i32::from(back[c]) - i32::from(rgb[c])).abs() <= 1,
                    "{rgb:?} → {back:?}"
                );
            }
        }
    }
}
