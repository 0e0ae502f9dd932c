//! Self-consistency of the contract: regions, capability chain, events.

use vfpga_abi::mgmt::{Event, EventKind};
use vfpga_abi::pci::{self, VirtioCapType, header, virtio_cap};
use vfpga_abi::{Personality, bar0, msix, vendor};

#[test]
fn bar0_regions_are_page_aligned_disjoint_and_inside_the_bar() {
    let mut end = 0;
    for (r, off, len) in bar0::REGIONS {
        assert_eq!(off % 0x1000, 0, "{r:?} not page aligned");
        assert!(off >= end, "{r:?} overlaps the previous region");
        assert!(len > 0 && len <= 0x1000, "{r:?} must fit one page");
        end = off + len;
    }
    assert!(end <= bar0::SIZE);
    assert!(bar0::SIZE.is_power_of_two());
    assert_eq!(
        bar0::decode(bar0::VENDOR + 4),
        Some((bar0::Region::Vendor, 4))
    );
    assert_eq!(bar0::decode(bar0::ISR + 0x10), None);
}

/// PCI 3.0 §6.7: the capability chain walked the way a driver walks it.
#[test]
fn config_space_capability_chain_is_walkable_for_both_personalities() {
    for p in [Personality::Net, Personality::Blk] {
        let c = pci::config_space(p);
        let rd16 = |o: usize| u16::from_le_bytes([c[o], c[o + 1]]);
        let rd32 = |o: usize| u32::from_le_bytes([c[o], c[o + 1], c[o + 2], c[o + 3]]);
        assert_eq!(rd16(0), pci::VENDOR_ID);
        assert_eq!(rd16(2), p.pci_device_id());
        assert_eq!(c[header::REVISION_ID as usize], 1);
        assert_ne!(rd16(header::STATUS as usize) & header::STATUS_CAP_LIST, 0);

        let mut seen = Vec::new();
        let mut at = c[header::CAP_PTR as usize] as usize;
        while at != 0 {
            assert!(
                at >= 0x40 && at.is_multiple_of(4),
                "bad capability pointer {at:#x}"
            );
            assert!(seen.len() < 16, "capability loop");
            match c[at] {
                pci::cap_id::VENDOR => {
                    let ty = c[at + virtio_cap::CFG_TYPE as usize];
                    let off = rd32(at + virtio_cap::OFFSET as usize);
                    let len = rd32(at + virtio_cap::LENGTH as usize);
                    if ty != VirtioCapType::PciCfg as u8 {
                        assert_eq!(c[at + virtio_cap::BAR as usize], bar0::BAR_INDEX);
                        assert!(off + len <= bar0::SIZE);
                    }
                    if ty == VirtioCapType::Notify as u8 {
                        assert_eq!(rd32(at + 16), bar0::NOTIFY_OFF_MULTIPLIER);
                    }
                    if ty == VirtioCapType::Vendor as u8 {
                        assert_eq!(c[at + virtio_cap::ID as usize], pci::VENDOR_CAP_ID);
                        assert_eq!(off, bar0::VENDOR);
                    }
                    seen.push(ty);
                }
                pci::cap_id::MSIX => {
                    let ctrl = rd16(at + 2);
                    assert_eq!((ctrl & 0x7FF) + 1, msix::VECTORS);
                    assert_eq!(rd32(at + 4), bar0::MSIX_TABLE);
                    assert_eq!(rd32(at + 8), bar0::MSIX_PBA);
                    seen.push(0x11);
                }
                other => panic!("unexpected capability {other:#x}"),
            }
            at = c[at + 1] as usize;
        }
        seen.sort();
        assert_eq!(seen, vec![1, 2, 3, 4, 5, 9, 0x11]);
    }
}

#[test]
fn every_queue_has_a_doorbell_and_a_vendor_block() {
    for p in [Personality::Net, Personality::Blk] {
        assert!(p.num_queues() <= vendor::MAX_QUEUES);
        let last = p.num_queues() - 1;
        assert!(bar0::doorbell(last) + 4 <= bar0::NOTIFY + bar0::NOTIFY_LEN);
        assert!(vendor::queue_reg(last, vendor::Q_INFLIGHT) + 4 <= vendor::LEN);
        assert!(
            p.num_queues() < msix::VECTORS,
            "one vector per queue plus config"
        );
        assert!(p.device_cfg_len() <= bar0::DEVICE_CFG_LEN);
    }
}

#[test]
fn events_round_trip_and_zero_means_empty() {
    assert_eq!(Event::decode(0), None);
    for kind in [
        EventKind::StatusWrite,
        EventKind::QueueEnable,
        EventKind::QueueReset,
        EventKind::EngineError,
        EventKind::VendorQueueControl,
        EventKind::DriverFeature,
    ] {
        let e = Event {
            kind,
            queue: 3,
            value: 0xBEEF,
        };
        assert_eq!(Event::decode(e.encode()), Some(e));
    }
    for c in vendor::ErrorCause::ALL {
        assert_eq!(vendor::ErrorCause::from_u32(c as u32), Some(c));
    }
}

/// §2.7.10: the need_event formula on the spec's own wrap-around cases.
#[test]
fn spec_2_7_10_need_event_handles_wraparound() {
    use vfpga_abi::ring::need_event;
    assert!(need_event(0, 1, 0));
    assert!(!need_event(1, 1, 0));
    assert!(need_event(0xFFFF, 0, 0xFFFF));
    assert!(need_event(5, 10, 3));
    assert!(!need_event(12, 10, 3));
}
