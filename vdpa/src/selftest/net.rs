//! `vfpga selftest net`: frames of every size out and back through the
//! simulator's loopback port (or a board's wire looped back), each checked
//! byte for byte, through our driver or `virtio-drivers`' `VirtIONet`;
//! frames per second in wall and simulated time, and the hardware's cycles
//! per frame for 64- and 1500-byte frames.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use vfpga_host::Device;
use vfpga_host::net::{self, NetDriver, NetOptions, frame};
use vfpga_host::virtio_drivers_glue::{DeviceHal, DeviceTransport};
use vfpga_sim::net::PortSpec;

use super::{DriverKind, Phase, parse_nonzero_u16, prepare, print_counters};
use crate::open::{self, DeviceSpec, NetSimOptions, SimBackend};

/// The line a passing `selftest net` ends with; tests look for it.
pub const PASS_NET: &str = "selftest net: PASS";

/// The smallest RX buffer virtio-drivers' VirtIONet takes holds a header
/// and a frame of this many bytes (its `MIN_BUFFER_LEN`, 1526, less the
/// 12-byte header).
const VD_MIN_FRAME: usize = 1514;

/// Entries of virtio-drivers' queues (a const generic of VirtIONet).
const VD_QUEUE: usize = 16;

/// Frame sizes, in the order they are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sizes(pub Vec<usize>);

/// Parses frame sizes: `60-9000`, `64,1500,9000`, or both mixed
/// (`60-100,1500`). Every size at least the self-test frame's minimum.
pub fn parse_sizes(s: &str) -> Result<Sizes, String> {
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim) {
        let num = |t: &str| {
            t.trim()
                .parse::<usize>()
                .map_err(|_| format!("`{t}` in `{s}` is not a frame size"))
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        if lo > hi {
            return Err(format!("`{part}`: the range runs backwards"));
        }
        if lo < frame::MIN_LEN {
            return Err(format!(
                "`{part}`: frames shorter than {} bytes cannot carry a sequence number",
                frame::MIN_LEN
            ));
        }
        v.extend(lo..=hi);
    }
    Ok(Sizes(v))
}

/// `vfpga selftest net` arguments.
#[derive(Debug, Args)]
pub struct NetArgs {
    /// The device: `sim` (the simulator with a loopback port, default) or
    /// `vfio:DDDD:BB:DD.F` (a board whose port is looped back).
    #[arg(long, default_value = "sim", value_parser = open::parse_device, value_name = "sim|vfio:DDDD:BB:DD.F")]
    pub device: DeviceSpec,
    /// Driver that moves the frames.
    #[arg(long, value_enum, default_value = "vfpga")]
    pub driver: DriverKind,
    /// Frame sizes in bytes (Ethernet header onwards, no FCS): ranges and
    /// lists, e.g. `60-9000` or `64,1500`.
    #[arg(long, default_value = "60-9000", value_parser = parse_sizes)]
    pub sizes: Sizes,
    /// Queue pairs (vfpga driver); frames go out on each in turn.
    #[arg(long, default_value = "1", value_parser = parse_nonzero_u16)]
    pub pairs: u16,
    /// Entries per RX and TX queue (vfpga driver).
    #[arg(long, default_value = "256", value_parser = parse_nonzero_u16)]
    pub queue_size: u16,
    /// Frames per cycles-per-frame measurement (64 and 1500 bytes; vfpga
    /// driver on a simulated device). 0 skips it.
    #[arg(long, default_value = "256")]
    pub perf_frames: u32,
    /// Seed of the frames' contents.
    #[arg(long, default_value = "24301")]
    pub seed: u64,
    /// MTU of the simulated NIC.
    #[arg(long, default_value_t = vfpga_abi::net::MAX_MTU)]
    pub sim_mtu: u16,
    /// Engine backend of the simulator (default: Verilator when built).
    #[arg(long, value_enum)]
    pub sim_backend: Option<SimBackend>,
}

/// Runs the selftest.
pub fn run(args: NetArgs) -> anyhow::Result<()> {
    if args.sizes.0.is_empty() {
        bail!("--sizes: no frame sizes given");
    }
    let sim = NetSimOptions {
        backend: args.sim_backend,
        port: PortSpec::Loopback,
        mac: [0x02, 0x56, 0x46, 0x50, 0x47, 0x01],
        mtu: args.sim_mtu,
        trace: None,
    };
    let dev = prepare(open::open_net(&args.device, &sim)?)?;
    let describe = dev.describe();
    let (frames, bytes) = match args.driver {
        DriverKind::Vfpga => net_vfpga(&args, dev)?,
        DriverKind::VirtioDrivers => net_virtio_drivers(&args, dev)?,
    };
    println!(
        "{PASS_NET} (driver {}, {describe}, {frames} frames, {bytes} bytes out and back, verified)",
        match args.driver {
            DriverKind::Vfpga => format!("vfpga, {} pair(s)", args.pairs),
            DriverKind::VirtioDrivers => "virtio-drivers".to_string(),
        }
    );
    Ok(())
}

/// Checks frames that came back against those sent: each once, each byte.
struct Returned<'a> {
    sizes: &'a [usize],
    seed: u64,
    /// (destination, source) of frames on each pair; frame `i` goes out
    /// on pair `i % addrs.len()`.
    addrs: Vec<(net::Mac, net::Mac)>,
    seen: Vec<bool>,
    /// Frames that came back on another pair than they went out on.
    moved: u64,
    bad: Vec<String>,
}

impl<'a> Returned<'a> {
    fn new(sizes: &'a [usize], seed: u64, mac: net::Mac, pairs: u16) -> Self {
        Returned {
            sizes,
            seed,
            addrs: (0..pairs).map(|p| frame::pair_addresses(mac, p)).collect(),
            seen: vec![false; sizes.len()],
            moved: 0,
            bad: Vec::new(),
        }
    }

    fn pair_of(&self, seq: usize) -> u16 {
        (seq % self.addrs.len()) as u16
    }

    fn frame(&self, seq: usize) -> Vec<u8> {
        let (dst, src) = self.addrs[self.pair_of(seq) as usize];
        frame::build(dst, src, self.seed, seq as u32, self.sizes[seq])
    }

    fn check_on(&mut self, got: &[u8], pair: u16) {
        if frame::seq_of(got)
            .is_some_and(|s| (s as usize) < self.sizes.len() && self.pair_of(s as usize) != pair)
        {
            self.moved += 1;
        }
        self.check(got);
    }

    fn check(&mut self, got: &[u8]) {
        let Some(seq) = frame::seq_of(got).map(|s| s as usize) else {
            self.bad.push(format!(
                "a {}-byte frame that is no self-test frame",
                got.len()
            ));
            return;
        };
        if seq >= self.sizes.len() {
            self.bad.push(format!("frame {seq} was never sent"));
            return;
        }
        if std::mem::replace(&mut self.seen[seq], true) {
            self.bad.push(format!("frame {seq} came back twice"));
        }
        if let Some((n, first)) = frame::diff(got, &self.frame(seq)) {
            self.bad.push(format!(
                "frame {seq} ({} bytes sent, {} back): {n} bytes differ, first at offset {first}",
                self.sizes[seq],
                got.len()
            ));
        }
    }

    fn missing(&self) -> Option<String> {
        let n = self.seen.iter().filter(|s| !**s).count();
        let first = self.seen.iter().position(|s| !*s)?;
        Some(format!(
            "{n} frames did not come back, the first frame {first} ({} bytes)",
            self.sizes[first]
        ))
    }

    fn verdict(&self) -> anyhow::Result<()> {
        if let Some(m) = self.missing() {
            bail!("selftest net: FAIL: {m}");
        }
        if !self.bad.is_empty() {
            bail!(
                "selftest net: FAIL: {} bad frames; {}",
                self.bad.len(),
                self.bad
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
        Ok(())
    }
}

/// Prints the loop pass's line(s); returns the bytes of its frames.
fn report_loop(t: &Phase<'_>, sizes: &[usize], extra: &str) -> u64 {
    let bytes: u64 = sizes.iter().map(|&b| b as u64).sum();
    t.report_as(
        "loop",
        bytes,
        sizes.len() as u64,
        ("frames", "frames/s"),
        extra,
    );
    bytes
}

/// Frames in flight at most: half of what RX buffers can take in the
/// worst case (every frame steered to one queue), so none arrives to an
/// empty queue.
fn window(queue_size: u16, rx_buffer_len: u32, mergeable: bool, largest: usize) -> usize {
    let per_frame = if mergeable {
        (largest + vfpga_abi::net::HDR_LEN as usize).div_ceil(rx_buffer_len as usize)
    } else {
        1
    };
    // Half of that: reposted buffers reach the device only after it
    // fetches the avail ring again, so the queue is never as full as the
    // driver's count says (a full window lost 4 of 8941 frames).
    (queue_size as usize / per_frame / 2).max(1)
}

/// Sends `sizes` (frame `i` on pair `i % active`) keeping at most
/// `window` in flight, and checks what comes back.
fn loop_frames(
    drv: &mut NetDriver,
    ret: &mut Returned<'_>,
    window: usize,
    per_pair: &mut [u64],
) -> anyhow::Result<()> {
    let n = ret.sizes.len();
    let (mut sent, mut got) = (0usize, 0usize);
    while got < n {
        while sent < n && sent - got < window {
            let f = ret.frame(sent);
            drv.send(ret.pair_of(sent), &f)
                .with_context(|| format!("sending frame {sent} ({} bytes)", f.len()))?;
            sent += 1;
        }
        match drv.recv(Duration::from_secs(30))? {
            Some(f) => {
                ret.check_on(&f.data, f.pair);
                per_pair[f.pair as usize] += 1;
                got += 1;
            }
            None => bail!(
                "selftest net: FAIL: {} of {sent} frames sent came back within 30 s; {}",
                got,
                ret.missing().unwrap_or_default()
            ),
        }
    }
    Ok(())
}

fn net_vfpga(args: &NetArgs, dev: Arc<dyn Device>) -> anyhow::Result<(u64, u64)> {
    let opts = NetOptions {
        pairs: args.pairs,
        queue_size: args.queue_size,
        ..NetOptions::default()
    };
    let mut drv = NetDriver::new(dev.clone(), opts)?;
    let cfg = *drv.config();
    let mergeable = drv.pci().has(vfpga_abi::features::NET_MRG_RXBUF);
    println!(
        "device  mac {}, mtu {}, link {}, {} queue pair(s) ({} in use), features {:#x}, vendor region {}",
        net::format_mac(&cfg.mac),
        cfg.mtu,
        if cfg.link_up() { "up" } else { "down" },
        cfg.max_pairs,
        drv.active_pairs(),
        drv.pci().negotiated(),
        if drv.pci().vendor().is_some() {
            "present"
        } else {
            "absent (not a vfpga function)"
        }
    );
    let largest = *args.sizes.0.iter().max().expect("checked non-empty");
    if largest > drv.max_frame() {
        bail!(
            "--sizes: {largest}-byte frames exceed the device's MTU {} (largest frame {})",
            cfg.mtu,
            drv.max_frame()
        );
    }
    let w = window(args.queue_size, opts.rx_buffer_len, mergeable, largest);
    let mac = drv.mac();
    let pairs = drv.active_pairs();
    if pairs > 1 {
        // Each pair's frames go to an address of their own (receive
        // steering follows the flow): let the filter take them.
        let extra: Vec<net::Mac> = (1..pairs)
            .map(|p| frame::pair_addresses(mac, p).0)
            .collect();
        drv.set_mac_table(&extra, &[])
            .context("MAC_TABLE_SET of the other pairs' addresses")?;
    }
    let mut ret = Returned::new(&args.sizes.0, args.seed, mac, pairs);
    let mut per_pair = vec![0u64; drv.pairs() as usize];
    let before = drv.stats();
    let t = Phase::start(dev.as_ref());
    loop_frames(&mut drv, &mut ret, w, &mut per_pair)?;
    let s = drv.stats();
    let bytes = report_loop(
        &t,
        &args.sizes.0,
        &format!(
            " ({} in flight at most, {} RX buffers, {} interrupts, {} notifies, {} lost interrupts)",
            w,
            s.rx_buffers - before.rx_buffers,
            s.interrupts - before.interrupts,
            s.notifies - before.notifies,
            s.lost_interrupts - before.lost_interrupts
        ),
    );
    if per_pair.len() > 1 {
        println!(
            "pairs   frames received per pair: {}; {} on another pair than they were sent on",
            per_pair
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            ret.moved
        );
    }
    ret.verdict()?;
    let mut frames = args.sizes.0.len() as u64;
    let mut total = bytes;
    if args.perf_frames > 0 && dev.simulated_cycles().is_some() {
        for size in [64usize, 1500] {
            if size > drv.max_frame() {
                continue;
            }
            let sizes = vec![size; args.perf_frames as usize];
            let w = window(args.queue_size, opts.rx_buffer_len, mergeable, size);
            let mut ret = Returned::new(&sizes, args.seed ^ size as u64, mac, 1);
            let t = Phase::start(dev.as_ref());
            loop_frames(&mut drv, &mut ret, w, &mut per_pair)?;
            let cycles = t.cycles().unwrap_or(0);
            ret.verdict()?;
            let hz = vfpga_sim::clock::DEFAULT_CLOCK_HZ as f64;
            let per = cycles as f64 / sizes.len() as f64;
            println!(
                "cycles  {size} B: {} frames out and back in {cycles} cycles: {per:.1} cycles/frame, {:.3} Mpps, {:.2} Gb/s at {} MHz ({w} in flight)",
                sizes.len(),
                hz / per / 1e6,
                hz / per * size as f64 * 8.0 / 1e9,
                hz as u64 / 1_000_000
            );
            frames += sizes.len() as u64;
            total += (size * sizes.len()) as u64;
        }
    }
    print_counters(drv.pci())?;
    drv.pci().check_needs_reset()?;
    Ok((frames, total))
}

fn net_virtio_drivers(args: &NetArgs, dev: Arc<dyn Device>) -> anyhow::Result<(u64, u64)> {
    use virtio_drivers::device::net::{TxBuffer, VirtIONet};
    if args.pairs != 1 {
        println!("note: --pairs applies to --driver vfpga; virtio-drivers uses one queue pair");
    }
    let largest = *args.sizes.0.iter().max().expect("checked non-empty");
    // No mergeable buffers in virtio-drivers: each buffer holds a frame
    // (VirtIONet rounds the length down to whole words), and it refuses
    // buffers smaller than a header and a 1514-byte frame.
    let buf_len =
        (vfpga_abi::net::HDR_LEN as usize + largest.max(VD_MIN_FRAME)).next_multiple_of(8);
    DeviceHal::install(dev.clone());
    let clock = dev.clone();
    let result = (|| {
        let transport = DeviceTransport::new(dev)?;
        let mut nic = VirtIONet::<DeviceHal, DeviceTransport, VD_QUEUE>::new(transport, buf_len)
            .map_err(|e| anyhow::anyhow!("virtio-drivers VirtIONet::new: {e}"))?;
        let mac = nic.mac_address();
        println!(
            "device  mac {}, virtio-drivers VirtIONet with {VD_QUEUE}-entry queues, {buf_len}-byte RX buffers",
            net::format_mac(&mac)
        );
        let mut ret = Returned::new(&args.sizes.0, args.seed, mac, 1);
        let t = Phase::start(clock.as_ref());
        for seq in 0..args.sizes.0.len() {
            let f = ret.frame(seq);
            // Blocks until the device used the TX buffer.
            nic.send(TxBuffer::from(&f[..]))
                .map_err(|e| anyhow::anyhow!("virtio-drivers send of frame {seq}: {e}"))?;
            let deadline = Instant::now() + Duration::from_secs(30);
            let rx = loop {
                match nic.receive() {
                    Ok(rx) => break rx,
                    Err(virtio_drivers::Error::NotReady) if Instant::now() < deadline => {
                        // Polled (no interrupts here): leave the cores to
                        // the simulator meanwhile.
                        std::thread::sleep(Duration::from_micros(20));
                    }
                    Err(virtio_drivers::Error::NotReady) => bail!(
                        "selftest net: FAIL: frame {seq} ({} bytes) did not come back within 30 s",
                        f.len()
                    ),
                    Err(e) => bail!("virtio-drivers receive: {e}"),
                }
            };
            ret.check(rx.packet());
            nic.recycle_rx_buffer(rx)
                .map_err(|e| anyhow::anyhow!("virtio-drivers recycle_rx_buffer: {e}"))?;
        }
        let bytes = report_loop(&t, &args.sizes.0, " (one frame at a time)");
        ret.verdict()?;
        Ok((args.sizes.0.len() as u64, bytes))
    })();
    DeviceHal::uninstall();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_as_ranges_and_lists() {
        assert_eq!(parse_sizes("60-63").unwrap().0, [60, 61, 62, 63]);
        assert_eq!(parse_sizes("64,1500").unwrap().0, [64, 1500]);
        assert_eq!(parse_sizes("60-61, 9000").unwrap().0, [60, 61, 9000]);
        assert_eq!(parse_sizes("60-9000").unwrap().0.len(), 8941);
        assert!(parse_sizes("9000-60").unwrap_err().contains("backwards"));
        assert!(parse_sizes("10").unwrap_err().contains("shorter"));
        assert!(parse_sizes("big").unwrap_err().contains("not a frame size"));
    }

    #[test]
    fn window_leaves_room_for_every_frame_in_flight() {
        // 9000-byte frames over 2 KiB buffers take 5 each: 256 / 5 / 2.
        assert_eq!(window(256, 2048, true, 9000), 25);
        assert_eq!(window(256, 2048, true, 60), 128);
        assert_eq!(window(16, 9100, false, 9000), 8);
        assert_eq!(window(4, 2048, true, 9000), 1);
    }
}
