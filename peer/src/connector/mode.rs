//! The node's mode (bitmarkd's `mode` package, `docs/protocol.md#mode`): one cell
//! ([`ModeHandle`]) shared between the connector that sets it and everything that reads it (the
//! listener's `is_normal`, the block producer, `/status`, captures).

use std::fmt;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

/// bitmarkd's modes, with its numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Shutting down (`mode.Finalise`).
    Stopped = 0,
    /// Catching up with the network: pushed blocks and transactions are ignored. The initial
    /// mode, and what the connector's Connecting state sets.
    Resynchronise = 1,
    /// In step with the network: set by the connector's Rebuild state (or a standalone start).
    Normal = 2,
}

impl Mode {
    fn from_u8(v: u8) -> Mode {
        match v {
            0 => Mode::Stopped,
            2 => Mode::Normal,
            _ => Mode::Resynchronise,
        }
    }

    /// bitmarkd's name for the mode (`Mode.String`).
    pub fn name(self) -> &'static str {
        match self {
            Mode::Stopped => "Stopped",
            Mode::Resynchronise => "Resynchronise",
            Mode::Normal => "Normal",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A shared, lock-free mode cell. Cloning shares it.
#[derive(Clone, Debug)]
pub struct ModeHandle(Arc<AtomicU8>);

impl Default for ModeHandle {
    /// Starts in [`Mode::Resynchronise`], as bitmarkd does.
    fn default() -> ModeHandle {
        ModeHandle(Arc::new(AtomicU8::new(Mode::Resynchronise as u8)))
    }
}

impl ModeHandle {
    /// A cell in [`Mode::Resynchronise`].
    pub fn new() -> ModeHandle {
        ModeHandle::default()
    }

    /// A cell starting in `mode` (a standalone node starts in [`Mode::Normal`]).
    pub fn starting_in(mode: Mode) -> ModeHandle {
        ModeHandle(Arc::new(AtomicU8::new(mode as u8)))
    }

    /// The current mode.
    pub fn get(&self) -> Mode {
        Mode::from_u8(self.0.load(Ordering::SeqCst))
    }

    /// Set the mode.
    pub fn set(&self, mode: Mode) {
        self.0.store(mode as u8, Ordering::SeqCst);
    }

    /// Whether the mode is [`Mode::Normal`]: what the listener's `ChainView::is_normal` reports.
    pub fn is_normal(&self) -> bool {
        self.get() == Mode::Normal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_starts_resynchronising_and_is_shared() {
        let a = ModeHandle::new();
        let b = a.clone();
        assert_eq!(a.get(), Mode::Resynchronise);
        b.set(Mode::Normal);
        assert!(a.is_normal());
        a.set(Mode::Stopped);
        assert_eq!((b.get(), b.get().to_string()), (Mode::Stopped, "Stopped".to_string()));
    }
}
