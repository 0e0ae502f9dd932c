//! A waveform of the top-level ports in Value Change Dump format (IEEE 1364
//! §18), which GTKWave and every other viewer open. Written from the port
//! structs, so it looks the same whichever backend ran.

use std::io::{self, Write};

use crate::clock::{ClockRate, Cycle};
use crate::ports::{TopInputs, TopOutputs};

/// Writes one VCD of the top-level ports, one sample per cycle.
#[derive(Debug)]
pub struct VcdWriter<W: Write> {
    out: W,
    half_period_ps: u64,
    last: Vec<Option<u128>>,
    ids: Vec<String>,
    widths: Vec<u32>,
}

fn ident(mut i: usize) -> String {
    // Printable ASCII '!'..='~', shortest first.
    let mut s = String::new();
    loop {
        s.push((b'!' + (i % 94) as u8) as char);
        i /= 94;
        if i == 0 {
            return s;
        }
        i -= 1;
    }
}

impl<W: Write> VcdWriter<W> {
    /// Writes the header: every port of [`TopInputs`] and [`TopOutputs`]
    /// under scope `top`, and a `clock` signal at `rate`.
    pub fn new(mut out: W, rate: ClockRate) -> io::Result<Self> {
        let mut names = vec![("clock", 1)];
        TopInputs::default().visit(&mut |(n, w, _)| names.push((n, w)));
        TopOutputs::default().visit(&mut |(n, w, _)| names.push((n, w)));
        let period_ps = 1_000_000_000_000 / rate.hz;
        writeln!(out, "$version vfpga-sim $end")?;
        writeln!(out, "$timescale 1ps $end")?;
        writeln!(out, "$scope module top $end")?;
        let ids: Vec<String> = (0..names.len()).map(ident).collect();
        for ((n, w), id) in names.iter().zip(&ids) {
            writeln!(out, "$var wire {w} {id} {n} $end")?;
        }
        writeln!(out, "$upscope $end")?;
        writeln!(out, "$enddefinitions $end")?;
        Ok(VcdWriter {
            out,
            half_period_ps: period_ps / 2,
            last: vec![None; names.len()],
            widths: names.iter().map(|n| n.1).collect(),
            ids,
        })
    }

    fn value(&mut self, i: usize, v: u128) -> io::Result<()> {
        if self.last[i] == Some(v) {
            return Ok(());
        }
        self.last[i] = Some(v);
        if self.widths[i] == 1 {
            writeln!(self.out, "{}{}", v & 1, self.ids[i])
        } else {
            writeln!(self.out, "b{v:b} {}", self.ids[i])
        }
    }

    /// Records cycle `cycle`: the ports as they were before its rising
    /// edge; the clock rises mid-cycle and falls at its end.
    pub fn sample(&mut self, cycle: Cycle, inp: &TopInputs, out: &TopOutputs) -> io::Result<()> {
        writeln!(self.out, "#{}", cycle * 2 * self.half_period_ps)?;
        self.value(0, 0)?;
        let mut vals = Vec::with_capacity(self.ids.len());
        inp.visit(&mut |(_, _, v)| vals.push(v));
        out.visit(&mut |(_, _, v)| vals.push(v));
        for (i, v) in vals.into_iter().enumerate() {
            self.value(i + 1, v)?;
        }
        writeln!(self.out, "#{}", (cycle * 2 + 1) * self.half_period_ps)?;
        self.value(0, 1)
    }

    /// Flushes and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vfpga_abi::ports::DmaReadRequest;

    #[test]
    fn identifiers_are_unique_printable_and_short() {
        let ids: Vec<String> = (0..10_000).map(ident).collect();
        let set: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(set.len(), ids.len());
        assert!(
            ids.iter()
                .all(|s| s.bytes().all(|b| (b'!'..=b'~').contains(&b)))
        );
        assert_eq!(ids[93].len(), 1);
        assert_eq!(ids[94].len(), 2);
    }

    #[test]
    fn dump_declares_every_port_and_records_only_changes() {
        let mut v = VcdWriter::new(Vec::new(), ClockRate::default()).unwrap();
        let inp = TopInputs::default();
        let mut out = TopOutputs::default();
        v.sample(0, &inp, &out).unwrap();
        out.dma_rd_req = Some(DmaReadRequest {
            tag: 1,
            addr: 0x40,
            len: 16,
        });
        v.sample(1, &inp, &out).unwrap();
        v.sample(2, &inp, &out).unwrap();
        let text = String::from_utf8(v.finish().unwrap()).unwrap();
        let vars = text.lines().filter(|l| l.starts_with("$var")).count();
        let mut n = 1;
        inp.visit(&mut |_| n += 1);
        out.visit(&mut |_| n += 1);
        assert_eq!(vars, n);
        assert!(text.contains("$var wire 64 ") && text.contains(" dma_rd_req_addr $end"));
        // 250 MHz: 4000 ps per cycle, clock high at 2000 ps.
        let times: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
        assert_eq!(times, ["#0", "#2000", "#4000", "#6000", "#8000", "#10000"]);
        // Cycle 1 changes only the read request (valid, tag, addr, len) and the clock.
        let after_4000: Vec<&str> = text
            .split("#4000\n")
            .nth(1)
            .unwrap()
            .split("#6000")
            .next()
            .unwrap()
            .lines()
            .collect();
        assert_eq!(after_4000.len(), 5, "{after_4000:?}");
        assert!(
            after_4000.iter().any(|l| l.starts_with("b1000000 ")),
            "addr 0x40"
        );
        // Cycle 2 changes nothing but the clock.
        let after_8000 = text
            .split("#8000\n")
            .nth(1)
            .unwrap()
            .split("#10000")
            .next()
            .unwrap();
        assert_eq!(after_8000.lines().count(), 1);
    }
}
