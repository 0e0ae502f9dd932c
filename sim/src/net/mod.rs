//! The network side of the net personality: the [`port::NetPort`] a
//! board's MAC is wired to (`loopback`, a [`link::link`] between two
//! devices in one process, `udp:LOCAL,PEER`, `tap:NAME`) and the
//! [`mac::MacModel`] between it and the hardware's MAC streams.

pub mod link;
pub mod loopback;
pub mod mac;
pub mod port;
pub mod tap;
pub mod udp;

pub use mac::{MacConfig, MacModel, NetCounters, NetStats};
pub use port::{MAX_FRAME, NetPort, PortError, PortParseError, PortSpec};
