//! Test models for the engine (feature `test-models`): host memory behind a
//! DMA port with latency and out-of-order completions, block storage with
//! latency and out-of-order completions, a small deterministic PRNG, and a
//! bench that runs the engine against them with rust-hdl's `simulate()` in
//! a plain loop.

pub mod bench;
pub mod driver;
pub mod host_memory;
pub mod mac;
pub mod net_bench;
pub mod ports;
pub mod rng;
pub mod storage;

pub use bench::{Bench, BenchConfig};
pub use driver::{Buffer, SplitQueue};
pub use host_memory::HostMemory;
pub use rng::XorShift;
pub use storage::Storage;
