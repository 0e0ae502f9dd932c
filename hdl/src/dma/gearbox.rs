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

impl Logic for Gearbox {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, hold, cnt);
        self.out_data.next = self.hold.q.val().get_bits::<128>(0);
        self.fill.next = self.cnt.q.val();
        self.in_ready.next = self.cnt.q.val() <= 16;
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
