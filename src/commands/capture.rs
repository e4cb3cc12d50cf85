//! `bitmark-node capture inspect`: summarise and list capture files
//! ([`bitmark_capture::inspect`]).

use crate::error::{NodeError, Result};
use bitmark_capture::inspect::{self, Inspection};
use std::path::PathBuf;

/// Inspect `files` (one session's files, oldest first), with or without the listing.
pub fn inspect(files: &[PathBuf], list: bool) -> Result<Inspection> {
    if files.is_empty() {
        return Err(NodeError::Input("no capture file given".into()));
    }
    Ok(inspect::inspect(files, list)?)
}
