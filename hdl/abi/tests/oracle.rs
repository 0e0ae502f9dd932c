//! The contract checked against definitions nobody on this project wrote:
//! Linux's uapi headers as bound by `virtio-bindings`, and `virtio-spec`
//! (rust-osdev) for `virtio_pci_common_cfg`, which `virtio-bindings` lacks.

use std::mem::offset_of;
use std::ptr::NonNull;

use vfpga_abi::{blk, common_cfg, features, net, ring, status};
use virtio_bindings::bindings::virtio_blk as vblk;
use virtio_bindings::bindings::virtio_blk::virtio_blk_config;
use virtio_bindings::bindings::virtio_config as cfg;
use virtio_bindings::bindings::virtio_net::{self as vnet, virtio_net_config, virtio_net_hdr_v1};
use virtio_bindings::bindings::virtio_ring as vring;

/// virtio 1.2 §4.1.4.3: every field of `virtio_pci_common_cfg` at the offset
/// virtio-spec's `#[repr(C)]` struct puts it.
#[test]
fn spec_4_1_4_3_common_cfg_offsets_match_virtio_spec() {
    use virtio_spec::pci::{CommonCfg, CommonCfgVolatileFieldAccess};
    use volatile::VolatilePtr;

    let mut backing = [0u64; 16];
    let base = backing.as_mut_ptr() as *mut CommonCfg;
    // SAFETY: `backing` is 128 bytes, larger than CommonCfg, aligned to 8, and
    // only addresses are taken from the pointer; nothing is read or written.
    let p = unsafe { VolatilePtr::new(NonNull::new(base).unwrap()) };
    let off = |addr: *const u8| addr as usize - base as usize;
    let at = |addr: *const u8| off(addr) as u32;

    assert_eq!(
        at(p.device_feature_select().as_raw_ptr().as_ptr().cast()),
        common_cfg::DEVICE_FEATURE_SELECT
    );
    assert_eq!(
        at(p.device_feature().as_raw_ptr().as_ptr().cast()),
        common_cfg::DEVICE_FEATURE
    );
    assert_eq!(
        at(p.driver_feature_select().as_raw_ptr().as_ptr().cast()),
        common_cfg::DRIVER_FEATURE_SELECT
    );
    assert_eq!(
        at(p.driver_feature().as_raw_ptr().as_ptr().cast()),
        common_cfg::DRIVER_FEATURE
    );
    assert_eq!(
        at(p.config_msix_vector().as_raw_ptr().as_ptr().cast()),
        common_cfg::CONFIG_MSIX_VECTOR
    );
    assert_eq!(
        at(p.num_queues().as_raw_ptr().as_ptr().cast()),
        common_cfg::NUM_QUEUES
    );
    assert_eq!(
        at(p.device_status().as_raw_ptr().as_ptr().cast()),
        common_cfg::DEVICE_STATUS
    );
    assert_eq!(
        at(p.config_generation().as_raw_ptr().as_ptr().cast()),
        common_cfg::CONFIG_GENERATION
    );
    assert_eq!(
        at(p.queue_select().as_raw_ptr().as_ptr().cast()),
        common_cfg::QUEUE_SELECT
    );
    assert_eq!(
        at(p.queue_size().as_raw_ptr().as_ptr().cast()),
        common_cfg::QUEUE_SIZE
    );
    assert_eq!(
        at(p.queue_msix_vector().as_raw_ptr().as_ptr().cast()),
        common_cfg::QUEUE_MSIX_VECTOR
    );
    assert_eq!(
        at(p.queue_enable().as_raw_ptr().as_ptr().cast()),
        common_cfg::QUEUE_ENABLE
    );
    assert_eq!(
        at(p.queue_notify_off().as_raw_ptr().as_ptr().cast()),
        common_cfg::QUEUE_NOTIFY_OFF
    );
    assert_eq!(
        at(p.queue_desc_low().as_raw_ptr().as_ptr().cast()),
        common_cfg::QUEUE_DESC
    );
    assert_eq!(
        at(p.queue_desc_high().as_raw_ptr().as_ptr().cast()),
        common_cfg::QUEUE_DESC + 4
    );
    assert_eq!(
        at(p.queue_driver_low().as_raw_ptr().as_ptr().cast()),
        common_cfg::QUEUE_DRIVER
    );
    assert_eq!(
        at(p.queue_device_low().as_raw_ptr().as_ptr().cast()),
        common_cfg::QUEUE_DEVICE
    );
    assert_eq!(
        at(p.queue_notif_config_data().as_raw_ptr().as_ptr().cast()),
        common_cfg::QUEUE_NOTIFY_DATA
    );
    assert_eq!(
        at(p.queue_reset().as_raw_ptr().as_ptr().cast()),
        common_cfg::QUEUE_RESET
    );
    // Our structure ends after queue_reset: the admin queue fields are not implemented.
    assert_eq!(
        at(p.admin_queue_index().as_raw_ptr().as_ptr().cast()),
        common_cfg::LEN
    );
}

/// virtio 1.2 §4.1.4: the layout of a virtio PCI capability.
#[test]
fn spec_4_1_4_capability_layout_matches_virtio_spec() {
    use vfpga_abi::pci::virtio_cap;
    use virtio_spec::pci::{Cap, CfgCap, NotifyCap};
    assert_eq!(offset_of!(Cap, cap_vndr) as u8, virtio_cap::CAP_VNDR);
    assert_eq!(offset_of!(Cap, cap_next) as u8, virtio_cap::CAP_NEXT);
    assert_eq!(offset_of!(Cap, cap_len) as u8, virtio_cap::CAP_LEN);
    assert_eq!(offset_of!(Cap, cfg_type) as u8, virtio_cap::CFG_TYPE);
    assert_eq!(offset_of!(Cap, bar) as u8, virtio_cap::BAR);
    assert_eq!(offset_of!(Cap, id) as u8, virtio_cap::ID);
    assert_eq!(offset_of!(Cap, offset) as u8, virtio_cap::OFFSET);
    assert_eq!(offset_of!(Cap, length) as u8, virtio_cap::LENGTH);
    assert_eq!(size_of::<Cap>() as u8, virtio_cap::LEN);
    assert_eq!(
        offset_of!(NotifyCap, notify_off_multiplier) as u8,
        virtio_cap::NOTIFY_OFF_MULTIPLIER
    );
    assert_eq!(size_of::<NotifyCap>() as u8, virtio_cap::NOTIFY_LEN);
    assert_eq!(
        offset_of!(CfgCap, pci_cfg_data) as u8,
        virtio_cap::PCI_CFG_DATA
    );
    assert_eq!(size_of::<CfgCap>() as u8, virtio_cap::PCI_CFG_LEN);
}

/// virtio 1.2 §6 and §5.x.3: feature bit numbers.
#[test]
fn spec_6_feature_bits_match_linux_uapi() {
    assert_eq!(
        features::RING_INDIRECT_DESC,
        vring::VIRTIO_RING_F_INDIRECT_DESC
    );
    assert_eq!(features::RING_EVENT_IDX, vring::VIRTIO_RING_F_EVENT_IDX);
    assert_eq!(features::VERSION_1, cfg::VIRTIO_F_VERSION_1);
    assert_eq!(features::ACCESS_PLATFORM, cfg::VIRTIO_F_ACCESS_PLATFORM);
    assert_eq!(features::RING_PACKED, cfg::VIRTIO_F_RING_PACKED);
    assert_eq!(features::IN_ORDER, cfg::VIRTIO_F_IN_ORDER);
    assert_eq!(features::NOTIFICATION_DATA, cfg::VIRTIO_F_NOTIFICATION_DATA);
    assert_eq!(features::RING_RESET, cfg::VIRTIO_F_RING_RESET);
    assert_eq!(features::BLK_SIZE_MAX, vblk::VIRTIO_BLK_F_SIZE_MAX);
    assert_eq!(features::BLK_SEG_MAX, vblk::VIRTIO_BLK_F_SEG_MAX);
    assert_eq!(features::BLK_BLK_SIZE, vblk::VIRTIO_BLK_F_BLK_SIZE);
    assert_eq!(features::BLK_FLUSH, vblk::VIRTIO_BLK_F_FLUSH);
    assert_eq!(features::BLK_MQ, vblk::VIRTIO_BLK_F_MQ);
    assert_eq!(features::NET_MTU, vnet::VIRTIO_NET_F_MTU);
    assert_eq!(features::NET_MAC, vnet::VIRTIO_NET_F_MAC);
    assert_eq!(features::NET_MRG_RXBUF, vnet::VIRTIO_NET_F_MRG_RXBUF);
    assert_eq!(features::NET_STATUS, vnet::VIRTIO_NET_F_STATUS);
    assert_eq!(features::NET_CTRL_VQ, vnet::VIRTIO_NET_F_CTRL_VQ);
    assert_eq!(features::NET_CTRL_RX, vnet::VIRTIO_NET_F_CTRL_RX);
    assert_eq!(features::NET_MQ, vnet::VIRTIO_NET_F_MQ);
    assert_eq!(
        features::NET_CTRL_MAC_ADDR,
        vnet::VIRTIO_NET_F_CTRL_MAC_ADDR
    );
}

/// virtio 1.2 §2.1: device status bits.
#[test]
fn spec_2_1_device_status_bits_match_linux_uapi() {
    assert_eq!(status::ACKNOWLEDGE as u32, cfg::VIRTIO_CONFIG_S_ACKNOWLEDGE);
    assert_eq!(status::DRIVER as u32, cfg::VIRTIO_CONFIG_S_DRIVER);
    assert_eq!(status::DRIVER_OK as u32, cfg::VIRTIO_CONFIG_S_DRIVER_OK);
    assert_eq!(status::FEATURES_OK as u32, cfg::VIRTIO_CONFIG_S_FEATURES_OK);
    assert_eq!(
        status::DEVICE_NEEDS_RESET as u32,
        cfg::VIRTIO_CONFIG_S_NEEDS_RESET
    );
    assert_eq!(status::FAILED as u32, cfg::VIRTIO_CONFIG_S_FAILED);
}

/// virtio 1.2 §5.2.4: `virtio_blk_config` field offsets.
#[test]
fn spec_5_2_4_blk_config_layout_matches_linux_uapi() {
    use blk::config as c;
    assert_eq!(offset_of!(virtio_blk_config, capacity) as u32, c::CAPACITY);
    assert_eq!(offset_of!(virtio_blk_config, size_max) as u32, c::SIZE_MAX);
    assert_eq!(offset_of!(virtio_blk_config, seg_max) as u32, c::SEG_MAX);
    assert_eq!(
        offset_of!(virtio_blk_config, geometry) as u32,
        c::GEOMETRY_CYLINDERS
    );
    assert_eq!(offset_of!(virtio_blk_config, blk_size) as u32, c::BLK_SIZE);
    assert_eq!(
        offset_of!(virtio_blk_config, physical_block_exp) as u32,
        c::PHYSICAL_BLOCK_EXP
    );
    assert_eq!(
        offset_of!(virtio_blk_config, alignment_offset) as u32,
        c::ALIGNMENT_OFFSET
    );
    assert_eq!(
        offset_of!(virtio_blk_config, min_io_size) as u32,
        c::MIN_IO_SIZE
    );
    assert_eq!(
        offset_of!(virtio_blk_config, opt_io_size) as u32,
        c::OPT_IO_SIZE
    );
    assert_eq!(offset_of!(virtio_blk_config, wce) as u32, c::WRITEBACK);
    assert_eq!(
        offset_of!(virtio_blk_config, num_queues) as u32,
        c::NUM_QUEUES
    );
    assert_eq!(
        offset_of!(virtio_blk_config, max_discard_sectors) as u32,
        c::LEN
    );
}

/// virtio 1.2 §5.2.6: request types, status values, id length.
#[test]
fn spec_5_2_6_blk_request_constants_match_linux_uapi() {
    assert_eq!(blk::req::IN, vblk::VIRTIO_BLK_T_IN);
    assert_eq!(blk::req::OUT, vblk::VIRTIO_BLK_T_OUT);
    assert_eq!(blk::req::FLUSH, vblk::VIRTIO_BLK_T_FLUSH);
    assert_eq!(blk::req::GET_ID, vblk::VIRTIO_BLK_T_GET_ID);
    assert_eq!(blk::status::OK as u32, vblk::VIRTIO_BLK_S_OK);
    assert_eq!(blk::status::IOERR as u32, vblk::VIRTIO_BLK_S_IOERR);
    assert_eq!(blk::status::UNSUPP as u32, vblk::VIRTIO_BLK_S_UNSUPP);
    assert_eq!(blk::ID_BYTES, vblk::VIRTIO_BLK_ID_BYTES);
    assert_eq!(
        blk::REQ_HEADER_LEN as usize,
        size_of::<vblk::virtio_blk_outhdr>()
    );
}

/// virtio 1.2 §5.1.4: `virtio_net_config` field offsets.
#[test]
fn spec_5_1_4_net_config_layout_matches_linux_uapi() {
    use net::config as c;
    assert_eq!(offset_of!(virtio_net_config, mac) as u32, c::MAC);
    assert_eq!(offset_of!(virtio_net_config, status) as u32, c::STATUS);
    assert_eq!(
        offset_of!(virtio_net_config, max_virtqueue_pairs) as u32,
        c::MAX_VIRTQUEUE_PAIRS
    );
    assert_eq!(offset_of!(virtio_net_config, mtu) as u32, c::MTU);
    assert_eq!(offset_of!(virtio_net_config, speed) as u32, c::SPEED);
    assert_eq!(offset_of!(virtio_net_config, duplex) as u32, c::DUPLEX);
}

/// virtio 1.2 §5.1.6: the v1 header and control-queue constants.
#[test]
fn spec_5_1_6_net_header_and_ctrl_match_linux_uapi() {
    assert_eq!(net::HDR_LEN as usize, size_of::<virtio_net_hdr_v1>());
    assert_eq!(
        net::HDR_NUM_BUFFERS as usize,
        offset_of!(virtio_net_hdr_v1, num_buffers)
    );
    assert_eq!(net::S_LINK_UP as u32, vnet::VIRTIO_NET_S_LINK_UP);
    assert_eq!(net::ctrl::OK as u32, vnet::VIRTIO_NET_OK);
    assert_eq!(net::ctrl::ERR as u32, vnet::VIRTIO_NET_ERR);
    assert_eq!(net::ctrl::CLASS_RX as u32, vnet::VIRTIO_NET_CTRL_RX);
    assert_eq!(
        net::ctrl::RX_PROMISC as u32,
        vnet::VIRTIO_NET_CTRL_RX_PROMISC
    );
    assert_eq!(
        net::ctrl::RX_ALLMULTI as u32,
        vnet::VIRTIO_NET_CTRL_RX_ALLMULTI
    );
    assert_eq!(net::ctrl::CLASS_MAC as u32, vnet::VIRTIO_NET_CTRL_MAC);
    assert_eq!(
        net::ctrl::MAC_TABLE_SET as u32,
        vnet::VIRTIO_NET_CTRL_MAC_TABLE_SET
    );
    assert_eq!(
        net::ctrl::MAC_ADDR_SET as u32,
        vnet::VIRTIO_NET_CTRL_MAC_ADDR_SET
    );
    assert_eq!(net::ctrl::CLASS_MQ as u32, vnet::VIRTIO_NET_CTRL_MQ);
    assert_eq!(
        net::ctrl::MQ_VQ_PAIRS_SET as u32,
        vnet::VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET
    );
}

/// virtio 1.2 §2.7.5 and §2.7.6-8: split ring element layouts and flags.
#[test]
fn spec_2_7_split_ring_layout_matches_linux_uapi() {
    use vring::{vring_avail, vring_desc, vring_used, vring_used_elem};
    assert_eq!(size_of::<vring_desc>() as u32, ring::DESC_SIZE);
    assert_eq!(offset_of!(vring_desc, addr) as u32, ring::DESC_ADDR);
    assert_eq!(offset_of!(vring_desc, len) as u32, ring::DESC_LEN);
    assert_eq!(offset_of!(vring_desc, flags) as u32, ring::DESC_FLAGS);
    assert_eq!(offset_of!(vring_desc, next) as u32, ring::DESC_NEXT);
    assert_eq!(ring::DESC_F_NEXT as u32, vring::VRING_DESC_F_NEXT);
    assert_eq!(ring::DESC_F_WRITE as u32, vring::VRING_DESC_F_WRITE);
    assert_eq!(ring::DESC_F_INDIRECT as u32, vring::VRING_DESC_F_INDIRECT);
    assert_eq!(offset_of!(vring_avail, idx) as u32, ring::AVAIL_IDX);
    assert_eq!(offset_of!(vring_avail, ring) as u32, ring::AVAIL_RING);
    assert_eq!(offset_of!(vring_used, idx) as u32, ring::USED_IDX);
    assert_eq!(offset_of!(vring_used, ring) as u32, ring::USED_RING);
    assert_eq!(size_of::<vring_used_elem>() as u32, ring::USED_ELEM_SIZE);
    assert_eq!(ring::USED_F_NO_NOTIFY as u32, vring::VRING_USED_F_NO_NOTIFY);
    assert_eq!(
        ring::AVAIL_F_NO_INTERRUPT as u32,
        vring::VRING_AVAIL_F_NO_INTERRUPT
    );
}
