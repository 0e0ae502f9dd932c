//! Message framing (virtio 1.2 §2.7.4): the device must not assume the
//! request header sits alone in the first descriptor. The header may be
//! split over the first two readable buffers, and either piece may cross a
//! 4 KiB boundary; OUT data may follow in the second buffer.

mod engine_common;

use engine_common::*;
use vfpga_abi::blk::{req, status};
use vfpga_abi::vendor::ErrorCause;
use vfpga_hdl::testbench::{BenchConfig, Buffer};

fn blk() -> Blk {
    Blk::new(BenchConfig::default(), 64)
}

#[test]
fn spec_2_7_4_header_split_over_two_descriptors_in() {
    for first in [1u32, 4, 8, 15] {
        let mut d = blk();
        let hdr = header(req::IN, 5);
        let a = d.alloc(first);
        let b = d.alloc(16 - first);
        d.b.mem.write(a, &hdr[..first as usize]);
        d.b.mem.write(b, &hdr[first as usize..]);
        let data = d.alloc(1024);
        d.b.mem.write(data, &[0xee; 1024]);
        let st = d.alloc(1);
        d.b.mem.write(st, &[0xee]);
        let h = d.vq[0].add_chain(
            &mut d.b.mem,
            &[
                Buffer::r(a, first),
                Buffer::r(b, 16 - first),
                Buffer::w(data, 1024),
                Buffer::w(st, 1),
            ],
        );
        d.vq[0].make_available(&mut d.b.mem, h);
        d.kick(0);
        assert!(
            d.run_until_used(0, 1, 20_000),
            "split {first}+{}",
            16 - first
        );
        let r = Req {
            q: 0,
            head: h,
            typ: req::IN,
            sector: 5,
            hdr: a,
            data: vec![Buffer::w(data, 1024)],
            status: st,
        };
        d.check(&r, 0, status::OK);
        d.check_order(&r, 0);
    }
}

#[test]
fn spec_2_7_4_header_split_with_out_data_in_the_second_descriptor() {
    // 6 header bytes, then 10 header bytes followed by 512 bytes of data in
    // one buffer that also crosses a 4 KiB boundary; the first piece ends
    // right at a boundary.
    let mut d = blk();
    let hdr = header(req::OUT, 7);
    let a = d.alloc_at(6, 4090);
    let b = d.alloc_at(10 + 512, 4088);
    let payload: Vec<u8> = (0..512u32).map(|i| (i * 7 + 1) as u8).collect();
    d.b.mem.write(a, &hdr[..6]);
    let mut second = hdr[6..].to_vec();
    second.extend_from_slice(&payload);
    d.b.mem.write(b, &second);
    let st = d.alloc(1);
    d.b.mem.write(st, &[0xee]);
    let h = d.vq[0].add_chain(
        &mut d.b.mem,
        &[Buffer::r(a, 6), Buffer::r(b, 522), Buffer::w(st, 1)],
    );
    d.vq[0].make_available(&mut d.b.mem, h);
    d.kick(0);
    assert!(d.run_until_used(0, 1, 20_000));
    assert_eq!(d.vq[0].used_elem(&d.b.mem, 0), (h as u32, 1));
    assert_eq!(d.b.mem.read(st, 1), vec![status::OK]);
    assert_eq!(d.b.sto.disk[7 * 512..8 * 512].to_vec(), payload);
    assert_eq!(d.b.sto.log.len(), 1);
    assert_eq!(
        (d.b.sto.log[0].op, d.b.sto.log[0].sector, d.b.sto.log[0].len),
        (1, 7, 512)
    );
}

#[test]
fn spec_2_7_4_header_piece_crossing_a_page_boundary() {
    // The first piece (12 bytes) straddles a 4 KiB boundary itself.
    let mut d = blk();
    let hdr = header(req::IN, 3);
    let a = d.alloc_at(12, 4090);
    let b = d.alloc(4);
    d.b.mem.write(a, &hdr[..12]);
    d.b.mem.write(b, &hdr[12..]);
    let data = d.alloc(512);
    d.b.mem.write(data, &[0xee; 512]);
    let st = d.alloc(1);
    d.b.mem.write(st, &[0xee]);
    let h = d.vq[0].add_chain(
        &mut d.b.mem,
        &[
            Buffer::r(a, 12),
            Buffer::r(b, 4),
            Buffer::w(data, 512),
            Buffer::w(st, 1),
        ],
    );
    d.vq[0].make_available(&mut d.b.mem, h);
    d.kick(0);
    assert!(d.run_until_used(0, 1, 20_000));
    let r = Req {
        q: 0,
        head: h,
        typ: req::IN,
        sector: 3,
        hdr: a,
        data: vec![Buffer::w(data, 512)],
        status: st,
    };
    d.check(&r, 0, status::OK);
}

#[test]
fn spec_2_7_4_header_over_three_descriptors_is_a_bad_request() {
    // Documented limit: the header must be within the first two buffers.
    let mut d = blk();
    let hdr = header(req::IN, 0);
    let (a, b, c) = (d.alloc(4), d.alloc(4), d.alloc(8));
    d.b.mem.write(a, &hdr[..4]);
    d.b.mem.write(b, &hdr[4..8]);
    d.b.mem.write(c, &hdr[8..]);
    let st = d.alloc(1);
    let h = d.vq[0].add_chain(
        &mut d.b.mem,
        &[
            Buffer::r(a, 4),
            Buffer::r(b, 4),
            Buffer::r(c, 8),
            Buffer::w(st, 1),
        ],
    );
    d.vq[0].make_available(&mut d.b.mem, h);
    d.kick(0);
    assert!(d.b.run_until(20_000, |b| b.e.error.val()), "no fault");
    let (err, cause, _, detail) = d.b.error();
    assert!(err);
    assert_eq!(
        ErrorCause::from_u32(cause as u32),
        Some(ErrorCause::BadRequest)
    );
    assert_eq!(detail, vfpga_hdl::vq::walker::DETAIL_NO_HEADER);
    assert!(d.b.mem.writes.is_empty(), "nothing written");
}

/// An IN request through an indirect table at `table_off` within a page
/// (any alignment: §2.7.5.3 sets none for indirect tables).
fn indirect_in_at(table_off: u64) {
    let mut d = blk();
    let hdr = d.alloc(16);
    d.b.mem.write(hdr, &header(req::IN, 12));
    let a = d.alloc_at(700, 100);
    let b2 = d.alloc_at(324, 3000);
    let st = d.alloc(1);
    d.b.mem.write(st, &[0xee]);
    let table = d.alloc_at(64, table_off);
    let bufs = [
        Buffer::r(hdr, 16),
        Buffer::w(a, 700),
        Buffer::w(b2, 324),
        Buffer::w(st, 1),
    ];
    let h = d.vq[0].add_indirect(&mut d.b.mem, table, &bufs);
    d.vq[0].make_available(&mut d.b.mem, h);
    d.kick(0);
    assert!(d.run_until_used(0, 1, 20_000), "table at {table_off:#x}");
    assert_eq!(d.vq[0].used_elem(&d.b.mem, 0), (h as u32, 1025));
    let disk = &d.b.sto.disk[12 * 512..13 * 512 + 512];
    assert_eq!(d.b.mem.read(a, 700), disk[..700].to_vec());
    assert_eq!(d.b.mem.read(b2, 324), disk[700..].to_vec());
    assert_eq!(d.b.mem.read(st, 1), vec![status::OK]);
    // No read may cross a 4 KiB boundary (PCIe), the split one included.
    for r in &d.b.mem.reads {
        assert!(
            r.addr / 4096 == (r.addr + u64::from(r.len).max(1) - 1) / 4096,
            "read {:#x}+{} crosses a page",
            r.addr,
            r.len
        );
    }
}

#[test]
fn spec_2_7_5_3_indirect_table_unaligned() {
    // Not 16-aligned, every descriptor within one page.
    indirect_in_at(0x104);
}

#[test]
fn spec_2_7_5_3_indirect_descriptor_straddling_a_page_boundary() {
    // Descriptors 0 and 1 before the boundary, descriptor 2 across it
    // (8 bytes on each side), descriptor 3 after it.
    indirect_in_at(4096 - 40);
    // A single byte of descriptor 1 before the boundary.
    indirect_in_at(4096 - 17);
}
