//! Issue 30, hostile inputs: files that are readable but say nonsense get one sentence and
//! exit status 2 from the binary, never a panic, and no reader allocates much more than the
//! file it reads.
//!
//! Two kinds of test: crafted files, each of which crashed mimic once (models that crashed the
//! graph simplifier, `.pt` files that made the MTCNN reader allocate gigabytes, a dlib model
//! that made dlib abort the process); and a fuzz-style sweep, random mutations of real files
//! (an ONNX generator, its card, the MTCNN weights, a face set's index, pictures, a video) fed
//! to mimic's readers in this process, each case watched for a panic and for its allocations
//! by this binary's counting allocator. dlib's models are mutated too, but through the binary
//! in a child process: dlib is C++ and its failures end a process rather than unwind.

mod common;

use std::alloc::{GlobalAlloc, Layout as AllocLayout, System};
use std::cell::Cell;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{arg, onnx_model, testdata};
use mimic::infer::{ColorOrder, Layout, ModelCard, ModelKind, TensorSpec};
use mimic::onnx::{Attr, Initializer, Model, Node, TensorData};

/// The side of the crafted models' pictures (their cards make them style models of it).
const SIDE: i64 = 64;

fn tensor(name: &str, dims: Vec<i64>, data: Vec<f32>) -> Initializer {
    Initializer {
        name: name.into(),
        dims,
        data: TensorData::Float(data),
    }
}

fn image_dims() -> Vec<i64> {
    vec![1, 3, SIDE, SIDE]
}

/// A batch norm of 3 channels from `from` into `output`, its parameters named after it.
fn batch_norm(from: &str) -> (Node, Vec<Initializer>) {
    let names = ["bn_scale", "bn_bias", "bn_mean", "bn_var"];
    let node = Node::new(
        "BatchNormalization",
        "bn",
        &[from, names[0], names[1], names[2], names[3]],
        &["output"],
    );
    let values = [1.0, 0.0, 0.0, 1.0];
    let params = names
        .iter()
        .zip(values)
        .map(|(n, v)| tensor(n, vec![3], vec![v; 3]))
        .collect();
    (node, params)
}

/// A nearest ×2 upsampling of the input into `up`.
fn doubling() -> (Node, Initializer) {
    let node = Node::new("Resize", "up", &["input", "", "scales"], &["up"])
        .attr("mode", Attr::Str("nearest".into()));
    (node, tensor("scales", vec![4], vec![1.0, 1.0, 2.0, 2.0]))
}

/// Runs `mimic bench` on `model` for two frames of d0.
fn bench(model: &Path) -> Output {
    common::mimic(&[
        "bench",
        "--model",
        arg(model),
        "--input",
        arg(&testdata("video/d0.mp4")),
        "--frames",
        "2",
    ])
}

/// Runs `mimic quantize` on `model`, calibrated on d0.
fn quantize(model: &Path) -> Output {
    common::mimic(&[
        "quantize",
        arg(model),
        "--calibration",
        arg(&testdata("video/d0.mp4")),
        "--frames",
        "4",
    ])
}

/// A run refused with exit status 2 and one sentence on stderr, not a panic.
fn refused_in_one_sentence(run: &Output, what: &str) -> String {
    let said = common::refusal(run);
    assert!(!said.contains("panicked"), "{what}: {said}");
    assert_eq!(said.trim().lines().count(), 1, "{what}: {said}");
    said
}

/// The crafted models, each with what it says that is wrong, and a card beside it (a style
/// model of its input's side) so that nothing but the refusal is said.
fn crafted(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let models = crafted_models(dir);
    for (_, model) in &models {
        let read = mimic::onnx::read::decode(&std::fs::read(model).unwrap());
        let side = read.map_or(SIDE, |m| m.inputs[0].dims[3]);
        let spec = TensorSpec {
            size: side as u32,
            layout: Layout::Nchw,
            range: [-1.0, 1.0],
            color: ColorOrder::Rgb,
        };
        ModelCard::new(ModelKind::Stylize, spec)
            .write_beside(model)
            .unwrap();
    }
    models
}

fn crafted_models(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let mut models = Vec::new();
    // A convolution of 3 channels whose bias has 2 values, then a batch norm: the fold read
    // the bias as one value per channel, past its end.
    let (bn, mut params) = batch_norm("y");
    params.push(tensor("w", vec![3, 3, 3, 3], vec![0.1; 81]));
    params.push(tensor("b", vec![2], vec![0.0; 2]));
    let conv = Node::new("Conv", "conv", &["input", "w", "b"], &["y"])
        .attr("pads", Attr::Ints(vec![1; 4]));
    models.push((
        "a bias shorter than the channels",
        onnx_model(dir, "short_bias", image_dims(), vec![conv, bn], params),
    ));
    // A convolution weight whose first dimension is −1 (no values): the fold cast it to a
    // channel count of 2⁶⁴ − 1 and made a vector that long.
    let (bn, mut params) = batch_norm("y");
    for p in &mut params {
        p.dims = vec![1];
        p.data = TensorData::Float(vec![1.0]);
    }
    params.push(tensor("w", vec![-1, 3, 3, 3], vec![]));
    let conv = Node::new("Conv", "conv", &["input", "w"], &["y"]);
    models.push((
        "a negative channel count",
        onnx_model(dir, "negative_dim", image_dims(), vec![conv, bn], params),
    ));
    // An upsampling convolution of 2³² × 2³² channels and no values: the product of its
    // dimensions wrapped to 0, which matched, and the rewrite indexed its kernel.
    let (up, scales) = doubling();
    let w = tensor("w", vec![1 << 32, 1 << 32, 1, 1], vec![]);
    let conv = Node::new("Conv", "conv", &["up", "w"], &["output"]);
    models.push((
        "dimensions whose product overflows",
        onnx_model(
            dir,
            "overflow",
            image_dims(),
            vec![up, conv],
            vec![scales, w],
        ),
    ));
    // An upsampling followed by a convolution with no output: the rewrite took its first.
    let (up, scales) = doubling();
    let w = tensor("w", vec![3, 3, 3, 3], vec![0.1; 81]);
    let conv = Node::new("Conv", "conv", &["up", "w"], &[]).attr("pads", Attr::Ints(vec![1; 4]));
    let relu = Node::new("Relu", "relu", &["input"], &["output"]);
    models.push((
        "a convolution without outputs",
        onnx_model(
            dir,
            "no_output",
            image_dims(),
            vec![up, conv, relu],
            vec![scales, w],
        ),
    ));
    // An output of one channel where the card says three, its channel count made of the
    // picture's values (0 × its brightest + 1) so that ONNX Runtime cannot work it out, in
    // pictures 3 pixels wide: the output is declared [1, ?, 3, 3], which passes the signature
    // check (3 channels last, as NHWC has them) and the card's [1, 3, 3, 3], and the frame's
    // conversion indexed channels 1 and 2.
    let int64 = |name: &str, v: i64| Initializer {
        name: name.into(),
        dims: vec![1],
        data: TensorData::Int64(vec![v]),
    };
    let nodes = vec![
        Node::new("ReduceMax", "brightest", &["input"], &["max"]).attr("keepdims", Attr::Int(0)),
        Node::new("Mul", "none", &["max", "nought"], &["nothing"]),
        Node::new("Cast", "count", &["nothing"], &["zero_count"]).attr("to", Attr::Int(7)),
        Node::new("Add", "plus", &["zero_count", "one"], &["end"]),
        Node::new(
            "Slice",
            "slice",
            &["input", "zero", "end", "one"],
            &["output"],
        ),
    ];
    let mut constants = vec![int64("zero", 0), int64("one", 1)];
    constants.push(tensor("nought", vec![], vec![0.0]));
    let path = onnx_model(dir, "one_channel", vec![1, 3, 3, 3], nodes, constants);
    models.push(("an output of one channel", path));
    models
}

#[test]
fn crafted_models_are_refused_in_one_sentence_by_bench() {
    let dir = tempfile::tempdir().unwrap();
    for (what, model) in crafted(dir.path()) {
        let said = refused_in_one_sentence(&bench(&model), what);
        assert!(said.contains(arg(&model)), "{what}: {said}");
    }
}

#[test]
fn crafted_models_are_refused_in_one_sentence_by_quantize() {
    let dir = tempfile::tempdir().unwrap();
    for (what, model) in crafted(dir.path()) {
        refused_in_one_sentence(&quantize(&model), what);
        assert!(!model.with_extension("int8.onnx").exists(), "{what}");
    }
}

// ---------------------------------------------------------------------------------------
// The counting allocator: per thread, so that the tests running beside a case do not count
// against it.

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// No single allocation above this is let through while a case runs: the machine would swap
/// or the process abort before the bound could be checked. The case is named on stderr and
/// the allocation fails, which aborts the test binary: a failure no one can miss.
const HARD_CAP: usize = 1 << 30;

thread_local! {
    static WATCHING: Cell<bool> = const { Cell::new(false) };
    /// Bytes allocated less bytes freed since the case began (frees of older memory can make
    /// it negative), its highest value, and the largest single allocation.
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    static CASE: Cell<(&'static str, u64)> = const { Cell::new(("", 0)) };
}

struct Counting;

impl Counting {
    /// Counts an allocation of `grown` bytes that replaces one of `freed`; whether it may go
    /// ahead.
    fn note(grown: usize, freed: usize) -> bool {
        let watching = WATCHING.try_with(Cell::get).unwrap_or(false);
        if !watching {
            return true;
        }
        if grown > HARD_CAP {
            let (target, case) = CASE.with(Cell::get);
            let mut line = [0u8; 160];
            let n = write_line(&mut line, target, case, grown);
            // SAFETY: writes `n` initialised bytes of `line` to stderr; no allocation.
            unsafe { libc::write(2, line.as_ptr().cast(), n) };
            return false;
        }
        LARGEST.with(|l| l.set(l.get().max(grown)));
        LIVE.with(|live| {
            let now = live.get() + grown as i64 - freed as i64;
            live.set(now);
            PEAK.with(|p| p.set(p.get().max(now)));
        });
        true
    }
}

/// "hostile: TARGET case N asked for BYTES bytes at once" into `buf`, without allocating.
fn write_line(buf: &mut [u8], target: &str, case: u64, bytes: usize) -> usize {
    let mut at = 0;
    let mut put = |s: &[u8]| {
        let n = s.len().min(buf.len() - at);
        buf[at..at + n].copy_from_slice(&s[..n]);
        at += n;
    };
    let number = |mut v: u64, out: &mut [u8; 20]| -> usize {
        let mut i = out.len();
        loop {
            i -= 1;
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                return i;
            }
        }
    };
    let mut digits = [0u8; 20];
    put(b"hostile: ");
    put(target.as_bytes());
    put(b" case ");
    let i = number(case, &mut digits);
    put(&digits[i..]);
    put(b" asked for ");
    let mut digits = [0u8; 20];
    let i = number(bytes as u64, &mut digits);
    put(&digits[i..]);
    put(b" bytes at once\n");
    at
}

// SAFETY: every call is passed on to the system allocator unchanged; `note` only counts
// (thread-local cells without destructors, no allocation) and may refuse, as an allocator may.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: AllocLayout) -> *mut u8 {
        match Self::note(layout.size(), 0) {
            true => unsafe { System.alloc(layout) },
            false => std::ptr::null_mut(),
        }
    }

    unsafe fn alloc_zeroed(&self, layout: AllocLayout) -> *mut u8 {
        match Self::note(layout.size(), 0) {
            true => unsafe { System.alloc_zeroed(layout) },
            false => std::ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: AllocLayout) {
        Self::note(0, layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: AllocLayout, new_size: usize) -> *mut u8 {
        match Self::note(new_size, layout.size()) {
            true => unsafe { System.realloc(ptr, layout, new_size) },
            false => std::ptr::null_mut(),
        }
    }
}

/// What one case allocated.
#[derive(Debug, Clone, Copy)]
struct Spent {
    largest: usize,
    peak: usize,
}

/// Runs `f` as case `case` of `target`, counting its allocations on this thread; what `f`
/// returned (`None`: it panicked, and the panic hook printed why).
fn watched(target: &'static str, case: u64, f: impl FnOnce() -> usize) -> (Option<usize>, Spent) {
    CASE.with(|c| c.set((target, case)));
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    LARGEST.with(|l| l.set(0));
    WATCHING.with(|w| w.set(true));
    let returned = catch_unwind(AssertUnwindSafe(f)).ok();
    WATCHING.with(|w| w.set(false));
    let spent = Spent {
        largest: LARGEST.with(Cell::get),
        peak: PEAK.with(Cell::get).max(0) as usize,
    };
    (returned, spent)
}

/// The memory a reader may use on an input of `len` bytes: 64 times the input, and a
/// mebibyte for the fixed costs (a reader's tables, a decoder's state, the panic machinery).
/// 64: the largest expansion the readers have by design is a protobuf varint of one byte read
/// as an i64 (8 times), a TOML or JSON number of a few bytes held as a 32-byte value in a
/// vector that doubles as it grows, and a pickle's objects, which the MTCNN reader lets
/// cost 64 bytes a byte of the file; loading a model then holds the model read, the copy it
/// simplifies and the file it encodes. Real files, mutated, stay well under (the largest
/// seen is printed).
fn bound(len: usize) -> usize {
    64 * len + (1 << 20)
}

// ---------------------------------------------------------------------------------------
// Mutations.

/// xorshift64*: deterministic, so a failing case can be run again by its number.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const EXTREMES: [u8; 4] = [0x00, 0xFF, 0x7F, 0x80];

/// Numbers a hand-edited text file might hold instead of the right one.
const NUMBERS: [&str; 12] = [
    "0",
    "-1",
    "-0.0",
    "nan",
    "inf",
    "-inf",
    "1e309",
    "4000000000",
    "-4000000000",
    "99999999999999999999999",
    "1e-45",
    "18446744073709551616",
];

/// How a seed is mutated: its bytes, where its header (lengths, sizes, magic numbers) lies,
/// and whether it is text whose numbers can be edited.
struct Seed {
    bytes: Vec<u8>,
    header: Range<usize>,
    text: bool,
}

/// One to three mutations of `seed`: bit flips, bytes overwritten with extreme values,
/// truncation, a span duplicated or deleted, and in text a number replaced; with what was
/// done, to reproduce a failure.
fn mutate(rng: &mut Rng, seed: &Seed) -> (Vec<u8>, String) {
    let mut bytes = seed.bytes.clone();
    let mut done = Vec::new();
    for _ in 0..1 + rng.below(3) {
        if bytes.is_empty() {
            break;
        }
        // Half the mutations land in the header, where the lengths are.
        let at = match rng.below(2) == 0 && seed.header.end > seed.header.start {
            true => seed.header.start + rng.below(seed.header.len()),
            false => rng.below(bytes.len()),
        }
        .min(bytes.len() - 1);
        let kinds = if seed.text { 6 } else { 5 };
        match rng.below(kinds) {
            0 => {
                let bit = rng.below(8);
                bytes[at] ^= 1 << bit;
                done.push(format!("flip bit {bit} at {at}"));
            }
            1 => {
                let value = *rng.pick(&EXTREMES);
                let n = *rng.pick(&[1, 2, 4, 8]);
                let end = (at + n).min(bytes.len());
                bytes[at..end].fill(value);
                done.push(format!("{value:#04x} × {n} at {at}"));
            }
            2 => {
                bytes.truncate(at);
                done.push(format!("cut at {at}"));
            }
            3 => {
                let end = (at + 1 + rng.below(256)).min(bytes.len());
                let span = bytes[at..end].to_vec();
                bytes.splice(end..end, span);
                done.push(format!("repeat {at}..{end}"));
            }
            4 => {
                let end = (at + 1 + rng.below(64)).min(bytes.len());
                bytes.drain(at..end);
                done.push(format!("delete {at}..{end}"));
            }
            _ => {
                let number = |b: &u8| b.is_ascii_digit() || matches!(b, b'-' | b'.' | b'e');
                let Some(start) = bytes[at..].iter().position(|b| b.is_ascii_digit()) else {
                    continue;
                };
                let start = at + start;
                let len = bytes[start..].iter().take_while(|b| number(b)).count();
                let with = *rng.pick(&NUMBERS);
                bytes.splice(start..start + len, with.bytes());
                done.push(format!("number at {start} := {with}"));
            }
        }
    }
    (bytes, done.join(", "))
}

/// What went wrong in a target's cases, for one assertion at the end.
#[derive(Default)]
struct Findings {
    cases: usize,
    failures: Vec<String>,
    /// The most a case allocated (its peak or its largest allocation), as a share of its
    /// bound.
    nearest: f64,
}

impl Findings {
    /// Runs `cases` mutations of `seed`: `prepare` is given the mutated bytes (and may write
    /// them to a file, unwatched) and returns the case, which is watched and returns what it
    /// may allocate beyond [`bound`] (a picture's declared pixels).
    fn sweep<R: FnOnce() -> usize>(
        &mut self,
        target: &'static str,
        seed: &Seed,
        cases: u64,
        mut prepare: impl FnMut(&[u8]) -> R,
    ) {
        let mut rng = Rng::new(target.len() as u64 * 7919 + seed.bytes.len() as u64);
        for case in 0..cases * scale() {
            let (bytes, how) = mutate(&mut rng, seed);
            let read = prepare(&bytes);
            let (returned, spent) = watched(target, case, read);
            let limit = bound(bytes.len()) + returned.unwrap_or(0);
            self.cases += 1;
            let share = spent.peak.max(spent.largest) as f64 / limit as f64;
            self.nearest = self.nearest.max(share);
            if returned.is_none() {
                self.failures
                    .push(format!("{target} case {case} ({how}): panicked"));
            }
            if spent.largest > limit || spent.peak > limit {
                self.failures.push(format!(
                    "{target} case {case} ({how}): allocated {} bytes at once, {} at the peak, for {} bytes (bound {limit})",
                    spent.largest,
                    spent.peak,
                    bytes.len()
                ));
            }
        }
    }

    fn check(self, what: &str, at_least: usize) {
        println!(
            "{what}: {} cases, the most allocated {:.0} % of the bound",
            self.cases,
            100.0 * self.nearest
        );
        assert!(self.cases >= at_least, "{what}: {} cases", self.cases);
        assert!(
            self.failures.is_empty(),
            "{what}:\n{}",
            self.failures.join("\n")
        );
    }
}

/// `HOSTILE_SCALE=N` runs N times the cases (the same ones first, then more): a longer sweep
/// for a night, `cargo test --release --test hostile -- mutated` with the variable set.
fn scale() -> u64 {
    std::env::var("HOSTILE_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1)
}

fn seed(path: &Path, header: Range<usize>, text: bool) -> Seed {
    Seed {
        bytes: std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        header,
        text,
    }
}

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

// ---------------------------------------------------------------------------------------
// The sweeps.

/// What loading a generator does with its file (`infer::generator::load`): read, simplify,
/// compare and encode; and what quantising does first (simplify again, sort the operators).
fn load_model(bytes: &[u8]) {
    let Ok(model) = mimic::onnx::read::decode(bytes) else {
        return;
    };
    let simplified = mimic::onnx::simplify::simplify(model.clone());
    if simplified != model {
        let _ = simplified.encode();
    }
    let _ = mimic::infer::quantize::check(&model);
}

/// The book's upsampling block, small (8 channels), in mimic's writer: a stride-2 convolution
/// with a batch norm, LeakyReLU, nearest ×2 upsampling and a "same" 3×3 convolution with a
/// per-channel Mul and Add after it: every rewrite of the simplifier has something to do.
fn block_model() -> Vec<u8> {
    let t = |name: &str, dims: Vec<i64>, n: usize| {
        let values = (0..n).map(|i| (i % 7) as f32 * 0.1 - 0.3).collect();
        tensor(name, dims, values)
    };
    let nodes = vec![
        Node::new("Conv", "down", &["input", "w1", "b1"], &["a"])
            .attr("strides", Attr::Ints(vec![2, 2]))
            .attr("pads", Attr::Ints(vec![1, 1, 1, 1])),
        Node::new(
            "BatchNormalization",
            "bn",
            &["a", "g", "be", "m", "v"],
            &["b"],
        ),
        Node::new("LeakyRelu", "act", &["b"], &["c"]).attr("alpha", Attr::Float(0.2)),
        Node::new("Resize", "up", &["c", "", "scales"], &["d"])
            .attr("mode", Attr::Str("nearest".into())),
        Node::new("Conv", "conv", &["d", "w2"], &["e"]).attr("pads", Attr::Ints(vec![1; 4])),
        Node::new("Mul", "mul", &["e", "k"], &["f"]),
        Node::new("Add", "add", &["f", "k"], &["output"]),
    ];
    let mut inits = vec![
        t("w1", vec![8, 3, 4, 4], 8 * 3 * 16),
        t("b1", vec![8], 8),
        t("g", vec![8], 8),
        t("be", vec![8], 8),
        t("m", vec![8], 8),
        tensor("v", vec![8], vec![1.0; 8]),
        tensor("scales", vec![4], vec![1.0, 1.0, 2.0, 2.0]),
        t("w2", vec![3, 8, 3, 3], 3 * 8 * 9),
        t("k", vec![3, 1, 1], 3),
    ];
    inits.push(t("unused", vec![2, 2], 4));
    Model {
        graph_name: "block".into(),
        producer: "mimic-tests".into(),
        nodes,
        initializers: inits,
        inputs: vec![mimic::onnx::Io {
            name: "input".into(),
            dims: vec![1, 3, 32, 32],
        }],
        outputs: vec![mimic::onnx::Io {
            name: "output".into(),
            dims: vec![1, 3, 32, 32],
        }],
        ..Default::default()
    }
    .encode()
}

#[test]
fn mutated_models_neither_panic_nor_allocate_past_the_bound() {
    let mut findings = Findings::default();
    let demo = seed(&repo("models/demo.onnx"), 0..512, false);
    findings.sweep("demo.onnx", &demo, 400, |bytes| {
        let bytes = bytes.to_vec();
        move || {
            load_model(&bytes);
            0
        }
    });
    let block = Seed {
        bytes: block_model(),
        header: 0..200,
        text: false,
    };
    // The block exercises the rewrites, so its mutations must not all fail to decode.
    let rewritten =
        mimic::onnx::simplify::simplify(mimic::onnx::read::decode(&block.bytes).unwrap());
    assert!(rewritten.nodes.len() < 7, "{:?}", rewritten.nodes);
    findings.sweep("block.onnx", &block, 1600, |bytes| {
        let bytes = bytes.to_vec();
        move || {
            load_model(&bytes);
            0
        }
    });
    findings.check("ONNX models", 2000);
}

/// Dimensions and integers a damaged or hand-made model might hold.
const EXTREME_INTS: [i64; 9] = [-1, 0, 1, 2, 3, 1 << 31, 1 << 32, i64::MAX, i64::MIN];

/// One to three edits of `model` as a graph rather than as bytes: what byte mutations rarely
/// reach (an initializer whose dimensions do not match its values, a node without outputs,
/// a value made twice, extreme attributes, one operator taken for another).
fn mutate_graph(rng: &mut Rng, model: &Model) -> (Model, String) {
    let mut m = model.clone();
    let mut done = Vec::new();
    for _ in 0..1 + rng.below(3) {
        match rng.below(8) {
            0 if !m.initializers.is_empty() => {
                let i = rng.below(m.initializers.len());
                let init = &mut m.initializers[i];
                let value = *rng.pick(&EXTREME_INTS);
                match init.dims.is_empty() {
                    true => init.dims.push(value),
                    false => {
                        let d = rng.below(init.dims.len());
                        init.dims[d] = value;
                    }
                }
                done.push(format!("{} dims := {:?}", init.name, init.dims));
            }
            1 if !m.initializers.is_empty() => {
                let i = rng.below(m.initializers.len());
                let init = &mut m.initializers[i];
                if let TensorData::Float(v) = &mut init.data {
                    let keep = rng.below(v.len() + 2);
                    v.resize(keep, 0.5);
                    done.push(format!("{} holds {keep} values", init.name));
                }
            }
            2 if !m.nodes.is_empty() => {
                let i = rng.below(m.nodes.len());
                let node = &mut m.nodes[i];
                match rng.below(3) {
                    0 => node.outputs.clear(),
                    1 => node.inputs.truncate(rng.below(node.inputs.len() + 1)),
                    _ => node.outputs.push(String::new()),
                }
                done.push(format!(
                    "{} now {:?} -> {:?}",
                    node.name, node.inputs, node.outputs
                ));
            }
            3 if m.nodes.len() > 1 => {
                // An input read from another node's output, or an output made twice.
                let (a, b) = (rng.below(m.nodes.len()), rng.below(m.nodes.len()));
                let value = m.nodes[b].outputs.first().cloned().unwrap_or_default();
                let node = &mut m.nodes[a];
                match rng.below(2) == 0 && !node.inputs.is_empty() {
                    true => {
                        let k = rng.below(node.inputs.len());
                        node.inputs[k] = value.clone();
                    }
                    false => node.outputs = vec![value.clone()],
                }
                done.push(format!("{} uses {value}", node.name));
            }
            4 if !m.nodes.is_empty() => {
                let i = rng.below(m.nodes.len());
                let op = *rng.pick(&[
                    "Conv",
                    "BatchNormalization",
                    "Mul",
                    "Add",
                    "Resize",
                    "Identity",
                    "Constant",
                    "DepthToSpace",
                ]);
                m.nodes[i].op_type = op.into();
                done.push(format!("{} is a {op}", m.nodes[i].name));
            }
            5 if !m.nodes.is_empty() => {
                let i = rng.below(m.nodes.len());
                let name = *rng.pick(&["pads", "strides", "group", "dilations", "epsilon"]);
                let value = *rng.pick(&EXTREME_INTS);
                let attr = match rng.below(2) {
                    0 => Attr::Int(value),
                    _ => Attr::Ints(vec![value; 1 + rng.below(5)]),
                };
                m.nodes[i].attributes.retain(|(n, _)| n != name);
                m.nodes[i].attributes.push((name.into(), attr));
                done.push(format!("{} {name} := {value}", m.nodes[i].name));
            }
            6 if !m.nodes.is_empty() => {
                // Order is the file's to choose: ONNX Runtime sorts a graph itself.
                let (a, b) = (rng.below(m.nodes.len()), rng.below(m.nodes.len()));
                m.nodes.swap(a, b);
                done.push(format!("nodes {a} and {b} swapped"));
            }
            _ if !m.initializers.is_empty() => {
                let i = rng.below(m.initializers.len());
                let copy = m.initializers[i].clone();
                done.push(format!("{} twice", copy.name));
                m.initializers.push(copy);
            }
            _ => {}
        }
    }
    (m, done.join(", "))
}

#[test]
fn graphs_edited_into_nonsense_neither_panic_nor_allocate_past_the_bound() {
    let demo =
        mimic::onnx::read::decode(&std::fs::read(repo("models/demo.onnx")).unwrap()).unwrap();
    let block = mimic::onnx::read::decode(&block_model()).unwrap();
    let mut findings = Findings::default();
    for (target, model, cases) in [("demo graph", &demo, 100u64), ("block graph", &block, 1500)] {
        let size = model.encode().len();
        let mut rng = Rng::new(cases);
        for case in 0..cases * scale() {
            let (edited, how) = mutate_graph(&mut rng, model);
            // The simplifier is given the graph as it is (a library caller can build any),
            // then the file written of it is loaded as mimic loads a generator.
            let (returned, spent) = watched(target, case, || {
                let _ = mimic::onnx::simplify::simplify(edited.clone());
                load_model(&edited.encode());
                0
            });
            let limit = bound(size);
            findings.cases += 1;
            findings.nearest = findings
                .nearest
                .max(spent.peak.max(spent.largest) as f64 / limit as f64);
            if returned.is_none() {
                findings
                    .failures
                    .push(format!("{target} case {case} ({how}): panicked"));
            }
            if spent.largest > limit || spent.peak > limit {
                findings.failures.push(format!(
                    "{target} case {case} ({how}): allocated {} bytes at once, {} at the peak (bound {limit})",
                    spent.largest, spent.peak
                ));
            }
        }
    }
    findings.check("edited graphs", 1600);
}

#[test]
fn mutated_cards_neither_panic_nor_allocate_past_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("demo.onnx");
    let card = seed(&repo("models/demo.toml"), 0..400, true);
    let mut findings = Findings::default();
    findings.sweep("demo.toml", &card, 1000, |bytes| {
        std::fs::write(model.with_extension("toml"), bytes).unwrap();
        || {
            let _ = ModelCard::read_beside(&model);
            0
        }
    });
    findings.check("model cards", 1000);
}

#[test]
fn mutated_mtcnn_weights_neither_panic_nor_allocate_past_the_bound() {
    let mut findings = Findings::default();
    for (name, cases) in [("pnet", 1000), ("rnet", 400), ("onet", 150)] {
        let weights = seed(&repo(&format!("runtime/mtcnn/{name}.pt")), 0..2048, false);
        let target: &'static str = Box::leak(format!("{name}.pt").into_boxed_str());
        findings.sweep(target, &weights, cases, |bytes| {
            let bytes = bytes.to_vec();
            move || {
                let _ = mimic::face::mtcnn::weights::parse(&bytes);
                0
            }
        });
    }
    findings.check("MTCNN weights", 1550);
}

/// A face set's index as `mimic extract faces` writes it (`faceset::write_index`): three faces
/// of 68 landmarks each.
fn face_set_index(dir: &Path) {
    use mimic::data::faceset::{write_index, Entry, Manifest};
    use mimic::geometry::{Point, Similarity};
    let manifest = Manifest {
        size: 128,
        padding: 0.2,
        reference: Some(PathBuf::from("reference.jpg")),
        threshold: 0.6,
        inputs: vec![PathBuf::from("clip.mp4")],
        frames: 30,
        kept: 3,
        rejected: 1,
        frames_without_face: 2,
        frames_with_several_faces: 0,
    };
    let entries: Vec<Entry> = (0..3u64)
        .map(|n| Entry {
            file: mimic::data::faceset::face_file(n),
            source: PathBuf::from("clip.mp4"),
            index: n * 10,
            t: n as f64 * 0.4,
            landmarks: (0..68)
                .map(|i| Point::new(20.0 + i as f32 * 1.3, 30.0 + (i % 17) as f32 * 4.1))
                .collect(),
            to_crop: Similarity {
                a: 0.5,
                b: 0.1,
                tx: -12.0,
                ty: 3.5,
            },
            distance: Some(0.31),
        })
        .collect();
    write_index(dir, &manifest, &entries).unwrap();
}

#[test]
fn mutated_face_set_indexes_neither_panic_nor_allocate_past_the_bound() {
    use mimic::data::faceset::{FaceSet, ENTRIES, MANIFEST};
    let dir = tempfile::tempdir().unwrap();
    face_set_index(dir.path());
    let open = |dir: &Path| {
        if let Ok(set) = FaceSet::open(dir) {
            for entry in &set.entries {
                let _ = entry.landmarks();
                let _ = set.face_path(entry);
            }
        }
    };
    let mut findings = Findings::default();
    for (file, cases) in [(ENTRIES, 800), (MANIFEST, 400)] {
        let path = dir.path().join(file);
        let original = seed(&path, 0..200, true);
        let target: &'static str = Box::leak(file.to_string().into_boxed_str());
        findings.sweep(target, &original, cases, |bytes| {
            std::fs::write(&path, bytes).unwrap();
            || {
                open(dir.path());
                0
            }
        });
        std::fs::write(&path, &original.bytes).unwrap();
    }
    findings.check("face set indexes", 1200);
}

#[test]
fn mutated_pictures_neither_panic_nor_allocate_past_the_bound() {
    let dir = tempfile::tempdir().unwrap();
    let mut findings = Findings::default();
    for (source, name, cases) in [
        (testdata("faces/misc/obama_small.jpg"), "small.jpg", 500),
        (repo("models/demo.mean.png"), "mean.png", 500),
    ] {
        let picture = seed(&source, 0..600, false);
        let path = dir.path().join(name);
        let target: &'static str = Box::leak(name.to_string().into_boxed_str());
        findings.sweep(target, &picture, cases, |bytes| {
            std::fs::write(&path, bytes).unwrap();
            // A picture's pixels are what its header declares, not what its file holds (a
            // compressed picture is smaller than its pixels), and the reader caps them at
            // MAX_IMAGE_SIDE a side: the bound grows by the declared picture, decoded (up to
            // 8 bytes a pixel, 16-bit RGBA) and converted to RGB (3).
            let pixels = image::ImageReader::open(&path)
                .and_then(|r| r.with_guessed_format())
                .ok()
                .and_then(|r| r.into_dimensions().ok())
                .map_or(0, |(w, h)| w as usize * h as usize);
            let path = path.clone();
            move || {
                let _ = mimic::frame::decode_picture(&path);
                let _ = mimic::frame::read_image(&path);
                pixels * 11
            }
        });
    }
    findings.check("pictures", 1000);
}

#[test]
fn mutated_videos_neither_panic_nor_allocate_past_the_bound() {
    use mimic::video::{VideoReader, VideoWriter, WriterOptions};
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("made.mp4");
    let mut writer = VideoWriter::create(&original, WriterOptions::new(64, 48, 10.0)).unwrap();
    for i in 0..8u8 {
        let frame = image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([x as u8 * 4, y as u8 * 5, i * 30])
        });
        writer.write(&frame).unwrap();
    }
    writer.finish().unwrap();
    let video = seed(&original, 0..1024, false);
    let path = dir.path().join("mutated.mp4");
    let mut findings = Findings::default();
    findings.sweep("made.mp4", &video, 400, |bytes| {
        std::fs::write(&path, bytes).unwrap();
        let path = path.clone();
        move || {
            let Ok(mut reader) = VideoReader::open(&path) else {
                return 0;
            };
            // FFmpeg's own buffers are C's, not counted here; mimic's side holds a frame or
            // two of RGB at the size the stream declares.
            let picture = reader.info().width as usize * reader.info().height as usize * 3;
            for _ in 0..16 {
                if !matches!(reader.next_frame(), Ok(Some(_))) {
                    break;
                }
            }
            4 * picture
        }
    });
    findings.check("videos", 400);
}

// ---------------------------------------------------------------------------------------
// dlib's models, through the binary: dlib's deserialiser is C++, and an exception its Rust
// wrapper does not catch (a damaged size that `new[]` refuses) ends the process, so these
// cases cannot run in this one. Each runs `mimic detect` in a child process with a runtime
// folder whose one model is mutated, and must end with a status (0: the damage was in
// weights dlib cannot tell from others; 2: refused in one sentence), never a signal.

/// A runtime folder in `dir` like the real one, its dlib model `name` replaced by `bytes`.
fn runtime_with(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let runtime = dir.join("runtime");
    if !runtime.exists() {
        std::fs::create_dir_all(runtime.join("dlib")).unwrap();
        let real = repo("runtime").canonicalize().unwrap();
        for entry in std::fs::read_dir(&real).unwrap().flatten() {
            if entry.file_name() != "dlib" {
                std::os::unix::fs::symlink(entry.path(), runtime.join(entry.file_name())).unwrap();
            }
        }
        for entry in std::fs::read_dir(real.join("dlib")).unwrap().flatten() {
            let to = runtime.join("dlib").join(entry.file_name());
            std::os::unix::fs::symlink(entry.path(), to).unwrap();
        }
    }
    let model = runtime.join("dlib").join(name);
    let _ = std::fs::remove_file(&model);
    std::fs::write(&model, bytes).unwrap();
    runtime
}

/// `mimic detect` on a small photo with `runtime`, by `detector`.
fn detect_with(runtime: &Path, detector: &str) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_mimic"))
        .args(["detect", "--detector", detector])
        .arg(testdata("faces/misc/obama_small.jpg"))
        .env("MIMIC_RUNTIME_DIR", runtime)
        .output()
        .expect("mimic runs")
}

/// A child that ended by itself, with success or a one-sentence refusal.
fn ended_without_a_crash(run: &Output, what: &str) -> Result<(), String> {
    let said = String::from_utf8_lossy(&run.stderr);
    let sentence = said.trim().lines().count() == 1 && said.starts_with("mimic: ");
    match run.status.code() {
        Some(0) => Ok(()),
        Some(2) if sentence && !said.contains("panicked") => Ok(()),
        Some(code) => Err(format!("{what}: status {code}: {said}")),
        None => Err(format!(
            "{what}: killed by a signal ({:?}): {said}",
            run.status
        )),
    }
}

/// The shape predictor whose first matrix says it has 2³¹ − 1 rows: dlib's `new[]` threw
/// `std::bad_array_new_length`, which its wrapper does not catch, and the process aborted.
#[test]
fn a_dlib_model_whose_size_new_refuses_is_refused_in_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let name = "shape_predictor_68_face_landmarks.dat";
    let real = std::fs::read(repo("runtime/dlib").join(name)).unwrap();
    // Version (1), then the initial shape's rows: 0x81 0x88 is −136 (68 points × 2, negative
    // for dlib's newer matrix format); 0x04 and four bytes make it 2³¹ − 1.
    assert_eq!(&real[..4], b"\x01\x01\x81\x88");
    let mut crafted = real[..2].to_vec();
    crafted.extend(b"\x04\xff\xff\xff\x7f");
    crafted.extend(&real[4..]);
    let runtime = runtime_with(dir.path(), name, &crafted);
    let run = detect_with(&runtime, "hog");
    let said = refused_in_one_sentence(&run, "a matrix of 2³¹ rows");
    assert!(said.contains(name) && said.contains("setup.sh"), "{said}");
}

#[test]
fn mutated_dlib_models_end_with_a_status_not_a_signal() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut cases = 0;
    // The shape predictor is 100 MB: its header and a few spots (half the mutations land in
    // the first 32 bytes), six cases; the CNN detector's 730 kB, six more.
    for (name, detector, count) in [
        ("shape_predictor_68_face_landmarks.dat", "hog", 6),
        ("mmod_human_face_detector.dat", "cnn", 6),
    ] {
        let real = seed(&repo("runtime/dlib").join(name), 0..32, false);
        let mut rng = Rng::new(count * 31 + real.bytes.len() as u64);
        for case in 0..count * scale() {
            let (bytes, how) = mutate(&mut rng, &real);
            let runtime = runtime_with(dir.path(), name, &bytes);
            let run = detect_with(&runtime, detector);
            cases += 1;
            if let Err(e) = ended_without_a_crash(&run, &format!("{name} case {case} ({how})")) {
                failures.push(e);
            }
        }
    }
    println!("dlib models: {cases} cases through the binary");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------
// MTCNN's `.pt` files, crafted.

/// `pnet.pt` with `edit` applied, read in this process: the reader's refusal, and the
/// largest allocation it made on the way.
fn read_edited_pnet(edit: impl FnOnce(&mut Vec<u8>)) -> (String, Spent, usize) {
    let mut bytes = std::fs::read(repo("runtime/mtcnn/pnet.pt")).unwrap();
    edit(&mut bytes);
    let mut refusal = String::new();
    let (returned, spent) = watched("pnet.pt crafted", 0, || {
        refusal = match mimic::face::mtcnn::weights::parse(&bytes) {
            Ok(_) => "read".into(),
            Err(e) => e,
        };
        0
    });
    assert!(returned.is_some(), "panicked");
    (refusal, spent, bytes.len())
}

fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the pattern is in pnet.pt")
}

/// A storage that says it holds 2²⁸ values in a 28 kB file: 1 GiB was allocated before its
/// bytes were found missing.
#[test]
fn a_storage_longer_than_the_pt_file_is_refused_before_it_is_allocated() {
    let (said, spent, len) = read_edited_pnet(|bytes| {
        // The storages follow the keys' pickle, which ends `e.`; the first count is next.
        let keys = find(bytes, b"\x80\x02]");
        let first = keys + find(&bytes[keys..], b"e.") + 2;
        bytes[first..first + 8].copy_from_slice(&(1u64 << 28).to_le_bytes());
    });
    assert!(said.contains("268435456 values"), "{said}");
    assert!(spent.largest < bound(len), "{spent:?}");
}

/// A tensor whose size is (2³¹ − 1)³ × 3: its product wrapped, and the vector it sized asked
/// for whatever the wrapped product was.
#[test]
fn a_pt_tensor_whose_size_overflows_is_refused() {
    let (said, spent, len) = read_edited_pnet(|bytes| {
        // conv1.weight's size, (10, 3, 3, 3), as BININT1s in a tuple.
        let at = find(bytes, b"(K\x0aK\x03K\x03K\x03t");
        let huge = b"(J\xff\xff\xff\x7fJ\xff\xff\xff\x7fJ\xff\xff\xff\x7fK\x03t";
        bytes.splice(at..at + 10, huge.iter().copied());
    });
    assert!(
        said.contains("conv1.weight") && said.contains("more values"),
        "{said}"
    );
    assert!(spent.largest < bound(len), "{spent:?}");
}

/// A string that says it is 4 GiB long: candle allocated it before reading it.
#[test]
fn a_pt_string_longer_than_the_file_is_refused_before_it_is_allocated() {
    let (said, spent, len) = read_edited_pnet(|bytes| {
        let at = find(bytes, b"X\x0c\x00\x00\x00conv1.weight");
        bytes[at + 1..at + 5].copy_from_slice(&[0xff; 4]);
    });
    assert!(said.contains("cut short"), "{said}");
    assert!(spent.largest < bound(len), "{spent:?}");
}

/// A chain of 4,999 convolutions, each followed by a per-channel Mul, and of 4,999 nearest
/// upsamplings each followed by a convolution (the most nodes the simplifier takes, in a
/// file of 400 kB): the rewrites searched the graph from its start after each one, 35 s for
/// 2,000 pairs and hours for a few times that. Now one pass each.
#[test]
fn a_graph_of_ten_thousand_nodes_is_simplified_in_a_moment() {
    let io = |name: &str| mimic::onnx::Io {
        name: name.into(),
        dims: vec![1, 3, 8, 8],
    };
    let pairs = 4_999;
    let (mut folding, mut upsampling) = (Vec::new(), Vec::new());
    let mut inits = vec![tensor("scales", vec![4], vec![1.0, 1.0, 2.0, 2.0])];
    let (mut x, mut u) = ("input".to_string(), "input".to_string());
    for i in 0..pairs {
        let (w, k, y, z) = (
            format!("w{i}"),
            format!("k{i}"),
            format!("y{i}"),
            format!("z{i}"),
        );
        folding.push(Node::new("Conv", &format!("c{i}"), &[&x, &w], &[&y]));
        folding.push(Node::new("Mul", &format!("m{i}"), &[&y, &k], &[&z]));
        let (v, t) = (format!("v{i}"), format!("t{i}"));
        upsampling.push(
            Node::new("Resize", &format!("r{i}"), &[&u, "", "scales"], &[&v])
                .attr("mode", Attr::Str("nearest".into())),
        );
        upsampling.push(
            Node::new("Conv", &format!("d{i}"), &[&v, &w], &[&t])
                .attr("pads", Attr::Ints(vec![1; 4])),
        );
        inits.push(tensor(&w, vec![3, 3, 3, 3], vec![0.1; 81]));
        inits.push(tensor(&k, vec![3, 1, 1], vec![2.0; 3]));
        (x, u) = (z, t);
    }
    folding.push(Node::new("Relu", "out", &[&x], &["output"]));
    upsampling.push(Node::new("Relu", "out", &[&u], &["output"]));
    let started = std::time::Instant::now();
    for (nodes, left) in [(folding, pairs + 1), (upsampling, 2 * pairs + 1)] {
        let model = Model {
            nodes,
            initializers: inits.clone(),
            inputs: vec![io("input")],
            outputs: vec![io("output")],
            ..Default::default()
        };
        let simplified = mimic::onnx::simplify::simplify(model);
        assert_eq!(simplified.nodes.len(), left);
    }
    // A fraction of a second here; ten is for a machine that is busy with other things.
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}
