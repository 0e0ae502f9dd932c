//! RX MAC filter (virtio 1.2 §5.1.6.5.1, §5.1.6.5.2) and the net function's
//! management registers (`vfpga_abi::mgmt::net`).
//!
//! A frame is accepted when promiscuous mode is on, when its destination is
//! broadcast, when it is multicast and all-multicast mode is on, or when its
//! destination equals the primary MAC or a valid table entry (unicast and
//! multicast entries are matched alike). The decision is taken on the first
//! beat (the destination is bytes 0..6) and holds for the whole frame; a
//! rejected frame is consumed at line rate and counted. The stream passes
//! through combinationally: no cycle is added.

use rust_hdl::prelude::*;
use vfpga_abi::mgmt::net as regs;

/// Entries of the MAC table.
pub const TABLE_ENTRIES: usize = vfpga_abi::net::ctrl::MAC_TABLE_ENTRIES;

// Literals in the RTL below (rust-hdl emits named constants as signal names).
const _: () = assert!(regs::RX_MODE == 0x60 && regs::MAC_LO == 0x61 && regs::MAC_HI == 0x62);
const _: () = assert!(regs::FILTER_SEL == 0x63 && regs::FILTER_LO == 0x64);
const _: () = assert!(regs::FILTER_HI == 0x65 && regs::RX_DROP_FILTER == 0x67);
const _: () = assert!(regs::RX_MODE_PROMISC == 1 && regs::RX_MODE_ALLMULTI == 2);
const _: () = assert!(regs::RX_MODE_MRG_RXBUF == 4 && regs::FILTER_VALID == 1 << 16);
const _: () = assert!(TABLE_ENTRIES == 16);

/// The RX filter with its registers.
#[derive(LogicBlock, Debug)]
pub struct NetFilter {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Power-on reset: promiscuous, empty table, MAC 0 (firmware programs it).
    pub reset: Signal<In, Bit>,
    /// Register write strobe (a management write to a net register).
    pub reg_write: Signal<In, Bit>,
    /// Register word address.
    pub reg_addr: Signal<In, Bits<8>>,
    /// Register write data.
    pub reg_wdata: Signal<In, Bits<32>>,
    /// Register read data for `reg_addr` (0 outside the filter's registers).
    pub reg_rdata: Signal<Out, Bits<32>>,
    /// RX_MODE.MRG_RXBUF, for the RX stage.
    pub mrg_rxbuf: Signal<Out, Bit>,
    /// Frame from the MAC: valid.
    pub in_valid: Signal<In, Bit>,
    /// Frame from the MAC: ready.
    pub in_ready: Signal<Out, Bit>,
    /// Frame from the MAC: data, first byte in bits 7:0.
    pub in_data: Signal<In, Bits<128>>,
    /// Frame from the MAC: valid bytes in the beat (1..=16).
    pub in_bytes: Signal<In, Bits<5>>,
    /// Frame from the MAC: last beat.
    pub in_last: Signal<In, Bit>,
    /// Accepted frame: valid.
    pub out_valid: Signal<Out, Bit>,
    /// Accepted frame: ready.
    pub out_ready: Signal<In, Bit>,
    /// Accepted frame: data.
    pub out_data: Signal<Out, Bits<128>>,
    /// Accepted frame: bytes.
    pub out_bytes: Signal<Out, Bits<5>>,
    /// Accepted frame: last beat.
    pub out_last: Signal<Out, Bit>,
    /// Frames dropped by the filter.
    pub drops: Signal<Out, Bits<32>>,
    mode: DFF<Bits<3>>,
    mac: DFF<Bits<48>>,
    sel: DFF<Bits<4>>,
    stage_lo: DFF<Bits<32>>,
    table: [DFF<Bits<49>>; TABLE_ENTRIES],
    idx: [Constant<Bits<4>>; TABLE_ENTRIES],
    mid: DFF<Bit>,
    pass: DFF<Bit>,
    cnt: DFF<Bits<32>>,
    dst: Signal<Local, Bits<48>>,
    hit: Signal<Local, Bit>,
    entry: Signal<Local, Bits<49>>,
    accept: Signal<Local, Bit>,
    take: Signal<Local, Bit>,
}

impl Default for NetFilter {
    fn default() -> Self {
        Self {
            clock: Default::default(),
            reset: Default::default(),
            reg_write: Default::default(),
            reg_addr: Default::default(),
            reg_wdata: Default::default(),
            reg_rdata: Default::default(),
            mrg_rxbuf: Default::default(),
            in_valid: Default::default(),
            in_ready: Default::default(),
            in_data: Default::default(),
            in_bytes: Default::default(),
            in_last: Default::default(),
            out_valid: Default::default(),
            out_ready: Default::default(),
            out_data: Default::default(),
            out_bytes: Default::default(),
            out_last: Default::default(),
            drops: Default::default(),
            mode: Default::default(),
            mac: Default::default(),
            sel: Default::default(),
            stage_lo: Default::default(),
            table: Default::default(),
            idx: core::array::from_fn(|i| Constant::new((i as u64).into())),
            mid: Default::default(),
            pass: Default::default(),
            cnt: Default::default(),
            dst: Default::default(),
            hit: Default::default(),
            entry: Default::default(),
            accept: Default::default(),
            take: Default::default(),
        }
    }
}

impl Logic for NetFilter {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, mode, mac, sel, stage_lo, mid, pass, cnt);
        for i in 0..TABLE_ENTRIES {
            self.table[i].clock.next = self.clock.val();
            self.table[i].d.next = self.table[i].q.val();
        }
        self.mrg_rxbuf.next = self.mode.q.val().get_bit(2);
        self.drops.next = self.cnt.q.val();

        // Destination address of the frame, matched on its first beat.
        self.dst.next = self.in_data.val().get_bits::<48>(0);
        self.hit.next = self.dst.val() == self.mac.q.val();
        for i in 0..TABLE_ENTRIES {
            if self.table[i].q.val().get_bit(48)
                && (self.table[i].q.val().get_bits::<48>(0) == self.dst.val())
            {
                self.hit.next = true;
            }
        }
        self.accept.next = self.mode.q.val().get_bit(0)
            || (self.dst.val() == 0xffff_ffff_ffff_u64)
            || (self.dst.val().get_bit(0) && self.mode.q.val().get_bit(1))
            || self.hit.val();
        // `mid`: inside a frame (0 after power-on, so no reset is needed).
        self.take.next = self.accept.val();
        if self.mid.q.val() {
            self.take.next = self.pass.q.val();
        }
        self.out_valid.next = self.in_valid.val() && self.take.val();
        self.out_data.next = self.in_data.val();
        self.out_bytes.next = self.in_bytes.val();
        self.out_last.next = self.in_last.val();
        self.in_ready.next = true;
        if self.take.val() {
            self.in_ready.next = self.out_ready.val();
        }
        if self.in_valid.val() && self.in_ready.val() {
            if !self.mid.q.val() {
                self.pass.d.next = self.accept.val();
                if !self.accept.val() {
                    self.cnt.d.next = self.cnt.q.val() + 1;
                }
            }
            self.mid.d.next = !self.in_last.val();
        }

        // Registers (match labels in decimal, 96 = 0x60: rust-hdl copies a
        // hex label into the Verilog as written, which Verilog rejects).
        self.entry.next = 0.into();
        for i in 0..TABLE_ENTRIES {
            if self.sel.q.val() == self.idx[i].val() {
                self.entry.next = self.table[i].q.val();
            }
        }
        self.reg_rdata.next = 0.into();
        match self.reg_addr.val().index() {
            96 => {
                self.reg_rdata.next = bit_cast::<32, 3>(self.mode.q.val());
            }
            97 => {
                self.reg_rdata.next = self.mac.q.val().get_bits::<32>(0);
            }
            98 => {
                self.reg_rdata.next = bit_cast::<32, 16>(self.mac.q.val().get_bits::<16>(32));
            }
            99 => {
                self.reg_rdata.next = bit_cast::<32, 4>(self.sel.q.val());
            }
            100 => {
                self.reg_rdata.next = self.entry.val().get_bits::<32>(0);
            }
            101 => {
                self.reg_rdata.next = bit_cast::<32, 17>(self.entry.val().get_bits::<17>(32));
            }
            103 => {
                self.reg_rdata.next = self.cnt.q.val();
            }
            _ => {}
        }
        if self.reg_write.val() {
            match self.reg_addr.val().index() {
                96 => {
                    self.mode.d.next = self.reg_wdata.val().get_bits::<3>(0);
                }
                97 => {
                    self.mac.d.next = (self.mac.q.val() & 0xffff_0000_0000_u64)
                        | bit_cast::<48, 32>(self.reg_wdata.val());
                }
                98 => {
                    self.mac.d.next = (self.mac.q.val() & 0xffff_ffff_u64)
                        | (bit_cast::<48, 16>(self.reg_wdata.val().get_bits::<16>(0)) << 32);
                }
                99 => {
                    self.sel.d.next = self.reg_wdata.val().get_bits::<4>(0);
                }
                100 => {
                    self.stage_lo.d.next = self.reg_wdata.val();
                }
                101 => {
                    for i in 0..TABLE_ENTRIES {
                        if self.sel.q.val() == self.idx[i].val() {
                            self.table[i].d.next = bit_cast::<49, 32>(self.stage_lo.q.val())
                                | (bit_cast::<49, 17>(self.reg_wdata.val().get_bits::<17>(0))
                                    << 32);
                        }
                    }
                }
                _ => {}
            }
        }
        if self.reset.val() {
            self.mode.d.next = 1.into();
            self.mac.d.next = 0.into();
            self.sel.d.next = 0.into();
            self.stage_lo.d.next = 0.into();
            self.mid.d.next = false;
            self.pass.d.next = false;
            self.cnt.d.next = 0.into();
            for i in 0..TABLE_ENTRIES {
                self.table[i].d.next = 0.into();
            }
        }
    }
}
