//! PyTorch's legacy (pre-1.6) `.pt` files, which the facenet-pytorch wheel's MTCNN networks
//! are: five pickles one after the other (magic number, protocol, system info, the state
//! dict, the storage keys in order) and then each storage's raw bytes, its element count
//! first. Only float32 tensors on the CPU, contiguous or not, are read: all these files hold.
//!
//! The file is read whole and every length in it checked against the bytes it has before
//! anything is allocated: a damaged file is refused with what was wrong, within a few times
//! its own size of memory.

use std::collections::HashMap;
use std::path::Path;

use candle_core::pickle::{Object, Stack};

use super::pickle::{self, Budget};
use super::MtcnnError;

/// A tensor's dimensions and values (row-major).
pub type Weights = (Vec<usize>, Vec<f32>);

/// The bytes of objects candle may build for a file's pickles, per byte of the file, as
/// [`pickle`] counts them: `pnet.pt`, whose weights are smallest beside its pickles, needs
/// between 4 and 8, `rnet.pt` and `onet.pt` under 1. A pickle that asks for more is no
/// state dict.
const PICKLE_BYTES_PER_BYTE: usize = 64;

/// The file's tensors by name (`conv1.weight`, `prelu1.weight`, …); candle's pickle reader
/// parses the pickles, once [`pickle`] has measured them. Everything allocated is bounded by
/// the file's length: the file itself, its storages (each checked against the bytes left),
/// the pickles' objects ([`PICKLE_BYTES_PER_BYTE`]) and the tensors (no more values than the
/// storages hold).
pub fn read(path: &Path) -> Result<HashMap<String, Weights>, MtcnnError> {
    let bad = |reason: String| MtcnnError::Weights {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    parse(&bytes).map_err(bad)
}

/// The first pickle of a legacy PyTorch file: PROTO 2, LONG1 of 10 bytes (the magic number
/// 0x1950a86a20f9469cfc6c), STOP. Compared as bytes rather than read by candle, whose LONG1
/// shifts past an i64 on more than 8 bytes.
const MAGIC: &[u8] = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19\x2e";

/// [`read`] on the file's bytes; why not, as a phrase.
pub fn parse(bytes: &[u8]) -> Result<HashMap<String, Weights>, String> {
    let mut rest = bytes.strip_prefix(MAGIC).ok_or(
        "it does not start with PyTorch's magic number: not a legacy (pre-1.6) PyTorch file",
    )?;
    let mut budget = Budget::for_file(bytes.len(), PICKLE_BYTES_PER_BYTE);
    // The protocol, the system's sizes, the state dict and the storage keys.
    let mut pickles = Vec::new();
    for _ in 0..4 {
        let length = pickle::checked_length(rest, &mut budget)?;
        let (this, after) = rest.split_at(length);
        pickles.push(unpickle(this)?);
        rest = after;
    }
    let keys = match pickles.pop() {
        Some(Object::List(keys)) => keys
            .into_iter()
            .map(|k| String::try_from(k).map_err(|_| "a storage key is not text".to_string()))
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err("no storage keys: not a legacy PyTorch file".into()),
    };
    let mut storages = HashMap::new();
    for key in keys {
        let values = storage(&mut rest)?;
        storages.insert(key, values);
    }
    let Some(Object::Dict(entries)) = pickles.pop() else {
        return Err("no state dict".into());
    };
    // The tensors together may hold no more values than the storages: a file whose every
    // tensor views one large storage would otherwise copy it once per tensor.
    let mut left = storages.values().map(Vec::len).sum::<usize>();
    entries
        .into_iter()
        .filter_map(|(name, value)| {
            // PyTorch keeps the modules' versions beside the tensors, under `_metadata`.
            let name = String::try_from(name)
                .ok()
                .filter(|n| !n.starts_with('_'))?;
            Some((name, value))
        })
        .map(|(name, value)| {
            let tensor = tensor(value, &storages, &mut left)
                .map_err(|reason| format!("tensor {name}: {reason}"))?;
            Ok((name, tensor))
        })
        .collect()
}

fn unpickle(mut bytes: &[u8]) -> Result<Object, String> {
    let mut stack = Stack::empty();
    stack.read_loop(&mut bytes).map_err(reason)?;
    stack.finalize().map_err(reason)
}

/// candle's error as one phrase, without the backtrace it carries when `RUST_BACKTRACE` is
/// set: a refusal is one sentence, and printing a backtrace loads the binary's debug
/// information (about 100 MB).
fn reason(e: candle_core::Error) -> String {
    match e {
        candle_core::Error::WithBacktrace { inner, .. } => reason(*inner),
        other => other.to_string(),
    }
}

/// One storage: its element count (little-endian u64), then as many float32s, taken from
/// the front of `rest`; the count is checked against the bytes left before anything is
/// allocated.
fn storage(rest: &mut &[u8]) -> Result<Vec<f32>, String> {
    let Some((count, after)) = rest.split_first_chunk::<8>() else {
        return Err("the file ends before a storage's length: it is cut short".into());
    };
    let count = u64::from_le_bytes(*count);
    let bytes = usize::try_from(count)
        .ok()
        .and_then(|n| n.checked_mul(4))
        .filter(|&n| n <= after.len())
        .ok_or_else(|| {
            format!(
                "a storage of {count} values where the file has {} bytes left: it is cut short or damaged",
                after.len()
            )
        })?;
    let (data, after) = after.split_at(bytes);
    *rest = after;
    Ok(data
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)` made from its storage,
/// taking its values from the `left` the tensors may still hold.
fn tensor(
    value: Object,
    storages: &HashMap<String, Vec<f32>>,
    left: &mut usize,
) -> Result<Weights, String> {
    let Object::Reduce { callable, args } = value else {
        return Err("not a tensor".into());
    };
    match *callable {
        Object::Class { class_name, .. } if class_name == "_rebuild_tensor_v2" => {}
        other => return Err(format!("made by {other:?}, not _rebuild_tensor_v2")),
    }
    let Object::Tuple(args) = *args else {
        return Err("its arguments are not a tuple".into());
    };
    let [Object::PersistentLoad(storage), Object::Int(offset), size, stride, ..] = &args[..] else {
        return Err("unexpected arguments".into());
    };
    let key = match storage.as_ref() {
        Object::Tuple(parts) => match parts.as_slice() {
            [_, Object::Class { class_name, .. }, Object::Unicode(key), ..]
                if class_name == "FloatStorage" =>
            {
                key
            }
            _ => return Err("not a float storage".into()),
        },
        _ => return Err("unexpected storage".into()),
    };
    let data = storages.get(key).ok_or("its storage is missing")?;
    let dims = |o: &Object| -> Result<Vec<usize>, String> {
        Vec::<usize>::try_from(o.clone()).map_err(|_| "unexpected dimensions".to_string())
    };
    let (size, stride) = (dims(size)?, dims(stride)?);
    if size.len() != stride.len() {
        return Err(format!(
            "its size {size:?} and stride {stride:?} differ in rank"
        ));
    }
    let offset = usize::try_from(*offset).map_err(|_| "negative offset")?;
    let count = size
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= *left)
        .ok_or_else(|| format!("its size {size:?} holds more values than the file"))?;
    *left -= count;
    // Gathered element by element: small tensors, and the strides may not be contiguous.
    let mut values = Vec::with_capacity(count);
    for flat in 0..count {
        let (mut rest, mut at) = (flat, Some(offset));
        for (&n, &s) in size.iter().zip(&stride).rev() {
            // n > 0 here: a zero dimension makes count 0.
            at = at.and_then(|a| a.checked_add((rest % n).checked_mul(s)?));
            rest /= n;
        }
        let value = at.and_then(|a| data.get(a));
        values.push(*value.ok_or("its storage is too short")?);
    }
    Ok((size, values))
}
