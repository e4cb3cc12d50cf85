//! The libzmq capability check: bitmarkd peers speak only CURVE, so a libzmq built without it
//! (e.g. the `zmq` crate's vendored build) would give a node no peer could reach.

use crate::error::{NodeError, Result};

/// Fail with an explanation when the linked libzmq has no CURVE support.
pub fn require_curve() -> Result<()> {
    if zmq::has("curve") == Some(true) {
        Ok(())
    } else {
        let (major, minor, patch) = zmq::version();
        Err(NodeError::Zmq(format!(
            "libzmq {major}.{minor}.{patch} has no CURVE support, which bitmarkd peers require; \
             install Debian's libzmq3-dev (built with libsodium) and rebuild"
        )))
    }
}
