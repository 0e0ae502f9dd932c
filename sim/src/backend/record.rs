//! Recordings of a Verilator model's packed per-cycle input words: the
//! training workload of the profile-guided build of the blk model
//! (`sim/pgo/`, see build.rs), recorded by the Verilator backend when
//! `VFPGA_RECORD_INPUTS=<file>` is set.
//!
//! A recording is a text header line then change-encoded events: the
//! words that changed since the last step, reset on/off, and runs of steps
//! with unchanged inputs. The header carries the port layout (input words
//! and a hash of the input ports' names, widths and offsets), so a build
//! can tell a recording of other ports, and a hash of the output words
//! after every step, so a replay can tell whether the model still answers
//! as it did when recorded.
//!
//! This file is shared with `build.rs` (through `#[path]`); it therefore
//! uses nothing but `std`.

use std::fmt::Write as _;

/// First word of a recording's header line.
pub const MAGIC: &str = "vfpga-inputs-v1";

/// FNV-1a, 64 bits: small, stable and the same in build.rs and the crate.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// Hash of an input port table: (name, width, word offset) per port.
pub fn layout_hash<'a>(ports: impl IntoIterator<Item = (&'a str, u32, usize)>) -> u64 {
    ports.into_iter().fold(FNV_OFFSET, |h, (n, w, o)| {
        fnv(h, format!("{n}/{w}/{o};").as_bytes())
    })
}

/// Folds one step's output words into a running output hash.
pub fn hash_words(h: u64, words: &[u32]) -> u64 {
    words.iter().fold(h, |h, w| fnv(h, &w.to_le_bytes()))
}

/// One event of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `n` steps (`<prefix>_step`) with the current input words.
    Steps(u32),
    /// Input word `word` becomes `value` before the next step.
    Set {
        /// Index in the packed input buffer.
        word: u32,
        /// Its new value.
        value: u32,
    },
    /// `<prefix>_set_reset(on)`.
    Reset(bool),
}

/// A decoded recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// Words of the packed input buffer.
    pub in_words: usize,
    /// [`layout_hash`] of the input ports it was recorded with.
    pub layout: u64,
    /// Whether fixed-point skips were on (`<prefix>_set_skip`).
    pub skip: bool,
    /// [`hash_words`] of the output words after every step, from
    /// [`FNV_OFFSET`].
    pub out_hash: u64,
    /// The events, in order.
    pub events: Vec<Event>,
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(b: &[u8], pos: &mut usize) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b
            .get(*pos)
            .ok_or_else(|| "recording ends inside a number".to_string())?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("number longer than 64 bits".into())
}

fn small(v: u64) -> Result<u32, String> {
    u32::try_from(v).map_err(|_| format!("value {v} does not fit 32 bits"))
}

impl Trace {
    /// Steps in the recording.
    pub fn steps(&self) -> u64 {
        self.events
            .iter()
            .map(|e| match e {
                Event::Steps(n) => u64::from(*n),
                _ => 0,
            })
            .sum()
    }

    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut head = String::new();
        let _ = writeln!(
            head,
            "{MAGIC} in_words={} layout={:016x} skip={} out_hash={:016x} steps={}",
            self.in_words,
            self.layout,
            u8::from(self.skip),
            self.out_hash,
            self.steps()
        );
        let mut out = head.into_bytes();
        for e in &self.events {
            match *e {
                Event::Steps(n) => {
                    out.push(0);
                    put_varint(&mut out, u64::from(n));
                }
                Event::Set { word, value } => {
                    out.push(1);
                    put_varint(&mut out, u64::from(word));
                    put_varint(&mut out, u64::from(value));
                }
                Event::Reset(on) => out.push(2 + u8::from(on)),
            }
        }
        out
    }

    /// Parses a file written by [`Trace::encode`].
    pub fn decode(b: &[u8]) -> Result<Trace, String> {
        let nl = b.iter().position(|c| *c == b'\n').ok_or("no header line")?;
        let head = std::str::from_utf8(&b[..nl]).map_err(|_| "header is not text")?;
        let mut fields = head.split_whitespace();
        if fields.next() != Some(MAGIC) {
            return Err(format!("not a {MAGIC} recording"));
        }
        let mut t = Trace {
            in_words: 0,
            layout: 0,
            skip: false,
            out_hash: 0,
            events: Vec::new(),
        };
        let mut steps = None;
        for f in fields {
            let (k, v) = f.split_once('=').ok_or_else(|| format!("bad field {f}"))?;
            let bad = |_| format!("bad field {f}");
            match k {
                "in_words" => t.in_words = v.parse().map_err(bad)?,
                "layout" => t.layout = u64::from_str_radix(v, 16).map_err(bad)?,
                "skip" => t.skip = v == "1",
                "out_hash" => t.out_hash = u64::from_str_radix(v, 16).map_err(bad)?,
                "steps" => steps = Some(v.parse::<u64>().map_err(bad)?),
                _ => {}
            }
        }
        let mut pos = nl + 1;
        while pos < b.len() {
            let tag = b[pos];
            pos += 1;
            t.events.push(match tag {
                0 => Event::Steps(small(get_varint(b, &mut pos)?)?),
                1 => {
                    let word = small(get_varint(b, &mut pos)?)?;
                    if word as usize >= t.in_words {
                        return Err(format!("input word {word} beyond in_words"));
                    }
                    let value = small(get_varint(b, &mut pos)?)?;
                    Event::Set { word, value }
                }
                2 | 3 => Event::Reset(tag == 3),
                _ => return Err(format!("unknown event {tag} at byte {}", pos - 1)),
            });
        }
        if steps.is_some_and(|s| s != t.steps()) {
            return Err("the header's step count does not match the events".into());
        }
        Ok(t)
    }
}

/// Builds a [`Trace`] from the calls a backend makes on its model.
#[derive(Debug)]
pub struct Recorder {
    trace: Trace,
    cur: Vec<u32>,
}

impl Recorder {
    /// A recorder for a model whose input ports are `layout_hash`,
    /// `in_words` words.
    pub fn new(in_words: usize, layout: u64, skip: bool) -> Self {
        Recorder {
            trace: Trace {
                in_words,
                layout,
                skip,
                out_hash: FNV_OFFSET,
                events: Vec::new(),
            },
            cur: vec![0; in_words],
        }
    }

    /// `<prefix>_set_reset(on)` was called.
    pub fn reset(&mut self, on: bool) {
        self.trace.events.push(Event::Reset(on));
    }

    /// `<prefix>_step(inputs, ...)` was called and left `outputs` in the
    /// caller's output buffer.
    pub fn step(&mut self, inputs: &[u32], outputs: &[u32]) {
        for (i, (c, v)) in self.cur.iter_mut().zip(inputs).enumerate() {
            if c != v {
                *c = *v;
                self.trace.events.push(Event::Set {
                    word: i as u32,
                    value: *v,
                });
            }
        }
        match self.trace.events.last_mut() {
            Some(Event::Steps(n)) if *n < u32::MAX => *n += 1,
            _ => self.trace.events.push(Event::Steps(1)),
        }
        self.trace.out_hash = hash_words(self.trace.out_hash, outputs);
    }

    /// The recording so far.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recording_round_trips_through_its_encoding() {
        let mut r = Recorder::new(3, layout_hash([("a", 1, 0), ("b", 64, 1)]), true);
        r.reset(true);
        r.step(&[0, 0, 0], &[7]);
        r.step(&[0, 0, 0], &[7]);
        r.reset(false);
        r.step(&[1, 0, u32::MAX], &[8]);
        r.step(&[1, 0, u32::MAX], &[8]);
        r.step(&[1, 0x8000, u32::MAX], &[9]);
        let t = r.trace().clone();
        assert_eq!(
            t.events,
            vec![
                Event::Reset(true),
                Event::Steps(2),
                Event::Reset(false),
                Event::Set { word: 0, value: 1 },
                Event::Set {
                    word: 2,
                    value: u32::MAX
                },
                Event::Steps(2),
                Event::Set {
                    word: 1,
                    value: 0x8000
                },
                Event::Steps(1),
            ]
        );
        assert_eq!(t.steps(), 5);
        let bytes = t.encode();
        assert_eq!(Trace::decode(&bytes), Ok(t.clone()));
        // Truncated or altered files are refused, not misread.
        assert!(Trace::decode(&bytes[..bytes.len() - 1]).is_err());
        let mut wrong = bytes.clone();
        wrong[0] = b'x';
        assert!(Trace::decode(&wrong).is_err());
        let head_end = bytes.iter().position(|c| *c == b'\n').unwrap();
        let mut extra_step = bytes.clone();
        extra_step.extend([0, 1]);
        assert!(Trace::decode(&extra_step).is_err());
        assert!(head_end > MAGIC.len());
    }

    #[test]
    fn layout_hash_depends_on_names_widths_and_offsets() {
        let base = layout_hash([("a", 1, 0), ("b", 64, 1)]);
        assert_eq!(base, layout_hash([("a", 1, 0), ("b", 64, 1)]));
        assert_ne!(base, layout_hash([("a", 1, 0), ("c", 64, 1)]));
        assert_ne!(base, layout_hash([("a", 2, 0), ("b", 64, 1)]));
        assert_ne!(base, layout_hash([("a", 1, 0), ("b", 64, 2)]));
    }

    #[test]
    fn output_hash_sees_every_step() {
        let a = hash_words(hash_words(FNV_OFFSET, &[1, 2]), &[1, 2]);
        let b = hash_words(FNV_OFFSET, &[1, 2]);
        assert_ne!(a, b);
    }

    /// The committed training recording (sim/pgo/) must have been recorded
    /// on the blk model's current input ports, and its replay by build.rs
    /// must give the outputs it recorded: otherwise the PGO build trains
    /// on something else than the QD32 load. Regenerate it as
    /// docs/simulation.md says ("Session 5: PGO").
    #[cfg(vfpga_verilator)]
    #[test]
    fn committed_pgo_recording_matches_the_blk_model() {
        #[allow(dead_code)] // The outputs' half of the layout.
        mod layout {
            include!(concat!(env!("OUT_DIR"), "/verilator_ports_blk.rs"));
        }
        let t = Trace::decode(include_bytes!("../../pgo/blk_qd32.trace")).unwrap();
        assert_eq!(t.in_words, layout::IN_WORDS);
        assert_eq!(
            t.layout,
            layout_hash(layout::INPUTS.iter().copied()),
            "recorded on other input ports"
        );
        assert!(t.skip, "recorded without fixed-point skips");
        let status = env!("VFPGA_VERILATOR_PGO_STATUS");
        if !status.starts_with("off") {
            assert!(
                status.starts_with("on, replay faithful"),
                "build.rs: {status}"
            );
        }
    }
}
