//! ONNX model files as mimic writes and reads them: the few ONNX messages a feed-forward
//! generator needs (model, graph, node, attribute, tensor, value info), a minimal protobuf
//! encoder here and a decoder in [`read`], so the trainers can export and a generator from
//! elsewhere can be read, rewritten and written back; and [`runtime`], ONNX Runtime itself,
//! which runs them.
//!
//! Field numbers follow `onnx.proto` (ONNX 1.14, IR version 8, opset 17 unless the model
//! read said otherwise).

pub mod read;
pub mod runtime;
pub mod simplify;

/// ONNX IR version written (the one that goes with opset 17).
pub const IR_VERSION: i64 = 8;
/// Default-domain opset written.
pub const OPSET: i64 = 17;

/// ONNX tensor element types used here (the 8-bit ones for quantised weights and zero
/// points).
#[derive(Debug, Clone, Copy)]
pub enum ElemType {
    Float = 1,
    Uint8 = 2,
    Int8 = 3,
    Int32 = 6,
    Int64 = 7,
}

/// An attribute value on a node.
#[derive(Debug, Clone, PartialEq)]
pub enum Attr {
    Float(f32),
    Int(i64),
    Floats(Vec<f32>),
    Ints(Vec<i64>),
    Str(String),
    /// A constant tensor (a `Constant` node's value).
    Tensor(Initializer),
}

/// One operator in the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub op_type: String,
    pub name: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: Vec<(String, Attr)>,
}

impl Node {
    pub fn new(op_type: &str, name: &str, inputs: &[&str], outputs: &[&str]) -> Self {
        Self {
            op_type: op_type.into(),
            name: name.into(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
            attributes: Vec::new(),
        }
    }

    pub fn attr(mut self, name: &str, value: Attr) -> Self {
        self.attributes.push((name.into(), value));
        self
    }
}

/// A constant tensor (weights) stored in the graph.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    Float(Vec<f32>),
    Int64(Vec<i64>),
    Int32(Vec<i32>),
    Int8(Vec<i8>),
    Uint8(Vec<u8>),
}

impl TensorData {
    /// How many values it holds.
    pub fn len(&self) -> usize {
        match self {
            TensorData::Float(v) => v.len(),
            TensorData::Int64(v) => v.len(),
            TensorData::Int32(v) => v.len(),
            TensorData::Int8(v) => v.len(),
            TensorData::Uint8(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Initializer {
    pub name: String,
    pub dims: Vec<i64>,
    pub data: TensorData,
}

impl Initializer {
    /// Whether its data holds exactly the values its dimensions describe: what every rewrite
    /// that indexes a tensor by its dimensions relies on. A file can say anything, so a
    /// negative dimension or a product past `usize` counts as a mismatch.
    pub fn is_whole(&self) -> bool {
        element_count(&self.dims) == Some(self.data.len())
    }
}

/// How many values a tensor of `dims` holds; `None` for a negative dimension or a count that
/// does not fit in `usize`.
pub fn element_count(dims: &[i64]) -> Option<usize> {
    dims.iter().try_fold(1usize, |count, &d| {
        count.checked_mul(usize::try_from(d).ok()?)
    })
}

/// A graph input or output: a float tensor, its dimensions fixed or (−1) named, as a batch
/// dimension often is; no dimensions at all: a shape left for the runtime to infer (an
/// intermediate value exposed as an output).
#[derive(Debug, Clone, PartialEq)]
pub struct Io {
    pub name: String,
    pub dims: Vec<i64>,
}

/// A whole model ready to encode.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Model {
    pub graph_name: String,
    pub producer: String,
    /// The default domain's opset; `None`: [`OPSET`].
    pub opset: Option<i64>,
    /// The IR version read, written back if newer than [`IR_VERSION`] (a newer opset may
    /// need it).
    pub ir_version: Option<i64>,
    pub nodes: Vec<Node>,
    pub initializers: Vec<Initializer>,
    pub inputs: Vec<Io>,
    pub outputs: Vec<Io>,
    pub metadata: Vec<(String, String)>,
}

impl Model {
    /// The serialized `ModelProto`.
    pub fn encode(&self) -> Vec<u8> {
        let mut m = Msg::default();
        m.int(1, self.ir_version.unwrap_or(IR_VERSION).max(IR_VERSION));
        m.string(2, &self.producer);
        m.string(3, env!("CARGO_PKG_VERSION"));
        m.message(7, &self.graph());
        let mut opset = Msg::default();
        opset.string(1, "");
        opset.int(2, self.opset.unwrap_or(OPSET));
        m.message(8, &opset);
        for (key, value) in &self.metadata {
            let mut entry = Msg::default();
            entry.string(1, key);
            entry.string(2, value);
            m.message(14, &entry);
        }
        m.0
    }

    fn graph(&self) -> Msg {
        let mut g = Msg::default();
        for node in &self.nodes {
            g.message(1, &encode_node(node));
        }
        g.string(2, &self.graph_name);
        for init in &self.initializers {
            g.message(5, &encode_tensor(init));
        }
        for io in &self.inputs {
            g.message(11, &encode_value_info(io));
        }
        for io in &self.outputs {
            g.message(12, &encode_value_info(io));
        }
        g
    }
}

fn encode_node(node: &Node) -> Msg {
    let mut n = Msg::default();
    for input in &node.inputs {
        n.string(1, input);
    }
    for output in &node.outputs {
        n.string(2, output);
    }
    n.string(3, &node.name);
    n.string(4, &node.op_type);
    for (name, value) in &node.attributes {
        n.message(5, &encode_attr(name, value));
    }
    n
}

fn encode_attr(name: &str, value: &Attr) -> Msg {
    // AttributeProto.type: FLOAT 1, INT 2, STRING 3, TENSOR 4, FLOATS 6, INTS 7.
    let mut a = Msg::default();
    a.string(1, name);
    match value {
        Attr::Float(f) => {
            a.fixed32(2, f.to_bits());
            a.int(20, 1);
        }
        Attr::Int(i) => {
            a.int(3, *i);
            a.int(20, 2);
        }
        Attr::Str(s) => {
            a.bytes(4, s.as_bytes());
            a.int(20, 3);
        }
        Attr::Ints(v) => {
            for i in v {
                a.int(8, *i);
            }
            a.int(20, 7);
        }
        Attr::Floats(v) => {
            for f in v {
                a.fixed32(7, f.to_bits());
            }
            a.int(20, 6);
        }
        Attr::Tensor(t) => {
            a.message(5, &encode_tensor(t));
            a.int(20, 4);
        }
    }
    a
}

fn encode_tensor(init: &Initializer) -> Msg {
    let mut t = Msg::default();
    for d in &init.dims {
        t.int(1, *d);
    }
    let (elem, raw): (ElemType, Vec<u8>) = match &init.data {
        TensorData::Float(v) => (
            ElemType::Float,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        TensorData::Int64(v) => (
            ElemType::Int64,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        TensorData::Int32(v) => (
            ElemType::Int32,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        TensorData::Int8(v) => (ElemType::Int8, v.iter().map(|&x| x as u8).collect()),
        TensorData::Uint8(v) => (ElemType::Uint8, v.clone()),
    };
    t.int(2, elem as i64);
    t.string(8, &init.name);
    t.bytes(9, &raw);
    t
}

fn encode_value_info(io: &Io) -> Msg {
    let mut shape = Msg::default();
    for d in &io.dims {
        let mut dim = Msg::default();
        match *d >= 0 {
            true => dim.int(1, *d),
            false => dim.string(2, "N"),
        }
        shape.message(1, &dim);
    }
    let mut tensor = Msg::default();
    tensor.int(1, ElemType::Float as i64);
    if !io.dims.is_empty() {
        tensor.message(2, &shape);
    }
    let mut ty = Msg::default();
    ty.message(1, &tensor);
    let mut v = Msg::default();
    v.string(1, &io.name);
    v.message(2, &ty);
    v
}

/// A protobuf message being written: fields appended in order.
#[derive(Default)]
pub(crate) struct Msg(pub(crate) Vec<u8>);

impl Msg {
    fn key(&mut self, field: u32, wire: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire));
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn int(&mut self, field: u32, v: i64) {
        self.key(field, 0);
        self.varint(v as u64);
    }

    fn fixed32(&mut self, field: u32, v: u32) {
        self.key(field, 5);
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn bytes(&mut self, field: u32, b: &[u8]) {
        self.key(field, 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }

    pub(crate) fn string(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }

    fn message(&mut self, field: u32, m: &Msg) {
        self.bytes(field, &m.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_encode_as_protobuf_does() {
        let mut m = Msg::default();
        m.int(1, 300);
        assert_eq!(m.0, [0x08, 0xac, 0x02]);
        let mut neg = Msg::default();
        neg.int(1, -1);
        assert_eq!(
            neg.0.len(),
            11,
            "negative int64 takes ten bytes after the key"
        );
    }
}
