//! The virtio-net function (virtio 1.2 §5.1) on the split-virtqueue engine:
//! TX chains streamed to a MAC port, RX frames into mergeable buffers with
//! steering over two queue pairs, the MAC filter and the control queue
//! (its commands handed to firmware).

pub mod ctrl;
pub mod engine;
pub mod filter;
pub mod rx;
pub mod steer;
pub mod top;
pub mod tx;

pub use ctrl::NetCtrl;
pub use engine::NetEngine;
pub use filter::NetFilter;
pub use rx::NetRx;
pub use steer::NetSteer;
pub use top::NetTop;
pub use tx::NetTx;
