//! Smoke test: one 4 KiB IN through the whole engine, printing its DMA trace.

use vfpga_hdl::testbench::*;

fn hdr(t: u32, sector: u64) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&t.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&sector.to_le_bytes());
    v
}

#[test]
fn smoke_one_4k_in_end_to_end() {
    let mut b = Bench::new(BenchConfig::default());
    let mut vq = SplitQueue::new(&mut b.mem, 0x10000, 64);
    b.mem.map(0x100000, 0x100000);
    for (i, x) in b.sto.disk.iter_mut().enumerate() {
        *x = (i * 7 + 3) as u8;
    }
    b.mem.write(0x100000, &hdr(0, 8));
    let head = vq.add_chain(
        &mut b.mem,
        &[
            Buffer::r(0x100000, 16),
            Buffer::w(0x101000, 4096),
            Buffer::w(0x102000, 1),
        ],
    );
    vq.make_available(&mut b.mem, head);
    b.mem.write(0x102000, &[0xff]);
    b.attach(0, &vq, 3);
    b.kick(0);
    let ok = b.run_until(20000, |b| !b.irqs.is_empty() || b.e.error.val());
    println!("cycles {}, err {:?}", b.cycle, b.error());
    for r in &b.mem.reads {
        println!("rd {:?}", r);
    }
    for w in &b.mem.writes {
        println!("wr {:#x} len {} c {}", w.addr, w.data.len(), w.cycle);
    }
    assert!(ok);
    assert_eq!(vq.used_idx(&b.mem), 1);
    assert_eq!(vq.used_elem(&b.mem, 0), (head as u32, 4097));
    assert_eq!(b.mem.read(0x102000, 1), vec![0]);
    assert_eq!(
        b.mem.read(0x101000, 4096),
        b.sto.disk[8 * 512..8 * 512 + 4096].to_vec()
    );
}
