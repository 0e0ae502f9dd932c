//! MSI-X delivery: the host's interrupt controller as the simulator sees
//! it. The engine's MSI-X block sends a message (it has already applied the
//! table's masks and the function mask); the host side signals the eventfd
//! routed to that vector, as VFIO's `VFIO_DEVICE_SET_IRQS` would.

use std::sync::{Arc, Mutex, PoisonError};

use vfpga_abi::ports::MsixMessage;
use vmm_sys_util::eventfd::EventFd;

use crate::clock::Cycle;

/// Vector-to-eventfd routing, shared between the host threads that set it
/// and the clock thread that delivers.
#[derive(Debug, Clone, Default)]
pub struct MsixRoutes {
    inner: Arc<Mutex<Vec<Option<EventFd>>>>,
}

impl MsixRoutes {
    /// Replaces the routing: vector `i` goes to `fds[i]`.
    pub fn set(&self, fds: Vec<Option<EventFd>>) {
        *self.inner.lock().unwrap_or_else(PoisonError::into_inner) = fds;
    }

    /// Removes every route.
    pub fn clear(&self) {
        self.set(Vec::new());
    }

    /// Signals the eventfd of `vector`; false when the vector is unrouted.
    pub fn signal(&self, vector: u16) -> bool {
        let routes = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        match routes.get(usize::from(vector)) {
            Some(Some(fd)) => match fd.write(1) {
                Ok(()) => {
                    tracing::trace!(vector, "MSI-X message signalled");
                    true
                }
                Err(e) => {
                    tracing::error!(vector, %e, "MSI-X eventfd write failed");
                    false
                }
            },
            _ => false,
        }
    }
}

/// One message as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsixRecord {
    /// Cycle of the handshake.
    pub cycle: Cycle,
    /// The message.
    pub msg: MsixMessage,
}

/// The receiving end of the engine's MSI-X port: always ready.
#[derive(Debug, Default)]
pub struct MsixModel {
    routes: MsixRoutes,
    delivered: u64,
    dropped: u64,
    log: Option<Vec<MsixRecord>>,
}

impl MsixModel {
    /// A receiver delivering through `routes`; `log` keeps every message.
    pub fn new(routes: MsixRoutes, log: bool) -> Self {
        MsixModel {
            routes,
            delivered: 0,
            dropped: 0,
            log: log.then(Vec::new),
        }
    }

    /// Messages signalled on an eventfd.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// Messages for vectors without an eventfd.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Every message received, when logging.
    pub fn log(&self) -> &[MsixRecord] {
        self.log.as_deref().unwrap_or(&[])
    }

    /// One clock edge: `msg` is the message that moved, if any.
    pub fn clock(&mut self, now: Cycle, msg: Option<MsixMessage>) {
        let Some(msg) = msg else {
            return;
        };
        if let Some(log) = &mut self.log {
            log.push(MsixRecord { cycle: now, msg });
        }
        if self.routes.signal(msg.vector) {
            self.delivered += 1;
        } else {
            self.dropped += 1;
            tracing::debug!(vector = msg.vector, "MSI-X message for an unrouted vector");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmm_sys_util::eventfd::EFD_NONBLOCK;

    #[test]
    fn message_signals_the_eventfd_of_its_vector_only() {
        let routes = MsixRoutes::default();
        let a = EventFd::new(EFD_NONBLOCK).unwrap();
        let b = EventFd::new(EFD_NONBLOCK).unwrap();
        routes.set(vec![
            Some(a.try_clone().unwrap()),
            None,
            Some(b.try_clone().unwrap()),
        ]);
        let mut m = MsixModel::new(routes, true);
        let msg = |vector| MsixMessage {
            addr: 0xFEE0_0000,
            data: u32::from(vector),
            vector,
        };
        m.clock(5, Some(msg(2)));
        m.clock(6, Some(msg(2)));
        m.clock(7, Some(msg(1)));
        m.clock(8, None);
        assert_eq!(b.read().unwrap(), 2);
        assert!(a.read().is_err(), "vector 0 was not signalled");
        assert_eq!((m.delivered(), m.dropped()), (2, 1));
        assert_eq!(m.log().len(), 3);
        assert_eq!(m.log()[0].cycle, 5);
    }

    #[test]
    fn cleared_routes_drop_messages() {
        let routes = MsixRoutes::default();
        let a = EventFd::new(EFD_NONBLOCK).unwrap();
        routes.set(vec![Some(a.try_clone().unwrap())]);
        routes.clear();
        let mut m = MsixModel::new(routes, false);
        m.clock(
            0,
            Some(MsixMessage {
                addr: 0,
                data: 0,
                vector: 0,
            }),
        );
        assert_eq!(m.dropped(), 1);
        assert!(a.read().is_err());
    }
}
