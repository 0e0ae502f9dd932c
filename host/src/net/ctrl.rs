//! Control virtqueue commands (virtio 1.2 §5.1.6.5): what each needs and
//! how its command-specific data is laid out.

use vfpga_abi::features as f;
use vfpga_abi::net::ctrl as c;

use super::config::Mac;

/// A command the driver sends on the control queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtrlCommand {
    /// §5.1.6.5.1: receive every frame (on) or only those the filter passes.
    Promisc(bool),
    /// §5.1.6.5.1: receive every multicast frame.
    AllMulti(bool),
    /// §5.1.6.5.2: the primary MAC address.
    MacAddrSet(Mac),
    /// §5.1.6.5.2: the unicast and multicast filter tables.
    MacTableSet {
        /// Unicast addresses accepted besides the primary one.
        unicast: Vec<Mac>,
        /// Multicast addresses accepted.
        multicast: Vec<Mac>,
    },
    /// §5.1.6.5.5: the number of queue pairs in use.
    VqPairsSet(u16),
}

impl CtrlCommand {
    /// `(class, command)`.
    pub fn code(&self) -> (u8, u8) {
        match self {
            CtrlCommand::Promisc(_) => (c::CLASS_RX, c::RX_PROMISC),
            CtrlCommand::AllMulti(_) => (c::CLASS_RX, c::RX_ALLMULTI),
            CtrlCommand::MacAddrSet(_) => (c::CLASS_MAC, c::MAC_ADDR_SET),
            CtrlCommand::MacTableSet { .. } => (c::CLASS_MAC, c::MAC_TABLE_SET),
            CtrlCommand::VqPairsSet(_) => (c::CLASS_MQ, c::MQ_VQ_PAIRS_SET),
        }
    }

    /// The feature the command belongs to, with its name: the driver must
    /// not send a command whose feature was not negotiated (§5.1.6.5).
    pub fn feature(&self) -> (u32, &'static str) {
        match self {
            // MAC_TABLE_SET is part of the RX filtering feature (§5.1.6.5.2).
            CtrlCommand::Promisc(_)
            | CtrlCommand::AllMulti(_)
            | CtrlCommand::MacTableSet { .. } => (f::NET_CTRL_RX, "VIRTIO_NET_F_CTRL_RX"),
            CtrlCommand::MacAddrSet(_) => (f::NET_CTRL_MAC_ADDR, "VIRTIO_NET_F_CTRL_MAC_ADDR"),
            CtrlCommand::VqPairsSet(_) => (f::NET_MQ, "VIRTIO_NET_F_MQ"),
        }
    }

    /// Short name for errors and logs.
    pub fn name(&self) -> &'static str {
        match self {
            CtrlCommand::Promisc(_) => "RX_PROMISC",
            CtrlCommand::AllMulti(_) => "RX_ALLMULTI",
            CtrlCommand::MacAddrSet(_) => "MAC_ADDR_SET",
            CtrlCommand::MacTableSet { .. } => "MAC_TABLE_SET",
            CtrlCommand::VqPairsSet(_) => "MQ_VQ_PAIRS_SET",
        }
    }

    /// The command-specific data, little-endian as VERSION_1 requires.
    pub fn payload(&self) -> Vec<u8> {
        match self {
            CtrlCommand::Promisc(on) | CtrlCommand::AllMulti(on) => vec![*on as u8],
            CtrlCommand::MacAddrSet(m) => m.to_vec(),
            CtrlCommand::MacTableSet { unicast, multicast } => {
                // Two `virtio_net_ctrl_mac`: le32 entries, then the addresses.
                let mut v = Vec::with_capacity(8 + 6 * (unicast.len() + multicast.len()));
                for table in [unicast, multicast] {
                    v.extend_from_slice(&(table.len() as u32).to_le_bytes());
                    for m in table {
                        v.extend_from_slice(m);
                    }
                }
                v
            }
            CtrlCommand::VqPairsSet(n) => n.to_le_bytes().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_5_1_6_5_2_mac_table_layout() {
        let cmd = CtrlCommand::MacTableSet {
            unicast: vec![[2, 0, 0, 0, 0, 1]],
            multicast: vec![[1, 0, 0x5e, 0, 0, 1], [0x33, 0x33, 0, 0, 0, 1]],
        };
        assert_eq!(cmd.code(), (c::CLASS_MAC, c::MAC_TABLE_SET));
        let p = cmd.payload();
        assert_eq!(p.len(), 4 + 6 + 4 + 12);
        assert_eq!(&p[..4], &1u32.to_le_bytes());
        assert_eq!(&p[4..10], &[2, 0, 0, 0, 0, 1]);
        assert_eq!(&p[10..14], &2u32.to_le_bytes());
        assert_eq!(&p[14..20], &[1, 0, 0x5e, 0, 0, 1]);
    }

    #[test]
    fn spec_5_1_6_5_payloads_and_features() {
        assert_eq!(CtrlCommand::Promisc(true).payload(), [1]);
        assert_eq!(CtrlCommand::AllMulti(false).payload(), [0]);
        assert_eq!(CtrlCommand::VqPairsSet(2).payload(), [2, 0]);
        assert_eq!(CtrlCommand::VqPairsSet(2).feature().0, f::NET_MQ);
        assert_eq!(
            CtrlCommand::MacAddrSet([2; 6]).feature().0,
            f::NET_CTRL_MAC_ADDR
        );
        assert_eq!(
            CtrlCommand::MacTableSet {
                unicast: vec![],
                multicast: vec![]
            }
            .feature()
            .0,
            f::NET_CTRL_RX
        );
    }
}
