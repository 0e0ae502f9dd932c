//! virtio-net control virtqueue commands (virtio 1.2 §5.1.6.5) as a pure
//! function: (state, negotiated features, class, command, payload) -> (ack,
//! new state). `Firmware` feeds it the commands the hardware holds
//! (`net_regs`) and programs the result; keeping it pure makes every rule
//! testable without a queue.

use vfpga_abi::features::{NET_CTRL_MAC_ADDR, NET_CTRL_RX, NET_MQ, bit};
use vfpga_abi::net::ctrl;

/// Length of a MAC address.
pub const MAC_LEN: usize = 6;

/// The hardware MAC filter: unicast entries first, then multicast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MacTable {
    entries: [[u8; MAC_LEN]; ctrl::MAC_TABLE_ENTRIES],
    unicast: u8,
    multicast: u8,
}

impl MacTable {
    /// An empty table.
    pub const EMPTY: MacTable = MacTable {
        entries: [[0; MAC_LEN]; ctrl::MAC_TABLE_ENTRIES],
        unicast: 0,
        multicast: 0,
    };

    /// Unicast addresses.
    pub fn unicast(&self) -> &[[u8; MAC_LEN]] {
        &self.entries[..self.unicast as usize]
    }

    /// Multicast addresses.
    pub fn multicast(&self) -> &[[u8; MAC_LEN]] {
        let u = self.unicast as usize;
        &self.entries[u..u + self.multicast as usize]
    }
}

/// Receive filtering and steering state the control queue sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetCtrlState {
    /// Promiscuous mode.
    pub promisc: bool,
    /// All-multicast mode.
    pub allmulti: bool,
    /// Primary MAC address.
    pub mac: [u8; MAC_LEN],
    /// MAC filter table.
    pub table: MacTable,
    /// Queue pairs in use.
    pub queue_pairs: u16,
}

impl NetCtrlState {
    /// State after reset: promiscuous (a driver without CTRL_RX cannot ask
    /// for it and must still receive its traffic, as QEMU's device does),
    /// the configured MAC, an empty table, one queue pair (§5.1.6.5.5: only
    /// receiveq1/transmitq1 until VQ_PAIRS_SET).
    pub const fn after_reset(mac: [u8; MAC_LEN]) -> Self {
        NetCtrlState {
            promisc: true,
            allmulti: false,
            mac,
            table: MacTable::EMPTY,
            queue_pairs: 1,
        }
    }
}

/// Why a command was answered with `VIRTIO_NET_ERR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtrlError {
    /// Unknown class or command.
    Unsupported,
    /// The feature the command belongs to was not negotiated.
    FeatureNotNegotiated,
    /// The payload has the wrong length for the command.
    BadLength,
    /// More MAC entries than [`ctrl::MAC_TABLE_ENTRIES`].
    TableFull,
    /// MAC_ADDR_SET with a multicast or all-zero address.
    BadAddress,
    /// VQ_PAIRS_SET outside 1 ..= max_virtqueue_pairs.
    PairsOutOfRange(u16),
}

/// One control command as the driver put it in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtrlCommand<'a> {
    /// `class`.
    pub class: u8,
    /// `command`.
    pub command: u8,
    /// The command-specific data (everything between the header and the ack).
    pub payload: &'a [u8],
}

/// Applies `cmd`; on error the state is unchanged.
pub fn apply(
    state: &NetCtrlState,
    features: u64,
    max_pairs: u16,
    cmd: CtrlCommand<'_>,
) -> Result<NetCtrlState, CtrlError> {
    let need = |f: u32| {
        if features & bit(f) != 0 {
            Ok(())
        } else {
            Err(CtrlError::FeatureNotNegotiated)
        }
    };
    let mut next = *state;
    match (cmd.class, cmd.command) {
        (ctrl::CLASS_RX, ctrl::RX_PROMISC | ctrl::RX_ALLMULTI) => {
            need(NET_CTRL_RX)?;
            let [on] = cmd.payload else {
                return Err(CtrlError::BadLength);
            };
            if cmd.command == ctrl::RX_PROMISC {
                next.promisc = *on != 0;
            } else {
                next.allmulti = *on != 0;
            }
        }
        (ctrl::CLASS_MAC, ctrl::MAC_TABLE_SET) => {
            // §5.1.6.5.2: the table commands come with CTRL_RX.
            need(NET_CTRL_RX)?;
            next.table = parse_mac_table(cmd.payload)?;
        }
        (ctrl::CLASS_MAC, ctrl::MAC_ADDR_SET) => {
            need(NET_CTRL_MAC_ADDR)?;
            let mac: [u8; MAC_LEN] = cmd.payload.try_into().map_err(|_| CtrlError::BadLength)?;
            if mac[0] & 1 != 0 || mac == [0; MAC_LEN] {
                return Err(CtrlError::BadAddress);
            }
            next.mac = mac;
        }
        (ctrl::CLASS_MQ, ctrl::MQ_VQ_PAIRS_SET) => {
            need(NET_MQ)?;
            let raw: [u8; 2] = cmd.payload.try_into().map_err(|_| CtrlError::BadLength)?;
            let pairs = u16::from_le_bytes(raw);
            if pairs == 0 || pairs > max_pairs {
                return Err(CtrlError::PairsOutOfRange(pairs));
            }
            next.queue_pairs = pairs;
        }
        _ => return Err(CtrlError::Unsupported),
    }
    Ok(next)
}

/// The device side of one command: the ack byte to write back and the new
/// state (unchanged when the ack is `VIRTIO_NET_ERR`).
pub fn handle(
    state: &NetCtrlState,
    features: u64,
    max_pairs: u16,
    cmd: CtrlCommand<'_>,
) -> (u8, NetCtrlState) {
    match apply(state, features, max_pairs, cmd) {
        Ok(next) => (ctrl::OK, next),
        Err(_) => (ctrl::ERR, *state),
    }
}

/// Parses two `virtio_net_ctrl_mac` tables (unicast, then multicast):
/// `le32 entries` followed by `entries` 6-byte addresses, each.
fn parse_mac_table(payload: &[u8]) -> Result<MacTable, CtrlError> {
    let mut table = MacTable::EMPTY;
    let mut rest = payload;
    let mut used = 0usize;
    for kind in 0..2 {
        let (count, tail) = rest.split_first_chunk::<4>().ok_or(CtrlError::BadLength)?;
        let n = u32::from_le_bytes(*count) as usize;
        if n > ctrl::MAC_TABLE_ENTRIES - used {
            return Err(CtrlError::TableFull);
        }
        let bytes = n * MAC_LEN;
        if tail.len() < bytes {
            return Err(CtrlError::BadLength);
        }
        for (i, mac) in tail[..bytes].chunks_exact(MAC_LEN).enumerate() {
            table.entries[used + i].copy_from_slice(mac);
        }
        used += n;
        if kind == 0 {
            table.unicast = n as u8;
        } else {
            table.multicast = n as u8;
        }
        rest = &tail[bytes..];
    }
    if !rest.is_empty() {
        return Err(CtrlError::BadLength);
    }
    Ok(table)
}
