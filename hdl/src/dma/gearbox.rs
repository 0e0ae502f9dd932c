//! Byte gearbox: re-packs a byte stream between beat boundaries.
//!
//! DMA beats are aligned to their request's address, storage beats to the
//! start of a request's data, and the buffers of one chain can have any
//! length, so a chain's bytes change alignment at every segment boundary.
//! The gearbox holds up to two beats of bytes: the producer pushes a beat
//! with `in_bytes` valid bytes (low bytes first), the consumer takes
//! `out_take` bytes from the bottom once `fill` is at least that much.

use rust_hdl::prelude::*;

/// Bytes in one beat.
pub const BEAT_BYTES: usize = vfpga_abi::ports::DMA_DATA_BYTES as usize;

/// Two-beat byte re-packer for 128-bit beats.
#[derive(LogicBlock, Default, Debug)]
pub struct Gearbox {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Drop the bytes held.
    pub clear: Signal<In, Bit>,
    /// A beat is offered.
    pub in_valid: Signal<In, Bit>,
    /// The beat is taken (room for a full beat).
    pub in_ready: Signal<Out, Bit>,
    /// Beat data, first byte in bits 7:0.
    pub in_data: Signal<In, Bits<128>>,
    /// Valid bytes in the beat (1..=16); the rest is ignored.
    pub in_bytes: Signal<In, Bits<5>>,
    /// Lowest 16 bytes held.
    pub out_data: Signal<Out, Bits<128>>,
    /// Bytes held (0..=32).
    pub fill: Signal<Out, Bits<6>>,
    /// Remove `out_take` bytes from the bottom (caller checks `fill`).
    pub out_pop: Signal<In, Bit>,
    /// Bytes to remove (0..=16).
    pub out_take: Signal<In, Bits<5>>,
    hold: DFF<Bits<256>>,
    cnt: DFF<Bits<6>>,
    kept: Signal<Local, Bits<256>>,
    kept_fill: Signal<Local, Bits<6>>,
    clean: Signal<Local, Bits<128>>,
    drop_bits: Signal<Local, Bits<8>>,
}

impl Gearbox {
    #[hdl_gen]
    fn logic(&mut self) {
        // The outputs, from the registers only: hoisted into a Verilog
        // block of their own (see `hdl`).
        self.out_data.next = self.hold.q.val().get_bits::<128>(0);
        self.fill.next = self.cnt.q.val();
        self.in_ready.next = self.cnt.q.val() <= 16;
        dff_setup!(self, clock, hold, cnt);
        self.kept.next = self.hold.q.val();
        self.kept_fill.next = self.cnt.q.val();
        if self.out_pop.val() {
            self.kept.next = self.hold.q.val() >> (bit_cast::<9, 5>(self.out_take.val()) << 3);
            self.kept_fill.next = self.cnt.q.val() - bit_cast::<6, 5>(self.out_take.val());
        }
        // Clear the bytes past in_bytes so they cannot leak into the stream.
        self.drop_bits.next = bit_cast::<8, 5>(bits::<5>(16) - self.in_bytes.val()) << 3;
        self.clean.next = (self.in_data.val() << self.drop_bits.val()) >> self.drop_bits.val();
        self.hold.d.next = self.kept.val();
        self.cnt.d.next = self.kept_fill.val();
        if self.in_valid.val() && (self.cnt.q.val() <= 16) {
            self.hold.d.next = self.kept.val()
                | (bit_cast::<256, 128>(self.clean.val())
                    << (bit_cast::<9, 6>(self.kept_fill.val()) << 3));
            self.cnt.d.next = self.kept_fill.val() + bit_cast::<6, 5>(self.in_bytes.val());
        }
        if self.clear.val() {
            self.hold.d.next = 0.into();
            self.cnt.d.next = 0.into();
        }
    }
}

impl Logic for Gearbox {
    fn update(&mut self) {
        self.logic();
    }

    fn connect(&mut self) {
        Gearbox::connect(self);
    }

    /// rust-hdl's Verilog of `logic`, with the outputs in an `always` block
    /// of their own: in one block with the next-state logic, which reads
    /// `in_valid`/`out_pop`, `fill` would close a false combinational loop
    /// through a user that computes its own `valid` from `fill` (the blk
    /// request's DMA writes do).
    fn hdl(&self) -> Verilog {
        crate::vq::split::hoist(Gearbox::hdl(self), 3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testbench::XorShift;
    use std::collections::VecDeque;

    fn cycle(g: &mut Gearbox) {
        g.clock.next = Clock { clk: true };
        assert!(simulate(g, 100));
        g.clock.next = Clock { clk: false };
        assert!(simulate(g, 100));
    }

    /// Random beats of 1..=16 bytes in, random takes of 0..=16 bytes out,
    /// random stalls on both sides: the bytes come out in order, unchanged.
    #[test]
    fn gearbox_repacks_any_byte_stream() {
        let mut g = Gearbox::default();
        g.connect_all();
        let mut rng = XorShift::new(7);
        let mut model: VecDeque<u8> = VecDeque::new();
        let mut sent = 0u64;
        let mut moved = 0u64;
        for _ in 0..20_000 {
            let n = 1 + rng.below(16) as usize;
            let mut beat = [0u8; 16];
            for (i, b) in beat.iter_mut().enumerate() {
                // Bytes past n are garbage the gearbox must drop.
                *b = if i < n {
                    (sent as usize + i) as u8
                } else {
                    0xff
                };
            }
            let push = rng.chance(60);
            g.in_valid.next = push;
            g.in_data.next = u128::from_le_bytes(beat).to_bits();
            g.in_bytes.next = (n as u64).into();
            let fill = g.fill.val().to_u64() as usize;
            assert_eq!(fill, model.len());
            let take = rng.below(17) as usize;
            let pop = take <= fill && rng.chance(60);
            g.out_pop.next = pop;
            g.out_take.next = (take as u64).into();
            assert!(simulate(&mut g, 100));
            if pop {
                let out = g.out_data.val().to_u128().to_le_bytes();
                for (i, &b) in out.iter().take(take).enumerate() {
                    assert_eq!(b, model[i], "byte {} of a take", i);
                }
                model.drain(..take);
                moved += take as u64;
            }
            if push && g.in_ready.val() {
                model.extend(&beat[..n]);
                sent += n as u64;
            }
            cycle(&mut g);
        }
        assert!(moved > 50_000, "the test moved too little: {moved}");
    }
}
