//! Sleeping while the device is idle: the clock thread blocks in `poll(2)`
//! on a wake-up eventfd (signalled by every host access) and on the
//! doorbell eventfds attached to it, so an idle simulated device uses no
//! CPU, and wakes within one system call of any work arriving.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::Duration;

use vmm_sys_util::eventfd::{EFD_NONBLOCK, EventFd};

use crate::error::SimError;

/// The clock thread's alarm clock.
#[derive(Debug)]
pub struct Waker {
    fd: EventFd,
}

/// Why [`Waker::wait`] returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// [`Waker::wake`] was called (the count is consumed).
    Woken,
    /// These extra fds are readable (indices into the slice given).
    Fds(Vec<usize>),
    /// The timeout passed.
    Timeout,
}

impl Waker {
    /// A waker with nothing pending.
    pub fn new() -> Result<Self, SimError> {
        let fd = EventFd::new(EFD_NONBLOCK).map_err(|source| SimError::Io {
            op: "eventfd",
            source,
        })?;
        Ok(Waker { fd })
    }

    /// Wakes the thread in [`Waker::wait`] (or makes its next wait return
    /// at once). Callable from any thread.
    pub fn wake(&self) {
        if let Err(e) = self.fd.write(1) {
            tracing::error!(%e, "waker eventfd write");
        }
    }

    /// Blocks until woken, until one of `fds` is readable, or until
    /// `timeout` (forever when `None`). Readable `fds` are reported, not
    /// read: their owner consumes them.
    pub fn wait(&self, fds: &[RawFd], timeout: Option<Duration>) -> Result<Wake, SimError> {
        let mut pfds: Vec<libc::pollfd> = std::iter::once(self.fd.as_raw_fd())
            .chain(fds.iter().copied())
            .map(|fd| libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        let ms = timeout.map_or(-1, |t| t.as_millis().min(i32::MAX as u128) as i32);
        loop {
            // SAFETY: `pfds` is a valid array of `pfds.len()` pollfds.
            let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ms) };
            if n < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(SimError::Io {
                    op: "poll",
                    source: e,
                });
            }
            if n == 0 {
                return Ok(Wake::Timeout);
            }
            if pfds[0].revents != 0 {
                // Consume the count; EAGAIN (a racing reader) is fine.
                let _ = self.fd.read();
                return Ok(Wake::Woken);
            }
            let ready = pfds[1..]
                .iter()
                .enumerate()
                .filter(|(_, p)| p.revents != 0)
                .map(|(i, _)| i)
                .collect();
            return Ok(Wake::Fds(ready));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn cpu_time() -> Duration {
        // SAFETY: getrusage fills the struct it is given.
        let mut u: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: as above; RUSAGE_THREAD is this thread only.
        assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) }, 0);
        let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        tv(u.ru_utime) + tv(u.ru_stime)
    }

    #[test]
    fn wake_from_another_thread_ends_the_wait() {
        let w = Arc::new(Waker::new().unwrap());
        let w2 = Arc::clone(&w);
        let t = std::thread::spawn(move || w2.wait(&[], None).unwrap());
        std::thread::sleep(Duration::from_millis(20));
        w.wake();
        assert_eq!(t.join().unwrap(), Wake::Woken);
    }

    #[test]
    fn wake_before_wait_is_not_lost() {
        let w = Waker::new().unwrap();
        w.wake();
        assert_eq!(w.wait(&[], None).unwrap(), Wake::Woken);
        assert_eq!(
            w.wait(&[], Some(Duration::from_millis(1))).unwrap(),
            Wake::Timeout
        );
    }

    #[test]
    fn a_signalled_doorbell_fd_is_reported() {
        let w = Waker::new().unwrap();
        let a = EventFd::new(EFD_NONBLOCK).unwrap();
        let b = EventFd::new(EFD_NONBLOCK).unwrap();
        b.write(1).unwrap();
        let r = w.wait(&[a.as_raw_fd(), b.as_raw_fd()], None).unwrap();
        assert_eq!(r, Wake::Fds(vec![1]));
    }

    #[test]
    fn waiting_uses_no_cpu() {
        let w = Waker::new().unwrap();
        let before = cpu_time();
        assert_eq!(
            w.wait(&[], Some(Duration::from_millis(300))).unwrap(),
            Wake::Timeout
        );
        let used = cpu_time() - before;
        // A resource measurement: a spinning wait would use ~300 ms.
        assert!(
            used < Duration::from_millis(6),
            "used {used:?} of CPU while waiting"
        );
    }
}
