//! Loading a generator's graph: simplified by mimic's exact rewrites where it can be, and when
//! ONNX Runtime refuses it, a reason a person can act on.

use std::path::Path;

/// The model's graph simplified, or `None` (then it runs as the file has it) when mimic's
/// reader cannot read it or there is nothing to simplify.
pub(super) fn simplified(model: &Path) -> Option<Vec<u8>> {
    let bytes = std::fs::read(model).ok()?;
    let read = match crate::onnx::read::decode(&bytes) {
        Ok(read) => read,
        Err(e) => {
            tracing::debug!("running '{}' as it is: {e}", model.display());
            return None;
        }
    };
    let simplified = crate::onnx::simplify::simplify(read.clone());
    (simplified != read).then(|| simplified.encode())
}

/// Why ONNX Runtime could not load a model, for a person: without the C++ source location it
/// comes with, and with what to do where that is known.
pub(super) fn load_failure(message: &str) -> String {
    let reason = without_source_location(message);
    let number_after = |key: &str| -> Option<u32> {
        let at = reason.find(key)? + key.len();
        let digits: String = reason[at..]
            .chars()
            .skip_while(|c| c.is_whitespace())
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    match (number_after("Opset"), number_after("is till opset")) {
        (Some(used), Some(supported)) => format!(
            "it uses ONNX opset {used}, and this ONNX Runtime supports up to opset {supported}: export it again with opset {supported} or lower"
        ),
        _ => format!("{reason} (is it a complete ONNX file?)"),
    }
}

/// `…failed:/onnxruntime_src/path.h:46 void f(args) reason` → `reason`.
fn without_source_location(message: &str) -> &str {
    let Some(at) = message.find("/onnxruntime_src/") else {
        return message.trim();
    };
    let rest = &message[at..];
    let Some(open) = rest.find('(') else {
        return message.trim();
    };
    let mut depth = 0;
    for (i, c) in rest[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 1 => return rest[open + i + 1..].trim(),
            ')' => depth -= 1,
            _ => {}
        }
    }
    message.trim()
}
