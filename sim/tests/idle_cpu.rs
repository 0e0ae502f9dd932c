//! An idle simulated device sleeps: a resource measurement (CPU time from
//! getrusage), not a wall-time performance assertion. In a file of its own
//! so that no other test shares the process being measured.

use std::sync::Arc;
use std::time::Duration;

use vfpga_host::Device;
use vfpga_host::blk::{BlkDriver, BlkOptions, ReqKind, Request};
use vfpga_sim::machine::MachineConfig;
use vfpga_sim::storage::Image;
use vfpga_sim::{SimConfig, SimDevice};

fn process_cpu() -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) }, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

#[test]
fn idle_device_uses_under_two_percent_of_a_core() {
    let dev = Arc::new(
        SimDevice::new(SimConfig {
            backend: None,
            machine: MachineConfig::default(),
            image: Image::ram(1 << 20).unwrap(),
        })
        .unwrap(),
    );
    // A live device (DRIVER_OK, queues running) that has done some work.
    let mut drv = BlkDriver::new(
        dev.clone() as Arc<dyn Device>,
        BlkOptions {
            queues: 1,
            depth: 4,
            request_size: 4096,
            timeout: Duration::from_secs(120),
        },
    )
    .unwrap();
    let reqs = (0..8u64).map(|i| Request {
        kind: ReqKind::Read,
        sector: i * 8,
        len: 4096,
    });
    drv.run(reqs, |_, _| {}, |_, _| Ok(())).unwrap();
    // Let it settle into idle (two firmware polls after the last activity).
    std::thread::sleep(Duration::from_millis(200));
    let before = process_cpu();
    std::thread::sleep(Duration::from_secs(5));
    let used = process_cpu() - before;
    assert!(
        used < Duration::from_millis(100),
        "an idle device used {used:?} of CPU in 5 s (limit 2% = 100 ms)"
    );
    drop(drv);
}
