//! What a pickle would cost candle's reader, measured before it reads it. candle builds every
//! object a pickle describes as it goes, trusting the file: a string's length is allocated
//! before its bytes are read (4 GiB from five bytes), the memo's BINGET copies a whole object
//! (a pickle of a few kilobytes that copies its last object twice over, twenty times, makes a
//! million-fold one), and objects are dropped, cloned and printed recursively (a pickle nested
//! a million deep overflows the stack, which no error can report). This walks the opcodes
//! candle knows with a stack of sizes instead of objects and refuses any of that; a pickle it
//! passes, candle reads within [`Budget`].

use std::collections::HashMap;

/// Nesting deeper than this is refused: candle drops, clones and prints its objects
/// recursively. PyTorch's state dicts nest 5 deep (dict, tensor, arguments, storage tuple).
const MAX_DEPTH: usize = 64;

/// What one object costs candle beyond the bytes of its strings: its `Object` slot (56 bytes)
/// and the share of a vector's growth, rounded up.
const OBJECT_BYTES: usize = 2 * std::mem::size_of::<candle_core::pickle::Object>();

/// The bytes candle may allocate for the pickles of one file, counted as objects are made or
/// copied (frees are not subtracted, so the count only overstates).
pub struct Budget(usize);

impl Budget {
    /// A budget of `per_byte` bytes of objects for each byte of a file `len` bytes long.
    pub fn for_file(len: usize, per_byte: usize) -> Budget {
        Budget(len.saturating_mul(per_byte))
    }

    fn spend(&mut self, bytes: usize) -> Result<(), String> {
        self.0 = self.0.checked_sub(bytes).ok_or_else(|| {
            "its pickles describe far more objects than a file of its size holds".to_string()
        })?;
        Ok(())
    }
}

/// One object on the simulated stack: what a deep copy of it costs, and how deep it nests.
#[derive(Debug, Clone, Copy)]
struct Item {
    cost: usize,
    depth: usize,
}

impl Item {
    fn leaf(extra: usize) -> Item {
        Item {
            cost: OBJECT_BYTES + extra,
            depth: 1,
        }
    }

    /// An object holding `children`.
    fn holding(children: &[Item]) -> Item {
        Item {
            cost: OBJECT_BYTES + children.iter().map(|c| c.cost).sum::<usize>(),
            depth: 1 + children.iter().map(|c| c.depth).max().unwrap_or(0),
        }
    }

    /// This object with `child` added into it (a list's append, a dict's item).
    fn with(self, child: Item) -> Item {
        Item {
            cost: self.cost + child.cost,
            depth: self.depth.max(child.depth + 1),
        }
    }
}

/// The simulated stack: `None` is a mark.
struct Stack(Vec<Option<Item>>);

impl Stack {
    fn pop(&mut self) -> Result<Item, String> {
        match self.0.pop() {
            Some(Some(item)) => Ok(item),
            _ => Err("a pickle takes an object from an empty stack".into()),
        }
    }

    fn push(&mut self, item: Item) -> Result<(), String> {
        if item.depth > MAX_DEPTH {
            return Err(format!(
                "its pickle nests objects more than {MAX_DEPTH} deep"
            ));
        }
        self.0.push(Some(item));
        Ok(())
    }

    fn pop_to_mark(&mut self) -> Result<Vec<Item>, String> {
        let mark = self
            .0
            .iter()
            .rposition(Option::is_none)
            .ok_or("a pickle closes a mark it never opened")?;
        let items = self.0.split_off(mark + 1).into_iter().flatten().collect();
        self.0.pop();
        Ok(items)
    }

    /// Adds `children` into the object on top.
    fn add_to_last(&mut self, children: &[Item]) -> Result<(), String> {
        let last = self
            .0
            .pop()
            .flatten()
            .ok_or("a pickle adds to an object that is not there")?;
        let grown = children.iter().fold(last, |item, &child| item.with(child));
        self.push(grown)
    }
}

/// The opcode reader: the pickle's bytes and where it is.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let end = end.ok_or("the file ends inside a pickle: it is cut short")?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A line, as candle reads a GLOBAL's module and name: up to a newline or the end.
    fn line(&mut self) -> usize {
        let rest = &self.bytes[self.at..];
        let len = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |n| n + 1);
        self.at += len;
        len
    }
}

/// The length of the pickle at the start of `bytes` (up to and with its STOP), having
/// checked that candle can read it within `budget` and without nesting past [`MAX_DEPTH`];
/// why not otherwise.
pub fn checked_length(bytes: &[u8], budget: &mut Budget) -> Result<usize, String> {
    let mut scan = Scan {
        at: Cursor { bytes, at: 0 },
        stack: Stack(Vec::new()),
        memo: HashMap::new(),
    };
    loop {
        let op = scan.at.byte()?;
        let made = match op {
            b'.' => return Ok(scan.at.at),
            b'h' | b'j' | b'q' | b'r' => {
                scan.memo_op(op, budget)?;
                None
            }
            _ => match scan.value(op)? {
                Some(made) => made,
                None => scan.structure(op)?,
            },
        };
        if let Some((item, new_bytes)) = made {
            budget.spend(new_bytes)?;
            scan.stack.push(item)?;
        }
    }
}

/// A pickle being scanned: where in its bytes, its simulated stack and memo.
struct Scan<'a> {
    at: Cursor<'a>,
    stack: Stack,
    memo: HashMap<u32, Item>,
}

/// An object an op-code makes, and the bytes newly allocated for it; or nothing made.
type Made = Option<(Item, usize)>;

impl Scan<'_> {
    /// The op-codes that read a value from the bytes (`None`: not one of them).
    fn value(&mut self, op: u8) -> Result<Option<Made>, String> {
        let made = match op {
            // PROTO: its version byte.
            0x80 => {
                self.at.take(1)?;
                None
            }
            // The numbers: a byte count each.
            b'K' | b'M' | b'J' | b'G' => {
                let len = match op {
                    b'K' => 1,
                    b'M' => 2,
                    b'J' => 4,
                    _ => 8,
                };
                self.at.take(len)?;
                leaf(0)
            }
            // LONG1: candle shifts each byte into an i64, so more than 8 overflow it.
            0x8a => {
                let n = usize::from(self.at.byte()?);
                if n > 8 {
                    return Err(format!("its pickle has an integer of {n} bytes"));
                }
                self.at.take(n)?;
                leaf(0)
            }
            // BINUNICODE: its length is checked against what is left before candle allocates it.
            b'X' => {
                let len = self.at.u32()? as usize;
                self.at.take(len)?;
                leaf(len)
            }
            b'c' => {
                let len = self.at.line() + self.at.line();
                leaf(len)
            }
            b')' | b']' | b'}' | b'd' | b'N' | 0x88 | 0x89 => leaf(0),
            _ => return Ok(None),
        };
        Ok(Some(made))
    }

    /// The op-codes that build objects from what is on the stack.
    fn structure(&mut self, op: u8) -> Result<Made, String> {
        let stack = &mut self.stack;
        Ok(match op {
            b'(' => {
                stack.0.push(None);
                None
            }
            b't' => holding(&stack.pop_to_mark()?),
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let items = (0..n).map(|_| stack.pop()).collect::<Result<Vec<_>, _>>()?;
                holding(&items)
            }
            // BINPERSID wraps one object; REDUCE, NEWOBJ and BUILD make one of two.
            b'Q' => holding(&[stack.pop()?]),
            b'R' | 0x81 | b'b' => holding(&[stack.pop()?, stack.pop()?]),
            b'a' => {
                let value = stack.pop()?;
                stack.add_to_last(&[value])?;
                None
            }
            b's' => {
                let (value, key) = (stack.pop()?, stack.pop()?);
                stack.add_to_last(&[key, value])?;
                None
            }
            b'e' | b'u' => {
                let items = stack.pop_to_mark()?;
                stack.add_to_last(&items)?;
                None
            }
            other => return Err(format!("its pickle has the unknown op-code {other}")),
        })
    }

    /// BINGET copies a memo entry whole; BINPUT copies the top object into the memo.
    fn memo_op(&mut self, op: u8, budget: &mut Budget) -> Result<(), String> {
        let id = match op {
            b'h' | b'q' => u32::from(self.at.byte()?),
            _ => self.at.u32()?,
        };
        if let b'h' | b'j' = op {
            let item = *self
                .memo
                .get(&id)
                .ok_or_else(|| format!("its pickle reads memo entry {id}, never written"))?;
            budget.spend(item.cost)?;
            return self.stack.push(item);
        }
        let item = self
            .stack
            .0
            .last()
            .copied()
            .flatten()
            .ok_or("its pickle memoises an object that is not there")?;
        budget.spend(item.cost)?;
        self.memo.insert(id, item);
        Ok(())
    }
}

/// A new object of no parts, with `extra` bytes of text: all of it newly allocated.
fn leaf(extra: usize) -> Option<(Item, usize)> {
    let item = Item::leaf(extra);
    Some((item, item.cost))
}

/// A new object holding `children`, which are moved into it: only its own slot is new.
fn holding(children: &[Item]) -> Option<(Item, usize)> {
    Some((Item::holding(children), OBJECT_BYTES))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn length(bytes: &[u8]) -> Result<usize, String> {
        checked_length(bytes, &mut Budget::for_file(bytes.len(), 64))
    }

    #[test]
    fn a_small_pickle_is_measured_to_its_stop() {
        // (1, 'ab') then STOP, and a byte after it.
        let pickle = b"\x80\x02K\x01X\x02\x00\x00\x00ab\x86.!";
        assert_eq!(length(pickle), Ok(pickle.len() - 1));
    }

    #[test]
    fn a_string_longer_than_the_file_is_refused_before_it_is_allocated() {
        let error = length(b"X\xff\xff\xff\xff.").unwrap_err();
        assert!(error.contains("cut short"), "{error}");
    }

    #[test]
    fn deep_nesting_and_copies_that_multiply_are_refused() {
        let mut deep = b"N".to_vec();
        deep.extend(std::iter::repeat_n(0x85, 10_000));
        deep.push(b'.');
        assert!(length(&deep).unwrap_err().contains("deep"));
        // An empty tuple memoised, then twice over in a pair, again and again: each pair is
        // twice the last, 2³⁰ objects from a hundred bytes.
        let mut doubling = b")q\x00".to_vec();
        for _ in 0..30 {
            doubling.extend(b"h\x00h\x00\x86q\x00");
        }
        doubling.push(b'.');
        assert!(length(&doubling).unwrap_err().contains("far more objects"));
    }
}
