//! PyTorch's legacy (pre-1.6) `.pt` files, which the facenet-pytorch wheel's MTCNN networks
//! are: five pickles one after the other (magic number, protocol, system info, the state
//! dict, the storage keys in order) and then each storage's raw bytes, its element count
//! first. Only float32 tensors on the CPU, contiguous or not, are read: all these files hold.

use std::collections::HashMap;
use std::io::{BufRead, Read};
use std::path::Path;

use candle_core::pickle::{Object, Stack};

use super::MtcnnError;

/// A tensor's dimensions and values (row-major).
pub type Weights = (Vec<usize>, Vec<f32>);

/// The file's tensors by name (`conv1.weight`, `prelu1.weight`, …); candle's pickle reader
/// parses the pickles.
pub fn read(path: &Path) -> Result<HashMap<String, Weights>, MtcnnError> {
    let bad = |reason: String| MtcnnError::Weights {
        path: path.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let mut reader = std::io::BufReader::new(file);
    let mut pickles = Vec::new();
    for _ in 0..5 {
        pickles.push(pickle(&mut reader).map_err(&bad)?);
    }
    let keys = match pickles.pop() {
        Some(Object::List(keys)) => keys
            .into_iter()
            .map(|k| String::try_from(k).map_err(|_| bad("a storage key is not text".into())))
            .collect::<Result<Vec<_>, _>>()?,
        _ => return Err(bad("no storage keys: not a legacy PyTorch file".into())),
    };
    let mut storages = HashMap::new();
    for key in keys {
        storages.insert(key, storage(&mut reader).map_err(&bad)?);
    }
    let Some(Object::Dict(entries)) = pickles.pop() else {
        return Err(bad("no state dict".into()));
    };
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
            let tensor = tensor(value, &storages)
                .map_err(|reason| bad(format!("tensor {name}: {reason}")))?;
            Ok((name, tensor))
        })
        .collect()
}

fn pickle(reader: &mut impl BufRead) -> Result<Object, String> {
    let mut stack = Stack::empty();
    stack.read_loop(reader).map_err(|e| e.to_string())?;
    stack.finalize().map_err(|e| e.to_string())
}

/// One storage: its element count (little-endian u64), then as many float32s.
fn storage(reader: &mut impl Read) -> Result<Vec<f32>, String> {
    let mut count = [0u8; 8];
    reader.read_exact(&mut count).map_err(|e| e.to_string())?;
    let count = u64::from_le_bytes(count) as usize;
    if count > 1 << 28 {
        return Err(format!("a storage of {count} elements"));
    }
    let mut bytes = vec![0u8; count * 4];
    reader.read_exact(&mut bytes).map_err(|e| e.to_string())?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, …)` made from its storage.
fn tensor(value: Object, storages: &HashMap<String, Vec<f32>>) -> Result<Weights, String> {
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
    let offset = usize::try_from(*offset).map_err(|_| "negative offset")?;
    let count: usize = size.iter().product();
    // Gathered element by element: small tensors, and the strides may not be contiguous.
    let mut values = Vec::with_capacity(count);
    for flat in 0..count {
        let (mut rest, mut at) = (flat, offset);
        for (&n, &s) in size.iter().zip(&stride).rev() {
            at += (rest % n) * s;
            rest /= n;
        }
        values.push(*data.get(at).ok_or("its storage is too short")?);
    }
    Ok((size, values))
}
