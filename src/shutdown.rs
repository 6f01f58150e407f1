//! SIGINT/SIGTERM as a flag the nodes poll, so they stop their loops, hold the
//! last posture and publish a final status instead of dying mid-write.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// A flag set once SIGINT or SIGTERM arrives.
pub fn on_sigint_or_sigterm() -> std::io::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&flag))?;
    }
    Ok(flag)
}
