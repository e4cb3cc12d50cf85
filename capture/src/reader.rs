//! Reading capture files one line at a time (a file is never loaded whole), numbering the
//! lines, and turning each into a [`Line`] or the reason it is not one.

use crate::error::{CaptureError, Result};
use crate::format::{self, Line};
use serde::Serialize;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Take};
use std::path::{Path, PathBuf};

/// The longest line read: a record of 21 frames of libzmq's largest (5 MB), in hex, fits.
/// A longer line is reported as damaged and skipped.
pub const MAX_LINE_BYTES: u64 = 256 << 20;

/// A line that is not one of the format's lines: where it is and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Damaged {
    /// The file.
    pub file: String,
    /// The line number, from 1.
    pub line: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// The lines of one capture file, in order: `(line number, line or why not)`. Blank lines are
/// skipped; a read error ends the file after being reported as its last line. Only what the
/// file held when it was opened is read: a file still being written (even by the node a replay
/// is talking to) ends there.
pub struct CaptureReader {
    path: PathBuf,
    reader: BufReader<Take<File>>,
    line: u64,
    done: bool,
}

impl CaptureReader {
    /// Open `path`.
    pub fn open(path: &Path) -> Result<CaptureReader> {
        let file = File::open(path).map_err(|e| CaptureError::io(path.display(), e))?;
        let length = file.metadata().map_err(|e| CaptureError::io(path.display(), e))?.len();
        let reader = BufReader::with_capacity(1 << 16, file.take(length));
        Ok(CaptureReader { path: path.to_path_buf(), reader, line: 0, done: false })
    }

    /// The file read.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where a problem on `line` is, for reports.
    pub fn damaged(&self, line: u64, reason: impl Into<String>) -> Damaged {
        Damaged { file: self.path.display().to_string(), line, reason: reason.into() }
    }

    /// The next line's bytes without its newline, `None` at the end.
    fn next_bytes(&mut self) -> Option<std::io::Result<std::result::Result<Vec<u8>, String>>> {
        let mut bytes = Vec::new();
        match (&mut self.reader).take(MAX_LINE_BYTES + 1).read_until(b'\n', &mut bytes) {
            Ok(0) => None,
            Ok(_) if bytes.last() == Some(&b'\n') => {
                bytes.pop();
                Some(Ok(Ok(bytes)))
            }
            Ok(_) if bytes.len() as u64 > MAX_LINE_BYTES => {
                Some(self.skip_line().map(|()| Err(format!("line longer than {MAX_LINE_BYTES} bytes"))))
            }
            // The last line, without a newline.
            Ok(_) => Some(Ok(Ok(bytes))),
            Err(e) => Some(Err(e)),
        }
    }

    /// Discard the rest of the current line.
    fn skip_line(&mut self) -> std::io::Result<()> {
        loop {
            let available = self.reader.fill_buf()?;
            if available.is_empty() {
                return Ok(());
            }
            match available.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.reader.consume(i + 1);
                    return Ok(());
                }
                None => {
                    let n = available.len();
                    self.reader.consume(n);
                }
            }
        }
    }
}

impl Iterator for CaptureReader {
    type Item = (u64, std::result::Result<Line, String>);

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let bytes = self.next_bytes()?;
            self.line += 1;
            return Some(match bytes {
                Ok(Ok(bytes)) if bytes.iter().all(u8::is_ascii_whitespace) => continue,
                Ok(Ok(bytes)) => (self.line, format::parse_line(&bytes).map_err(|e| e.to_string())),
                Ok(Err(reason)) => (self.line, Err(reason)),
                Err(e) => {
                    self.done = true;
                    (self.line, Err(format!("read failed: {e}")))
                }
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_numbered_and_damaged_ones_say_why() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("c.jsonl");
        let good = r#"{"kind":"dropped","seq":1,"time":2,"count":3}"#;
        let text = format!("{good}\n\n{}\n{good}\r\n{{\"kind\":\"exchange\",\"seq\":2,\"ti", &good[..20]);
        std::fs::write(&path, text).unwrap();
        let read: Vec<(u64, bool)> = CaptureReader::open(&path).unwrap().map(|(n, l)| (n, l.is_ok())).collect();
        assert_eq!(read, [(1, true), (3, false), (4, true), (5, false)]);
        let (_, last) = CaptureReader::open(&path).unwrap().last().unwrap();
        assert!(last.unwrap_err().contains("EOF"));
        assert!(CaptureReader::open(&tmp.path().join("missing")).is_err());
    }
}
