//! Queue layout and automatic receive steering (virtio 1.2 §5.1.2,
//! §5.1.6.5.5): the `QUEUES` register (`vfpga_abi::mgmt::net::QUEUES`) and
//! a flow table that sends a flow's RX to the pair whose TX last sent it.
//!
//! The table has 16 one-bit entries (the pair), indexed by a 4-bit hash of
//! the peer's MAC address: the XOR of its twelve nibbles. A TX frame's
//! destination MAC writes its entry with the pair that sent the frame; an
//! RX frame's source MAC reads it. Flows whose peers hash alike share an
//! entry (the last sender wins): steering is a placement hint, never a
//! correctness matter, as the spec allows. An entry never written says
//! pair 0. A pair at or past `QUEUES.pairs` (the driver's
//! `VQ_PAIRS_SET`), or any pair while queue 2 is the control queue, reads
//! as pair 0. `engine_reset` forgets the table; `QUEUES` itself is the
//! firmware's (kept, like the filter registers, until power-on reset).

use rust_hdl::prelude::*;

use vfpga_abi::mgmt::net as regs;

// Literals in the RTL below (rust-hdl emits named constants as signal names).
const _: () = assert!(regs::QUEUES == 0x6B);
const _: () = assert!(regs::QUEUES_PAIRS_MASK == 0xF && regs::QUEUES_CTRL_SHIFT == 8);
const _: () = assert!(vfpga_abi::net::MAX_QUEUE_PAIRS == 2 && vfpga_abi::net::CTRL_QUEUE == 4);

/// The `QUEUES` value after power-on: one pair steered, control queue 4.
pub const QUEUES_RESET: u32 = 1 | (vfpga_abi::net::CTRL_QUEUE as u32) << regs::QUEUES_CTRL_SHIFT;
const _: () = assert!(QUEUES_RESET == 0x401);

/// The 4-bit flow hash of a MAC address (bytes in wire order): the XOR of
/// its twelve nibbles. The hardware computes the same.
pub fn flow_hash(mac: [u8; 6]) -> u8 {
    mac.iter().fold(0, |h, b| h ^ (b & 0xF) ^ (b >> 4))
}

/// `QUEUES` register and the RX steering table.
#[derive(LogicBlock, Default, Debug)]
pub struct NetSteer {
    /// Clock.
    pub clock: Signal<In, Clock>,
    /// Power-on reset: `QUEUES` to [`QUEUES_RESET`], table cleared.
    pub reset: Signal<In, Bit>,
    /// engine_reset: table cleared.
    pub clear: Signal<In, Bit>,
    /// Register write strobe.
    pub reg_write: Signal<In, Bit>,
    /// Register word address.
    pub reg_addr: Signal<In, Bits<8>>,
    /// Register write data.
    pub reg_wdata: Signal<In, Bits<32>>,
    /// `QUEUES` when `reg_addr` names it, else 0.
    pub reg_rdata: Signal<Out, Bits<32>>,
    /// The control queue is queue 2 (no MQ); otherwise it is queue 4.
    pub ctrl2: Signal<Out, Bit>,
    /// A TX frame's first beat leaves for the MAC this cycle.
    pub tx_learn: Signal<In, Bit>,
    /// Its destination MAC (frame bytes 0..6, byte 0 in bits 7:0).
    pub tx_mac: Signal<In, Bits<48>>,
    /// The pair that sent it.
    pub tx_pair: Signal<In, Bit>,
    /// An RX frame's source MAC (frame bytes 6..12).
    pub rx_mac: Signal<In, Bits<48>>,
    /// The pair its RX goes to.
    pub rx_pair: Signal<Out, Bit>,
    queues: DFF<Bits<12>>,
    flows: DFF<Bits<16>>,
    tx_hash: Signal<Local, Bits<4>>,
    rx_hash: Signal<Local, Bits<4>>,
    tx_x: Signal<Local, Bits<8>>,
    rx_x: Signal<Local, Bits<8>>,
    rx_entry: Signal<Local, Bits<16>>,
}

impl Logic for NetSteer {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, queues, flows);
        self.tx_x.next = self.tx_mac.val().get_bits::<8>(0)
            ^ self.tx_mac.val().get_bits::<8>(8)
            ^ self.tx_mac.val().get_bits::<8>(16)
            ^ self.tx_mac.val().get_bits::<8>(24)
            ^ self.tx_mac.val().get_bits::<8>(32)
            ^ self.tx_mac.val().get_bits::<8>(40);
        self.tx_hash.next = self.tx_x.val().get_bits::<4>(0) ^ self.tx_x.val().get_bits::<4>(4);
        self.rx_x.next = self.rx_mac.val().get_bits::<8>(0)
            ^ self.rx_mac.val().get_bits::<8>(8)
            ^ self.rx_mac.val().get_bits::<8>(16)
            ^ self.rx_mac.val().get_bits::<8>(24)
            ^ self.rx_mac.val().get_bits::<8>(32)
            ^ self.rx_mac.val().get_bits::<8>(40);
        self.rx_hash.next = self.rx_x.val().get_bits::<4>(0) ^ self.rx_x.val().get_bits::<4>(4);
        self.ctrl2.next = self.queues.q.val().get_bits::<4>(8) == 2;
        // (Its own signal: Verilog cannot take bits of an expression.)
        self.rx_entry.next = self.flows.q.val() >> self.rx_hash.val();
        self.rx_pair.next = false;
        if !self.ctrl2.val() && (self.queues.q.val().get_bits::<4>(0) >= 2) {
            self.rx_pair.next = self.rx_entry.val().get_bit(0);
        }
        if self.tx_learn.val() {
            if self.tx_pair.val() {
                self.flows.d.next = self.flows.q.val() | (bits::<16>(1) << self.tx_hash.val());
            } else {
                self.flows.d.next = self.flows.q.val() & !(bits::<16>(1) << self.tx_hash.val());
            }
        }
        self.reg_rdata.next = 0.into();
        if self.reg_addr.val() == 0x6B {
            self.reg_rdata.next = bit_cast::<32, 12>(self.queues.q.val());
            if self.reg_write.val() {
                self.queues.d.next = self.reg_wdata.val().get_bits::<12>(0) & 0xF0F;
            }
        }
        if self.clear.val() {
            self.flows.d.next = 0.into();
        }
        if self.reset.val() {
            self.queues.d.next = 0x401.into();
            self.flows.d.next = 0.into();
        }
    }
}
