//! Shared by the `sim_net_*` suites: a simulated NIC whose port is a
//! loopback (every frame it transmits comes back as received), and frames
//! sent through a driver and checked byte for byte when they return.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use vfpga_abi::Personality;
use vfpga_host::Device;
use vfpga_host::net::{Mac, NetDriver, NetOptions, RxFrame, frame};
use vfpga_sim::SimDevice;
use vfpga_sim::backend::{self, BackendKind};
use vfpga_sim::machine::{Function, MachineConfig};
use vfpga_sim::net::loopback::LoopbackPort;

/// How long a test waits for a frame before it fails. Generous: the
/// machine is shared and rust-hdl simulates a few thousand cycles per
/// second. Tests never assert on how long anything took.
pub const PATIENCE: Duration = Duration::from_secs(300);

/// The simulated NIC's MAC address.
pub const MAC: Mac = [0x02, 0x56, 0x46, 0x50, 0x47, 0x01];

/// The simulated NIC's MTU: jumbo frames, so 60..=9000-byte frames fit.
pub const MTU: u16 = vfpga_abi::net::MAX_MTU;

/// Whether backend `kind` can run the net personality. Verilator may be
/// missing: then the test fails under CI=true and otherwise says why it
/// skips.
pub fn backend_or_skip(kind: BackendKind, test: &str) -> bool {
    if kind == BackendKind::RustHdl || backend::verilator_available_for(Personality::Net) {
        return true;
    }
    let why = backend::verilator_status_for(Personality::Net);
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: the Verilator backend is required under CI=true: {why}");
    }
    eprintln!("{test}: skipped: the Verilator backend is unavailable: {why}");
    false
}

/// A simulated NIC on backend `kind` with a loopback port.
pub fn nic(kind: BackendKind) -> Arc<SimDevice> {
    let mut machine = MachineConfig::default();
    machine.board.net.mac = MAC;
    machine.board.net.mtu = MTU;
    Arc::new(
        SimDevice::with_function(Some(kind), machine, Function::net(LoopbackPort::new()))
            .expect("the simulated NIC starts"),
    )
}

/// Our driver on `dev` with `opts` (the timeout set to [`PATIENCE`]).
pub fn driver(dev: &Arc<SimDevice>, opts: NetOptions) -> NetDriver {
    NetDriver::new(
        dev.clone() as Arc<dyn Device>,
        NetOptions {
            timeout: PATIENCE,
            ..opts
        },
    )
    .expect("virtio-net bring-up")
}

/// Self-test frame `seq` of `len` bytes from `src` to `dst`.
pub fn test_frame(dst: Mac, src: Mac, seq: u32, len: usize) -> Vec<u8> {
    frame::build(dst, src, 0x5EED, seq, len)
}

/// Waits for the next frame; fails the test after [`PATIENCE`].
pub fn recv(drv: &mut NetDriver, what: &str) -> RxFrame {
    drv.recv(PATIENCE)
        .expect("receive")
        .unwrap_or_else(|| panic!("{what}: no frame within {PATIENCE:?}"))
}

/// Sends `sizes` on pair 0 to the driver's own MAC, at most `window` in
/// flight, and checks every frame comes back once, byte for byte, in
/// order (one pair, a loopback: nothing may overtake). Returns the
/// frames as received.
pub fn loop_sizes(drv: &mut NetDriver, sizes: &[usize], window: usize) -> Vec<RxFrame> {
    let (dst, src) = frame::pair_addresses(drv.mac(), 0);
    let mut back = Vec::new();
    let mut sent = 0;
    while back.len() < sizes.len() {
        while sent < sizes.len() && sent - back.len() < window {
            drv.send(0, &test_frame(dst, src, sent as u32, sizes[sent]))
                .unwrap();
            sent += 1;
        }
        let i = back.len();
        let f = recv(drv, &format!("frame {i} ({} bytes)", sizes[i]));
        let want = test_frame(dst, src, i as u32, sizes[i]);
        assert_eq!(
            frame::diff(&f.data, &want),
            None,
            "frame {i} of {} bytes came back as {} bytes (seq {:?}): (bad bytes, first)",
            sizes[i],
            f.data.len(),
            frame::seq_of(&f.data)
        );
        assert_eq!(f.pair, 0, "one pair in use: receiveq1");
        back.push(f);
    }
    back
}
