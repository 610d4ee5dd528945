//! Reading ONNX model files into a [`Model`]: the subset of `onnx.proto` the writer knows
//! (graph, nodes, attributes, float and int64 tensors stored inline or raw, float inputs and
//! outputs), so that a generator from elsewhere can be rewritten and written back. Fields
//! outside it that do not change what the graph computes (doc strings, value infos, training
//! info) are skipped; a model that needs more (another element type, an operator domain other
//! than ONNX's own, weights in an external file, a subgraph) is refused, saying what it uses.

use super::{Attr, ElemType, Initializer, Io, Model, Node, TensorData};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ReadError {
    #[error("the file ends inside a {0}: it is cut short or not an ONNX model")]
    Truncated(&'static str),
    #[error("the model uses {0}, which mimic cannot read")]
    Unsupported(String),
    #[error("the model has no graph: it is not an ONNX model")]
    NoGraph,
    #[error("tensor '{name}' has dimensions {dims:?} but holds {values} values: the file is damaged or was written wrongly")]
    Inconsistent {
        name: String,
        dims: Vec<i64>,
        values: usize,
    },
}

/// The model serialized in `bytes` (a `ModelProto`).
pub fn decode(bytes: &[u8]) -> Result<Model, ReadError> {
    let mut model = Model::default();
    let mut graph = None;
    for field in Fields::new(bytes, "model") {
        match field? {
            (1, Value::Varint(v)) => model.ir_version = Some(v as i64),
            (2, Value::Bytes(b)) => model.producer = text(b),
            (7, Value::Bytes(b)) => graph = Some(b),
            (8, Value::Bytes(b)) => read_opset(b, &mut model)?,
            (14, Value::Bytes(b)) => model.metadata.push(read_entry(b)?),
            _ => {}
        }
    }
    read_graph(graph.ok_or(ReadError::NoGraph)?, &mut model)?;
    Ok(model)
}

fn read_opset(bytes: &[u8], model: &mut Model) -> Result<(), ReadError> {
    let (mut domain, mut version) = (String::new(), None);
    for field in Fields::new(bytes, "opset import") {
        match field? {
            (1, Value::Bytes(b)) => domain = text(b),
            (2, Value::Varint(v)) => version = Some(v as i64),
            _ => {}
        }
    }
    match domain.as_str() {
        "" | "ai.onnx" => model.opset = version,
        _ => {} // a domain no node uses is harmless; a node that uses one is refused
    }
    Ok(())
}

fn read_entry(bytes: &[u8]) -> Result<(String, String), ReadError> {
    let (mut key, mut value) = (String::new(), String::new());
    for field in Fields::new(bytes, "metadata entry") {
        match field? {
            (1, Value::Bytes(b)) => key = text(b),
            (2, Value::Bytes(b)) => value = text(b),
            _ => {}
        }
    }
    Ok((key, value))
}

fn read_graph(bytes: &[u8], model: &mut Model) -> Result<(), ReadError> {
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    for field in Fields::new(bytes, "graph") {
        match field? {
            (1, Value::Bytes(b)) => model.nodes.push(read_node(b)?),
            (2, Value::Bytes(b)) => model.graph_name = text(b),
            (5, Value::Bytes(b)) => model.initializers.push(read_tensor(b)?),
            (11, Value::Bytes(b)) => inputs.push(read_value_info(b)?),
            (12, Value::Bytes(b)) => outputs.push(read_value_info(b)?),
            (15, Value::Bytes(_)) => {
                return Err(ReadError::Unsupported("sparse initializers".into()))
            }
            _ => {}
        }
    }
    // Older exporters list the initializers among the inputs too.
    let constant = |io: &Io| model.initializers.iter().any(|i| i.name == io.name);
    model.inputs = inputs.into_iter().filter(|io| !constant(io)).collect();
    model.outputs = outputs;
    Ok(())
}

fn read_node(bytes: &[u8]) -> Result<Node, ReadError> {
    let mut node = Node::new("", "", &[], &[]);
    for field in Fields::new(bytes, "node") {
        match field? {
            (1, Value::Bytes(b)) => node.inputs.push(text(b)),
            (2, Value::Bytes(b)) => node.outputs.push(text(b)),
            (3, Value::Bytes(b)) => node.name = text(b),
            (4, Value::Bytes(b)) => node.op_type = text(b),
            (5, Value::Bytes(b)) => node.attributes.push(read_attribute(b)?),
            (7, Value::Bytes(b)) if !matches!(text(b).as_str(), "" | "ai.onnx") => {
                return Err(ReadError::Unsupported(format!(
                    "an operator of the domain '{}'",
                    text(b)
                )))
            }
            _ => {}
        }
    }
    Ok(node)
}

fn read_attribute(bytes: &[u8]) -> Result<(String, Attr), ReadError> {
    let (mut name, mut kind) = (String::new(), 0);
    let (mut float, mut int, mut string, mut tensor) = (None, None, None, None);
    let (mut floats, mut ints) = (Vec::new(), Vec::new());
    for field in Fields::new(bytes, "attribute") {
        match field? {
            (1, Value::Bytes(b)) => name = text(b),
            (2, Value::Fixed32(v)) => float = Some(f32::from_bits(v)),
            (3, Value::Varint(v)) => int = Some(v as i64),
            (4, Value::Bytes(b)) => string = Some(text(b)),
            (5, Value::Bytes(b)) => tensor = Some(read_tensor(b)?),
            (7, Value::Fixed32(v)) => floats.push(f32::from_bits(v)),
            (7, Value::Bytes(b)) => floats.extend(packed_floats(b)?),
            (8, Value::Varint(v)) => ints.push(v as i64),
            (8, Value::Bytes(b)) => ints.extend(packed_varints(b)?),
            (20, Value::Varint(v)) => kind = v,
            _ => {}
        }
    }
    // AttributeProto.type: FLOAT 1, INT 2, STRING 3, TENSOR 4, FLOATS 6, INTS 7.
    let value = match kind {
        1 => float.map(Attr::Float),
        2 => int.map(Attr::Int),
        3 => string.map(Attr::Str),
        4 => tensor.map(Attr::Tensor),
        6 => Some(Attr::Floats(floats)),
        7 => Some(Attr::Ints(ints)),
        other => {
            return Err(ReadError::Unsupported(format!(
                "an attribute '{name}' of type {other}"
            )))
        }
    };
    value
        .map(|v| (name.clone(), v))
        .ok_or(ReadError::Unsupported(format!(
            "an attribute '{name}' without its value"
        )))
}

fn read_tensor(bytes: &[u8]) -> Result<Initializer, ReadError> {
    let (mut name, mut dims, mut kind) = (String::new(), Vec::new(), 0);
    let (mut floats, mut ints, mut small, mut raw) = (Vec::new(), Vec::new(), Vec::new(), None);
    for field in Fields::new(bytes, "tensor") {
        match field? {
            (5, Value::Varint(v)) => small.push(v as i64),
            (5, Value::Bytes(b)) => small.extend(packed_varints(b)?),
            (1, Value::Varint(v)) => dims.push(v as i64),
            (1, Value::Bytes(b)) => dims.extend(packed_varints(b)?),
            (2, Value::Varint(v)) => kind = v,
            (4, Value::Fixed32(v)) => floats.push(f32::from_bits(v)),
            (4, Value::Bytes(b)) => floats.extend(packed_floats(b)?),
            (7, Value::Varint(v)) => ints.push(v as i64),
            (7, Value::Bytes(b)) => ints.extend(packed_varints(b)?),
            (8, Value::Bytes(b)) => name = text(b),
            (9, Value::Bytes(b)) => raw = Some(b),
            (13, _) | (14, Value::Varint(1)) => {
                return Err(ReadError::Unsupported(format!(
                    "weights in an external file (tensor '{name}')"
                )))
            }
            _ => {}
        }
    }
    let data = match (kind, raw) {
        (k, Some(raw)) if k == ElemType::Float as u64 => TensorData::Float(
            raw.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        (k, Some(raw)) if k == ElemType::Int64 as u64 => TensorData::Int64(
            raw.chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ),
        (k, Some(raw)) if k == ElemType::Int32 as u64 => TensorData::Int32(
            raw.chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        ),
        (k, Some(raw)) if k == ElemType::Int8 as u64 => {
            TensorData::Int8(raw.iter().map(|&b| b as i8).collect())
        }
        (k, Some(raw)) if k == ElemType::Uint8 as u64 => TensorData::Uint8(raw.to_vec()),
        (k, None) if k == ElemType::Float as u64 => TensorData::Float(floats),
        (k, None) if k == ElemType::Int64 as u64 => TensorData::Int64(ints),
        // int32 and 8-bit values outside `raw_data` are stored one per varint in `int32_data`
        // (field 5).
        (k, None) if k == ElemType::Int32 as u64 => {
            TensorData::Int32(small.iter().map(|&v| v as i32).collect())
        }
        (k, None) if k == ElemType::Int8 as u64 => {
            TensorData::Int8(small.iter().map(|&v| v as i8).collect())
        }
        (k, None) if k == ElemType::Uint8 as u64 => {
            TensorData::Uint8(small.iter().map(|&v| v as u8).collect())
        }
        (other, _) => {
            return Err(ReadError::Unsupported(format!(
                "tensor '{name}' of element type {other} (mimic reads float, int64, int32, int8 and uint8)"
            )))
        }
    };
    let tensor = Initializer { name, dims, data };
    // Checked here, once, so that nothing downstream (the rewrites, quantisation) indexes
    // a tensor past its values.
    if !tensor.is_whole() {
        return Err(ReadError::Inconsistent {
            values: tensor.data.len(),
            name: tensor.name,
            dims: tensor.dims,
        });
    }
    Ok(tensor)
}

/// A graph input or output: its name and shape (a named dimension as −1); only float
/// tensors.
fn read_value_info(bytes: &[u8]) -> Result<Io, ReadError> {
    let (mut name, mut ty) = (String::new(), None);
    for field in Fields::new(bytes, "value info") {
        match field? {
            (1, Value::Bytes(b)) => name = text(b),
            (2, Value::Bytes(b)) => ty = Some(b),
            _ => {}
        }
    }
    let mut tensor = None;
    for field in Fields::new(ty.unwrap_or_default(), "type") {
        if let (1, Value::Bytes(b)) = field? {
            tensor = Some(b);
        }
    }
    let Some(tensor) = tensor else {
        return Err(ReadError::Unsupported(format!(
            "'{name}', an input or output that is not a tensor"
        )));
    };
    let (mut kind, mut dims) = (0, Vec::new());
    for field in Fields::new(tensor, "tensor type") {
        match field? {
            (1, Value::Varint(v)) => kind = v,
            (2, Value::Bytes(shape)) => {
                for dim in Fields::new(shape, "shape") {
                    if let (1, Value::Bytes(d)) = dim? {
                        dims.push(read_dim(d)?);
                    }
                }
            }
            _ => {}
        }
    }
    if kind != ElemType::Float as u64 {
        return Err(ReadError::Unsupported(format!(
            "'{name}', an input or output of element type {kind} (mimic's are float)"
        )));
    }
    Ok(Io { name, dims })
}

fn read_dim(bytes: &[u8]) -> Result<i64, ReadError> {
    let mut value = -1;
    for field in Fields::new(bytes, "dimension") {
        if let (1, Value::Varint(v)) = field? {
            value = v as i64;
        }
    }
    Ok(value)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn packed_floats(bytes: &[u8]) -> Result<Vec<f32>, ReadError> {
    if !bytes.len().is_multiple_of(4) {
        return Err(ReadError::Truncated("packed float list"));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

fn packed_varints(mut bytes: &[u8]) -> Result<Vec<i64>, ReadError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (v, used) = varint(bytes).ok_or(ReadError::Truncated("packed integer list"))?;
        out.push(v as i64);
        bytes = &bytes[used..];
    }
    Ok(out)
}

/// One field's value as it is on the wire.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    Varint(u64),
    /// Eight bytes, skipped: no field mimic reads is a double or a fixed64.
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// The fields of one protobuf message, in order: (field number, value).
struct Fields<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Fields<'a> {
    fn new(bytes: &'a [u8], what: &'static str) -> Fields<'a> {
        Fields { bytes, what }
    }

    fn field(&mut self) -> Option<(u32, Value<'a>)> {
        let (key, used) = varint(self.bytes)?;
        let rest = &self.bytes[used..];
        let (value, used) = match key & 7 {
            0 => varint(rest).map(|(v, n)| (Value::Varint(v), n))?,
            1 => {
                rest.get(..8)?;
                (Value::Fixed64, 8)
            }
            2 => {
                let (len, n) = varint(rest)?;
                let end = n.checked_add(usize::try_from(len).ok()?)?;
                (Value::Bytes(rest.get(n..end)?), end)
            }
            5 => {
                let b = rest.get(..4)?;
                (Value::Fixed32(u32::from_le_bytes(b.try_into().ok()?)), 4)
            }
            _ => return None,
        };
        self.bytes = &rest[used..];
        Some(((key >> 3) as u32, value))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Value<'a>), ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.bytes.is_empty() {
            return None;
        }
        match self.field() {
            Some(field) => Some(Ok(field)),
            None => {
                self.bytes = &[];
                Some(Err(ReadError::Truncated(self.what)))
            }
        }
    }
}

/// A varint at the start of `bytes` and how many bytes it took.
fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_reads_back_as_it_was_written() {
        let model = Model {
            graph_name: "g".into(),
            producer: "mimic".into(),
            opset: Some(13),
            ir_version: Some(8),
            nodes: vec![
                Node::new("Conv", "c", &["x", "w"], &["y"])
                    .attr("strides", Attr::Ints(vec![2, 2]))
                    .attr("alpha", Attr::Float(0.2))
                    .attr("scales", Attr::Floats(vec![1.0, 2.0]))
                    .attr("mode", Attr::Str("nearest".into())),
                Node::new("Constant", "k", &[], &["z"]).attr(
                    "value",
                    Attr::Tensor(Initializer {
                        name: "kz".into(),
                        dims: vec![2],
                        data: TensorData::Int64(vec![-1, 7]),
                    }),
                ),
            ],
            initializers: vec![
                Initializer {
                    name: "w".into(),
                    dims: vec![1, 1, 3, 3],
                    data: TensorData::Float((0..9).map(|i| i as f32 * 0.5 - 1.0).collect()),
                },
                Initializer {
                    name: "w_q".into(),
                    dims: vec![3],
                    data: TensorData::Int8(vec![-128, 0, 127]),
                },
                Initializer {
                    name: "zero".into(),
                    dims: vec![2],
                    data: TensorData::Uint8(vec![0, 255]),
                },
            ],
            inputs: vec![Io {
                name: "x".into(),
                dims: vec![-1, 1, 8, 8],
            }],
            outputs: vec![Io {
                name: "y".into(),
                dims: vec![1, 1, 3, 3],
            }],
            metadata: vec![("comment".into(), "made here".into())],
        };
        assert_eq!(decode(&model.encode()).unwrap(), model);
    }

    #[test]
    fn a_cut_file_and_a_foreign_domain_are_refused() {
        let model = Model {
            nodes: vec![Node::new("Relu", "r", &["x"], &["y"])],
            ..Default::default()
        };
        let bytes = model.encode();
        assert!(matches!(
            decode(&bytes[..bytes.len() - 3]),
            Err(ReadError::Truncated(_))
        ));
        let mut foreign = super::super::Msg::default();
        foreign.string(4, "QLinearConv");
        foreign.string(7, "com.microsoft");
        assert!(matches!(
            read_node(&foreign.0),
            Err(ReadError::Unsupported(s)) if s.contains("com.microsoft")
        ));
    }

    #[test]
    fn a_tensor_whose_dimensions_do_not_describe_its_values_is_refused() {
        let with = |dims: Vec<i64>, values: Vec<f32>| Model {
            initializers: vec![Initializer {
                name: "w".into(),
                dims,
                data: TensorData::Float(values),
            }],
            ..Default::default()
        };
        for (dims, values) in [
            (vec![2, 3], vec![0.0; 5]),
            (vec![-1], vec![]),
            (vec![-2, -3], vec![0.0; 6]),
            (vec![1 << 40, 1 << 40, 1 << 40], vec![]),
        ] {
            let error = decode(&with(dims.clone(), values).encode()).unwrap_err();
            assert!(
                matches!(&error, ReadError::Inconsistent { name, .. } if name == "w"),
                "{dims:?}: {error}"
            );
        }
        assert!(decode(&with(vec![2, 0], vec![]).encode()).is_ok());
        assert!(decode(&with(vec![], vec![1.0]).encode()).is_ok());
    }
}
