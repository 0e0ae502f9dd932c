//! The waveform option writes a VCD of the top-level ports that viewers
//! (GTKWave) open: a header declaring every port, then one time step per
//! clock edge with the values that changed.

mod common;

use common::Board;
use vfpga_sim::backend::BackendKind;
use vfpga_sim::machine::MachineConfig;

#[test]
fn vcd_of_the_top_level_ports_records_the_driver_initialisation() {
    let path = std::env::temp_dir().join(format!("vfpga-sim-trace-{}.vcd", std::process::id()));
    let kind = BackendKind::default_available();
    let cycles = {
        let mut b = Board::new(
            kind,
            64,
            MachineConfig {
                vcd: Some(path.clone()),
                ..MachineConfig::default()
            },
        );
        b.init(&[(8, 0x1_0000, 0x1_0080, 0x1_1000)]);
        b.machine.now()
        // Dropping the board flushes the trace.
    };
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let header_end = text
        .find("$enddefinitions $end")
        .expect("a complete header");
    let header = &text[..header_end];
    for port in [
        "clock",
        "mmio_req_valid",
        "mmio_req_addr",
        "mgmt_req_valid",
        "dma_rd_req_addr",
        "msix_vector",
    ] {
        assert!(header.contains(&format!(" {port} $end")), "{port} declared");
    }
    // Find mmio_req_valid's identifier and check it went high at least once.
    let id = header
        .lines()
        .find(|l| l.ends_with(" mmio_req_valid $end"))
        .and_then(|l| l.split_whitespace().nth(3))
        .unwrap()
        .to_string();
    assert!(
        text.lines().any(|l| l == format!("1{id}")),
        "an MMIO request was driven"
    );
    // Two time steps per cycle (clock low, clock high).
    let steps = text.lines().filter(|l| l.starts_with('#')).count() as u64;
    assert_eq!(steps, 2 * cycles, "every simulated cycle is in the trace");
}
