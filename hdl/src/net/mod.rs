//! The virtio-net function (virtio 1.2 §5.1) on the split-virtqueue engine:
//! TX chains streamed to a MAC port, RX frames into mergeable buffers, the
//! MAC filter the control queue programs.

pub mod engine;
pub mod filter;
pub mod rx;
pub mod top;
pub mod tx;

pub use engine::NetEngine;
pub use filter::NetFilter;
pub use rx::NetRx;
pub use top::NetTop;
pub use tx::NetTx;
