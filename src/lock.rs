//! One node per data directory: a running node holds an exclusive `flock(2)` on the data
//! directory itself and writes its pid to [`PID_FILE`], so a second node (or a command that
//! writes: `reservoir import`, `replay --data-dir`) on the same directory is refused with
//! "another node (pid N) is using this data directory" instead of failing somewhere inside sled.
//! Read-only commands (`check`) take a shared lock, which writes nothing.
//!
//! The lock is the kernel's: it goes with the process, however it ends, so a node killed with
//! SIGKILL never leaves a stale lock behind (the pid file may stay; it is only read to name the
//! holder while the lock is held).

use crate::error::{NodeError, Result};
use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// The file naming the node that holds the lock, in the data directory.
pub const PID_FILE: &str = "bitmark-node.pid";

/// A held lock on a data directory; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct DataDirLock {
    _directory: File,
    dir: PathBuf,
}

impl DataDirLock {
    /// Lock `dir` (which must exist) for a node or a writing command, and write our pid.
    pub fn exclusive(dir: &Path) -> Result<DataDirLock> {
        let lock = DataDirLock::take(dir, libc::LOCK_EX)?;
        let pid_file = dir.join(PID_FILE);
        std::fs::write(&pid_file, format!("{}\n", std::process::id()))
            .map_err(|e| NodeError::io(pid_file.display(), e))?;
        Ok(lock)
    }

    /// Lock `dir` for reading only: refused while a node holds it, shared with other readers;
    /// writes nothing.
    pub fn shared(dir: &Path) -> Result<DataDirLock> {
        DataDirLock::take(dir, libc::LOCK_SH)
    }

    /// The directory locked.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn take(dir: &Path, kind: libc::c_int) -> Result<DataDirLock> {
        let directory = File::open(dir).map_err(|e| NodeError::io(dir.display(), e))?;
        // SAFETY: flock on a descriptor we own; it has no memory effects.
        let locked = unsafe { libc::flock(directory.as_raw_fd(), kind | libc::LOCK_NB) } == 0;
        if !locked {
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(NodeError::io(format!("locking {}", dir.display()), error));
            }
            return Err(NodeError::Input(busy_message(dir)));
        }
        Ok(DataDirLock { _directory: directory, dir: dir.to_path_buf() })
    }
}

/// Who holds `dir`, as far as its pid file says.
fn busy_message(dir: &Path) -> String {
    let pid = std::fs::read_to_string(dir.join(PID_FILE)).ok().and_then(|text| text.trim().parse::<u32>().ok());
    match pid {
        Some(pid) => format!("{}: another node (pid {pid}) is using this data directory", dir.display()),
        None => format!("{}: another node is using this data directory", dir.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_readers_only_without_it() {
        let dir = tempfile::tempdir().unwrap();
        let reader = DataDirLock::shared(dir.path()).unwrap();
        let second_reader = DataDirLock::shared(dir.path()).unwrap();
        let e = DataDirLock::exclusive(dir.path()).unwrap_err().to_string();
        assert!(e.contains("another node is using this data directory"), "{e}");
        drop((reader, second_reader));
        let node = DataDirLock::exclusive(dir.path()).unwrap();
        assert_eq!(node.dir(), dir.path());
        let pid = std::process::id();
        for e in [DataDirLock::exclusive(dir.path()), DataDirLock::shared(dir.path())] {
            let e = e.unwrap_err().to_string();
            assert!(e.ends_with(&format!("another node (pid {pid}) is using this data directory")), "{e}");
        }
        drop(node);
        assert!(DataDirLock::exclusive(dir.path()).is_ok());
    }
}
