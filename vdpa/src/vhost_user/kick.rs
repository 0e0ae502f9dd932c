//! Kick eventfd -> doorbell.
//!
//! When the device can take the kick eventfd itself (the simulator can; KVM
//! ioeventfd-style), no thread of ours stands between guest and hardware.
//! Otherwise (VFIO has no such path from userspace) one thread per queue
//! waits on the kick and writes the doorbell.

use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::Arc;
use std::thread::JoinHandle;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use vfpga_host::{Device, DeviceExt};
use vmm_sys_util::eventfd::{EFD_NONBLOCK, EventFd};

use super::VdpaError;

/// A doorbell fed by a kick eventfd, until dropped.
#[derive(Debug)]
pub struct KickForwarder {
    stop: Option<EventFd>,
    thread: Option<JoinHandle<()>>,
}

impl KickForwarder {
    /// Connects `kick` to queue `queue`'s doorbell at `bar`/`offset`.
    pub fn start(
        dev: Arc<dyn Device>,
        queue: u16,
        bar: u8,
        offset: u64,
        kick: &EventFd,
    ) -> Result<Self, VdpaError> {
        if dev.attach_doorbell(bar, offset, None, kick)? {
            tracing::debug!(queue, "kick eventfd attached to the doorbell directly");
            return Ok(KickForwarder {
                stop: None,
                thread: None,
            });
        }
        let kick = kick
            .try_clone()
            .map_err(|e| VdpaError::Io("dup kick eventfd", e))?;
        let stop = EventFd::new(EFD_NONBLOCK).map_err(|e| VdpaError::Io("eventfd", e))?;
        let stop_rx = stop
            .try_clone()
            .map_err(|e| VdpaError::Io("dup eventfd", e))?;
        let thread = std::thread::Builder::new()
            .name(format!("kick-q{queue}"))
            .spawn(move || forward(dev, queue, bar, offset, kick, stop_rx))
            .map_err(|e| VdpaError::Io("spawning the kick thread", e))?;
        tracing::debug!(queue, "kick eventfd forwarded by a thread");
        Ok(KickForwarder {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

fn forward(dev: Arc<dyn Device>, queue: u16, bar: u8, offset: u64, kick: EventFd, stop: EventFd) {
    loop {
        // SAFETY: both eventfds outlive this loop iteration.
        let (k, s) = unsafe {
            (
                BorrowedFd::borrow_raw(kick.as_raw_fd()),
                BorrowedFd::borrow_raw(stop.as_raw_fd()),
            )
        };
        let mut fds = [
            PollFd::new(k, PollFlags::POLLIN),
            PollFd::new(s, PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                tracing::error!(
                    queue,
                    fd = kick.as_raw_fd(),
                    "polling the kick eventfd: {e}"
                );
                return;
            }
        }
        if fds[1].revents().is_some_and(|r| !r.is_empty()) {
            return;
        }
        let kicked = kick.read().is_ok();
        tracing::trace!(queue, kicked, "kick");
        if kicked && let Err(e) = dev.write_u16(bar, offset, queue) {
            tracing::error!(queue, "doorbell write failed: {e}");
            return;
        }
    }
}

impl Drop for KickForwarder {
    fn drop(&mut self) {
        if let Some(stop) = &self.stop {
            let _ = stop.write(1);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
