//! The net function's management registers (`vfpga_abi::mgmt::net`): the RX
//! filter and queue layout firmware programs, and the control-queue command
//! the hardware holds for firmware (virtio 1.2 §5.1.6.5).

use vfpga_abi::mgmt::net as regs;
use vfpga_abi::net::ctrl::MAC_TABLE_ENTRIES;

use crate::hal::Hal;
use crate::net_ctrl::{MAC_LEN, NetCtrlState};

/// Payload bytes the hardware holds (`CTRL_PAYLOAD_MAX`).
pub const PAYLOAD_MAX: usize = regs::CTRL_PAYLOAD_MAX;

/// RX_MODE for `state`, with MRG_RXBUF as negotiated.
pub fn rx_mode(state: &NetCtrlState, mrg_rxbuf: bool) -> u32 {
    (state.promisc as u32 * regs::RX_MODE_PROMISC)
        | (state.allmulti as u32 * regs::RX_MODE_ALLMULTI)
        | (mrg_rxbuf as u32 * regs::RX_MODE_MRG_RXBUF)
}

/// An address as the (LO, HI) register pair: byte 0 in bits 7:0 of LO,
/// bytes 4 and 5 in bits 15:0 of HI.
pub fn mac_words(mac: &[u8; MAC_LEN]) -> (u32, u32) {
    (
        u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]]),
        u16::from_le_bytes([mac[4], mac[5]]) as u32,
    )
}

/// QUEUES for `pairs` RX pairs in use and the control queue at `ctrl_queue`.
pub fn queues(pairs: u16, ctrl_queue: u16) -> u32 {
    (pairs as u32 & regs::QUEUES_PAIRS_MASK)
        | (ctrl_queue as u32 & regs::QUEUES_CTRL_MASK) << regs::QUEUES_CTRL_SHIFT
}

/// Writes the RX filter: RX_MODE, the primary MAC, then every table entry
/// (unicast, then multicast, VALID; the entries past the end cleared).
///
/// Every register is rewritten, changed or not: rewriting an entry with its
/// own value changes nothing the filter sees (FILTER_LO is staged until
/// FILTER_HI stores the whole entry), so only real changes are visible, and
/// the hardware never has to be trusted to have kept an earlier value.
pub fn program_filter<H: Hal>(hal: &mut H, state: &NetCtrlState, mrg_rxbuf: bool) {
    hal.write(regs::RX_MODE, rx_mode(state, mrg_rxbuf));
    let (lo, hi) = mac_words(&state.mac);
    hal.write(regs::MAC_LO, lo);
    hal.write(regs::MAC_HI, hi);
    let table = state.table.unicast().iter().chain(state.table.multicast());
    let mut entries = table.map(Some).chain(core::iter::repeat(None));
    for i in 0..MAC_TABLE_ENTRIES {
        let (lo, hi) = match entries.next().flatten() {
            Some(mac) => {
                let (lo, hi) = mac_words(mac);
                (lo, hi | regs::FILTER_VALID)
            }
            None => (0, 0),
        };
        hal.write(regs::FILTER_SEL, i as u32);
        hal.write(regs::FILTER_LO, lo);
        hal.write(regs::FILTER_HI, hi);
    }
}

/// A control command the hardware holds (`CTRL_CMD` with PENDING set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldCommand {
    /// `class`.
    pub class: u8,
    /// `command`.
    pub command: u8,
    /// The payload length the driver gave (may exceed [`PAYLOAD_MAX`]).
    pub len: usize,
}

impl HeldCommand {
    /// The whole payload is held (and was read).
    pub fn fits(&self) -> bool {
        self.len <= PAYLOAD_MAX
    }
}

/// Reads the held command, if any, and its payload into `buf` (only up to
/// its length: at most `PAYLOAD_MAX / 4` register pairs; nothing for a
/// payload that does not fit, which is answered with an error unread).
pub fn read_held<H: Hal>(hal: &mut H, buf: &mut [u8; PAYLOAD_MAX]) -> Option<HeldCommand> {
    let word = hal.read(regs::CTRL_CMD);
    if word & regs::CTRL_CMD_PENDING == 0 {
        return None;
    }
    let cmd = HeldCommand {
        class: word as u8,
        command: (word >> 8) as u8,
        len: (word >> 16 & 0xFFF) as usize,
    };
    if cmd.fits() {
        for (i, chunk) in buf[..cmd.len].chunks_mut(4).enumerate() {
            hal.write(regs::CTRL_DATA_SEL, i as u32);
            let bytes = hal.read(regs::CTRL_DATA).to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
    Some(cmd)
}

/// Answers the held command: the hardware writes `ack` into the chain, uses
/// it and notifies the driver.
pub fn ack<H: Hal>(hal: &mut H, ack: u8) {
    hal.write(regs::CTRL_ACK, ack as u32);
}
