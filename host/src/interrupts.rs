//! Waiting for MSI-X interrupts, which the [`crate::Device`] delivers by
//! signalling eventfds.

use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

use vmm_sys_util::eventfd::{EFD_NONBLOCK, EventFd};

/// A non-blocking eventfd for one MSI-X vector.
pub fn new_eventfd() -> io::Result<EventFd> {
    EventFd::new(EFD_NONBLOCK)
}

/// Waits up to `timeout` for any of `fds` to be signalled. Returns, per fd,
/// the count it held (how many MSI-X messages arrived; 0 when it did not
/// fire), consuming it. All zero means the wait timed out.
pub fn wait_any(fds: &[&EventFd], timeout: Duration) -> io::Result<Vec<u64>> {
    let mut pfds: Vec<libc::pollfd> = fds
        .iter()
        .map(|e| libc::pollfd {
            fd: e.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    loop {
        // SAFETY: pfds is a valid array of pollfd of the given length.
        let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
        if n >= 0 {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    Ok(pfds
        .iter()
        .zip(fds)
        .map(|(p, e)| {
            if p.revents & libc::POLLIN != 0 {
                // Non-blocking: another reader may have emptied it since.
                e.read().unwrap_or(0)
            } else {
                0
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_fd_and_timeout() {
        let a = new_eventfd().unwrap();
        let b = new_eventfd().unwrap();
        b.write(3).unwrap();
        assert_eq!(wait_any(&[&a, &b], Duration::from_secs(5)).unwrap(), [0, 3]);
        // Consumed: the next wait times out.
        assert_eq!(wait_any(&[&a, &b], Duration::ZERO).unwrap(), [0, 0]);
    }
}
