//! An idle net device sleeps, and a frame arriving at its port wakes it:
//! resource measurements (CPU time from getrusage), not wall-time
//! performance assertions. In a file of its own so that no other test
//! shares the process being measured.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use vfpga_sim::SimDevice;
use vfpga_sim::machine::{Function, MachineConfig};
use vfpga_sim::net::NetPort;
use vfpga_sim::net::NetStats;
use vfpga_sim::net::link::link;
use vfpga_sim::net::udp::UdpPort;

fn process_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) }, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// CPU the process uses over `secs` seconds of doing nothing itself.
fn cpu_over(secs: u64) -> Duration {
    let before = process_cpu();
    std::thread::sleep(Duration::from_secs(secs));
    process_cpu() - before
}

/// Waits (a liveness bound, not a performance figure) until `ok` holds
/// for the device's network counters.
fn wait_stats(dev: &SimDevice, ok: impl Fn(&NetStats) -> bool) -> NetStats {
    let end = Instant::now() + Duration::from_secs(60);
    loop {
        let s = dev.net_stats().expect("a net device has network counters");
        if ok(&s) || Instant::now() > end {
            return s;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn idle_net_device_sleeps_and_a_frame_at_its_port_wakes_it() {
    // The device's UDP port, and a plain socket standing in for the peer.
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let local = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let port = UdpPort::open(local, peer.local_addr().unwrap()).unwrap();
    let dev =
        SimDevice::with_function(None, MachineConfig::default(), Function::net(port)).unwrap();
    // Let it come out of reset and settle into idle.
    std::thread::sleep(Duration::from_millis(300));
    let used = cpu_over(5);
    assert!(
        used < Duration::from_millis(100),
        "an idle net device used {used:?} of CPU in 5 s (limit 2% = 100 ms)"
    );

    // Frames arrive while it sleeps: the socket's readability wakes the
    // clock, the MAC takes them and streams them into the hardware (which
    // drops them: no driver, no RX buffer).
    let cycles = vfpga_host::Device::simulated_cycles(&dev).unwrap();
    for len in [60usize, 1514, 9014] {
        peer.send_to(&vec![0xA5; len], local).unwrap();
    }
    let s = wait_stats(&dev, |s| s.rx_to_hw == 3);
    assert_eq!((s.rx_frames, s.rx_bytes), (3, 60 + 1514 + 9014), "{s:?}");
    assert_eq!(s.rx_to_hw, 3, "{s:?}");
    assert!(
        vfpga_host::Device::simulated_cycles(&dev).unwrap() > cycles,
        "the clock ran"
    );

    // And it goes back to sleep.
    std::thread::sleep(Duration::from_millis(300));
    let used = cpu_over(3);
    assert!(
        used < Duration::from_millis(60),
        "after the frames the device used {used:?} of CPU in 3 s (limit 2%)"
    );
    drop(dev);

    // The same through a link: the other end's send signals the sleeping
    // device's eventfd.
    let (mut a, b) = link().unwrap();
    let dev = SimDevice::with_function(None, MachineConfig::default(), Function::net(b)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    a.send(&[0xFF; 64]).unwrap();
    let s = wait_stats(&dev, |s| s.rx_to_hw == 1);
    assert_eq!((s.rx_frames, s.rx_to_hw), (1, 1), "{s:?}");
}
