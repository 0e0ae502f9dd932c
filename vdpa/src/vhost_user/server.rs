//! The listening socket: one frontend at a time, reconnects welcome.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use vhost::vhost_user::{BackendListener, Error as VhostError, Listener};

use super::early_enable::take_early_enable;
use super::{VdpaBackend, VdpaError};
use std::os::fd::AsRawFd;

/// Serves `backend` on the Unix socket at `path` until `stop` is set (checked
/// between connections). A frontend that disconnects, or that sends a message
/// the protocol layer cannot parse, loses its connection; the device is
/// drained and stopped, and the daemon waits for the next connection
/// (QEMU's `reconnect=` option).
pub fn serve(
    path: &Path,
    backend: Arc<Mutex<VdpaBackend>>,
    stop: &AtomicBool,
) -> Result<(), VdpaError> {
    let mut listener = Listener::new(path, true)
        .map_err(|e| VdpaError::Io("creating the vhost-user socket", std::io::Error::other(e)))?;
    tracing::info!(socket = %path.display(), "waiting for a vhost-user frontend");
    while !stop.load(Ordering::Relaxed) {
        let mut accepting = BackendListener::new(&mut listener, backend.clone())
            .map_err(|e| VdpaError::Io("listening", std::io::Error::other(e)))?;
        let mut handler = match accepting.accept() {
            Ok(Some(h)) => h,
            Ok(None) => continue,
            Err(e) => {
                tracing::error!("accepting a frontend: {e}");
                continue;
            }
        };
        tracing::info!("frontend connected");
        loop {
            let fd = handler.as_raw_fd();
            match take_early_enable(fd, &mut backend.lock().unwrap()) {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => {
                    tracing::error!("dropping the frontend: {e}");
                    break;
                }
            }
            match handler.handle_request() {
                Ok(()) => {}
                // Our own refusal: already logged and NACKed; the session goes on.
                Err(VhostError::ReqHandlerError(_)) => {}
                Err(VhostError::Disconnected) | Err(VhostError::PartialMessage) => {
                    tracing::info!("frontend disconnected");
                    break;
                }
                Err(e) => {
                    tracing::error!("dropping the frontend after a protocol error: {e}");
                    break;
                }
            }
        }
        if let Err(e) = backend.lock().unwrap().disconnect() {
            tracing::error!("stopping the device after the frontend left: {e}");
        }
    }
    Ok(())
}
