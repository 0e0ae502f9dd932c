//! A register slice: a two-entry skid buffer on one valid/ready channel,
//! placed on every channel at the edge of a top level.
//!
//! Both sides of the slice are driven from flip-flops: `out_valid`,
//! `out_data` and `in_ready` depend on the slice's state only. At the top
//! level that cuts every combinational path from an input port to the
//! logic behind it and from that logic to an output port, which is what a
//! board needs to close timing at the pins and what makes the Verilator
//! model cheap: only the slices' own few gates depend on the inputs, so a
//! change of inputs no longer re-evaluates the whole design.
//!
//! Full throughput (one beat per cycle when the far side is ready), one
//! cycle of latency. The second register ("skid") catches the beat that
//! arrives in the cycle the far side stops taking them, because
//! `in_ready` is the registered "skid is empty" and so lags by a cycle.

use rust_hdl::prelude::*;

/// Two-entry register slice for `W` bits of payload.
///
/// The registers are local signals written at the clock edge rather than
/// `DFF` children, so that the hand-written Verilog (see [`RegSlice::hdl`])
/// can load them in enable style: a data register is written only in the
/// cycle a beat is actually taken into it. `update` below is the simulation
/// model and does exactly the same.
#[derive(LogicBlock, Default, Debug)]
pub struct RegSlice<const W: usize> {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Synchronous clear: both entries dropped.
    pub clear: Signal<In, Bit>,
    /// Upstream beat valid.
    pub in_valid: Signal<In, Bit>,
    /// Upstream may send (registered, and low during `clear`).
    pub in_ready: Signal<Out, Bit>,
    /// Upstream payload.
    pub in_data: Signal<In, Bits<W>>,
    /// Downstream beat valid (registered).
    pub out_valid: Signal<Out, Bit>,
    /// Downstream takes the beat.
    pub out_ready: Signal<In, Bit>,
    /// Downstream payload (registered; holds the last beat while
    /// `out_valid` is low).
    pub out_data: Signal<Out, Bits<W>>,
    /// Holds no beat (registered).
    pub empty: Signal<Out, Bit>,
    main_valid: Signal<Local, Bit>,
    main_data: Signal<Local, Bits<W>>,
    skid_valid: Signal<Local, Bit>,
    skid_data: Signal<Local, Bits<W>>,
}

impl<const W: usize> Logic for RegSlice<W> {
    fn update(&mut self) {
        if self.clock.pos_edge() {
            // Values before the edge: `val()` of a local changes only after
            // this call, in the same simulation pass.
            let main_valid = self.main_valid.val();
            let skid_valid = self.skid_valid.val();
            if self.out_ready.val() || !main_valid {
                // The main register moves on: refill it from the skid
                // register first (older), else from upstream. Its data is
                // loaded only with a beat.
                if skid_valid {
                    self.main_data.next = self.skid_data.val();
                } else if self.in_valid.val() {
                    self.main_data.next = self.in_data.val();
                }
                self.main_valid.next = skid_valid || self.in_valid.val();
                self.skid_valid.next = false;
            } else if self.in_valid.val() && !skid_valid {
                // Downstream stalls: the beat accepted this cycle waits aside.
                self.skid_valid.next = true;
                self.skid_data.next = self.in_data.val();
            }
            if self.clear.val() {
                self.main_valid.next = false;
                self.skid_valid.next = false;
            }
        }
        // Nothing is taken while clearing: it would be dropped unseen.
        self.in_ready.next = !self.skid_valid.val() && !self.clear.val();
        self.out_valid.next = self.main_valid.val();
        self.out_data.next = self.main_data.val();
        self.empty.next = !self.main_valid.val() && !self.skid_valid.val();
    }

    fn connect(&mut self) {
        self.in_ready.connect();
        self.out_valid.connect();
        self.out_data.connect();
        self.empty.connect();
        self.main_valid.connect();
        self.main_data.connect();
        self.skid_valid.connect();
        self.skid_data.connect();
    }

    /// The same logic as `update`, written by hand. rust-hdl would emit a
    /// `DFF` per register and one combinational block that first copies
    /// every `q` to its `d` and then overrides it, which Verilator evaluates
    /// in full (both data registers, every word) on every evaluation and
    /// copies again at every edge. Here the outputs are plain wires from the
    /// state and each data register is written only when it takes a beat.
    /// `tests/slice_verilog.rs` runs this Verilog against `update` in Icarus.
    fn hdl(&self) -> Verilog {
        Verilog::Custom(
            "\
initial begin
    main_valid = 1'b0;
    main_data = 0;
    skid_valid = 1'b0;
    skid_data = 0;
end

always @(*) in_ready = !skid_valid && !clear;
always @(*) out_valid = main_valid;
always @(*) out_data = main_data;
always @(*) empty = !main_valid && !skid_valid;

always @(posedge clock) begin
    if (out_ready || !main_valid) begin
        main_valid <= skid_valid || in_valid;
        skid_valid <= 1'b0;
    end else if (in_valid && !skid_valid) begin
        skid_valid <= 1'b1;
    end
    if (clear) begin
        main_valid <= 1'b0;
        skid_valid <= 1'b0;
    end
end

always @(posedge clock) begin
    if ((out_ready || !main_valid) && (skid_valid || in_valid)) begin
        main_data <= skid_valid ? skid_data : in_data;
    end
end

always @(posedge clock) begin
    if (!(out_ready || !main_valid) && in_valid && !skid_valid) begin
        skid_data <= in_data;
    end
end
"
            .into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testbench::XorShift;
    use std::collections::VecDeque;

    /// Seeded random valid and ready on both sides: every beat comes out
    /// once, in order; the outputs never depend on this cycle's inputs; at
    /// most two beats are ever inside.
    #[test]
    fn slice_passes_every_beat_in_order_under_random_stalls() {
        let mut s: RegSlice<16> = RegSlice::default();
        s.connect_all();
        let mut rng = XorShift::new(11);
        let mut sent = 0u64;
        let mut got = 0u64;
        let mut inside = VecDeque::new();
        let mut both_ready_cycles = 0;
        for _ in 0..20_000 {
            let offer = rng.chance(70);
            let take = rng.chance(60);
            s.in_valid.next = offer;
            s.in_data.next = (sent & 0xffff).into();
            s.out_ready.next = take;
            assert!(simulate(&mut s, 100));
            let in_ready = s.in_ready.val();
            let (out_valid, out_data) = (s.out_valid.val(), s.out_data.val());
            // Registered outputs: flipping this cycle's inputs changes nothing.
            s.in_valid.next = !offer;
            s.out_ready.next = !take;
            assert!(simulate(&mut s, 100));
            assert_eq!(s.in_ready.val(), in_ready);
            assert_eq!(s.out_valid.val(), out_valid);
            assert_eq!(s.out_data.val(), out_data);
            s.in_valid.next = offer;
            s.out_ready.next = take;
            assert!(simulate(&mut s, 100));
            assert_eq!(s.empty.val(), inside.is_empty());
            assert_eq!(out_valid, !inside.is_empty());
            if out_valid && take {
                assert_eq!(
                    out_data.to_u64(),
                    inside.pop_front().expect("a beat inside")
                );
                got += 1;
            }
            if offer && in_ready {
                inside.push_back(sent & 0xffff);
                sent += 1;
            }
            assert!(inside.len() <= 2);
            both_ready_cycles += usize::from(offer && in_ready && out_valid && take);
            s.clock.next = Clock { clk: true };
            assert!(simulate(&mut s, 100));
            s.clock.next = Clock { clk: false };
            assert!(simulate(&mut s, 100));
        }
        assert!(got > 5_000 && got + 2 >= sent, "sent {sent} got {got}");
        assert!(both_ready_cycles > 1_000, "full throughput exercised");
    }

    /// With the far side always ready a beat per cycle streams through.
    #[test]
    fn slice_streams_one_beat_per_cycle() {
        let mut s: RegSlice<8> = RegSlice::default();
        s.connect_all();
        let mut got = Vec::new();
        for i in 0..64u64 {
            s.in_valid.next = true;
            s.in_data.next = (i & 0xff).into();
            s.out_ready.next = true;
            assert!(simulate(&mut s, 100));
            assert!(s.in_ready.val());
            if s.out_valid.val() {
                got.push(s.out_data.val().to_u64());
            }
            s.clock.next = Clock { clk: true };
            assert!(simulate(&mut s, 100));
            s.clock.next = Clock { clk: false };
            assert!(simulate(&mut s, 100));
        }
        assert_eq!(got, (0..63).collect::<Vec<_>>());
    }
}
