//! Log output: `tracing` events filtered by `RUST_LOG` when it is set, else by the
//! configuration's `logging.level` (default `info`), in a human format (coloured on a terminal)
//! or as one JSON object per line, to stderr or — as bitmarkd operators expect — to a file
//! rotated by size (`logging.file`, `max_bytes`, `keep`). stdout is left to the commands' JSON.
//!
//! A filter that cannot be understood is an error, never silently `info`: each directive is a
//! level (`error`, `warn`, `info`, `debug`, `trace`, `off`) or `target=level`.

use crate::error::{NodeError, Result};
use std::fs::{File, OpenOptions};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tracing_subscriber::EnvFilter;

/// The level when neither `RUST_LOG` nor `logging.level` says.
pub const DEFAULT_LEVEL: &str = "info";
/// Rotate a log file before it grows past this by default (bitmarkd's 1 MiB is small for a
/// node that logs sync progress).
pub const DEFAULT_MAX_BYTES: u64 = 16 << 20;
/// The smallest `logging.max_bytes`.
pub const MIN_MAX_BYTES: u64 = 4096;
/// Older log files kept by default (bitmarkd's 10).
pub const DEFAULT_KEEP: usize = 10;

/// How the node logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSettings {
    /// The filter: a level, or directives as `RUST_LOG` takes them.
    pub level: String,
    /// The log file (absolute), or none for stderr.
    pub file: Option<PathBuf>,
    /// Rotate before the file grows past this.
    pub max_bytes: u64,
    /// Older files kept, `FILE.1` (newest) to `FILE.<keep>`.
    pub keep: usize,
    /// JSON lines instead of the human format.
    pub json: bool,
}

impl Default for LogSettings {
    fn default() -> LogSettings {
        LogSettings {
            level: DEFAULT_LEVEL.into(),
            file: None,
            max_bytes: DEFAULT_MAX_BYTES,
            keep: DEFAULT_KEEP,
            json: false,
        }
    }
}

const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// Parse a filter: every comma-separated directive must be a level or `target=level`
/// (tracing would take a bare word as a target and show everything it logs).
pub fn parse_filter(text: &str) -> std::result::Result<EnvFilter, String> {
    for directive in text.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let level = directive.rsplit_once('=').map_or(directive, |(_, level)| level);
        if !LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
            return Err(format!("{directive:?}: expected a level ({}) or target=level", LEVELS.join(", ")));
        }
    }
    EnvFilter::builder().parse(text).map_err(|e| format!("{text:?}: {e}"))
}

/// Install the global subscriber. `RUST_LOG`, when set, replaces `settings.level`; a filter
/// that does not parse, or a log file that cannot be opened, is an error. A second call (tests
/// starting several nodes in one process) keeps the first subscriber.
pub fn init(settings: &LogSettings) -> Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(text) => parse_filter(&text).map_err(|e| NodeError::Input(format!("RUST_LOG: {e}")))?,
        Err(_) => parse_filter(&settings.level).map_err(|e| NodeError::Input(format!("logging.level: {e}")))?,
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = match &settings.file {
        Some(path) => {
            let file = RotatingFile::open(path, settings.max_bytes, settings.keep)?;
            let builder = builder.with_writer(Mutex::new(file)).with_ansi(false);
            if settings.json {
                builder.json().with_current_span(false).try_init()
            } else {
                builder.try_init()
            }
        }
        None => {
            let builder = builder.with_writer(std::io::stderr);
            if settings.json {
                builder.json().with_current_span(false).try_init()
            } else {
                builder.with_ansi(std::io::stderr().is_terminal()).try_init()
            }
        }
    };
    drop(result);
    Ok(())
}

/// A log file rotated by size: before a write would take it past `max_bytes`, `FILE.<keep-1>`
/// becomes `FILE.<keep>` ... `FILE` becomes `FILE.1`, and a new `FILE` starts. With `keep` 0
/// the file is started afresh.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: File,
    written: u64,
}

impl RotatingFile {
    /// Open `path` for appending (its directory is created).
    pub fn open(path: &Path, max_bytes: u64, keep: usize) -> Result<RotatingFile> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| NodeError::io(dir.display(), e))?;
        }
        let file = append(path).map_err(|e| NodeError::io(path.display(), e))?;
        let written = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(RotatingFile { path: path.to_path_buf(), max_bytes: max_bytes.max(MIN_MAX_BYTES), keep, file, written })
    }

    fn numbered(&self, n: usize) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        if self.keep == 0 {
            std::fs::remove_file(&self.path)?;
        } else {
            for n in (1..self.keep).rev() {
                let from = self.numbered(n);
                if from.exists() {
                    std::fs::rename(&from, self.numbered(n + 1))?;
                }
            }
            std::fs::rename(&self.path, self.numbered(1))?;
        }
        self.file = append(&self.path)?;
        self.written = 0;
        Ok(())
    }
}

fn append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written > 0 && self.written + buf.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        let n = self.file.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_levels_or_target_levels() {
        for good in ["info", "warn,peer::upstream=debug", "node=trace, error", "OFF"] {
            assert!(parse_filter(good).is_ok(), "{good}");
        }
        for bad in ["verbose", "info,peer=loud", "debugg"] {
            assert!(parse_filter(bad).unwrap_err().contains("expected a level"), "{bad}");
        }
    }

    #[test]
    fn the_file_rotates_by_size_keeping_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log/node.log");
        let mut file = RotatingFile::open(&path, 4096, 2).unwrap();
        let line = [b'x'; 1000];
        for _ in 0..13 {
            file.write_all(&line).unwrap();
        }
        let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        assert_eq!((size(&path), size(&file.numbered(1)), size(&file.numbered(2))), (1000, 4000, 4000));
        assert!(!file.numbered(3).exists(), "only two older files are kept");
        let other = dir.path().join("other.log");
        let mut fresh = RotatingFile::open(&other, 4096, 0).unwrap();
        for _ in 0..5 {
            fresh.write_all(&line).unwrap();
        }
        assert_eq!(size(&other), 1000);
        assert!(!fresh.numbered(1).exists(), "keep 0 keeps nothing");
    }
}
