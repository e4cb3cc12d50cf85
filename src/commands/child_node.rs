//! `bitmark-node run` child processes, for the commands that start real nodes: `testnet`, and
//! the benches that measure a node's memory (`bench memory`, `bench soak`).
//!
//! A child is this same executable with `run`, in its own process group (a terminal's Ctrl-C
//! reaches only the parent, which then stops its children), killed by the kernel if the parent
//! dies (`PR_SET_PDEATHSIG`) unless it is to be kept. Its first stdout line is the ready report
//! (`listening`, `status`, `publicKey`...).

use crate::error::{NodeError, Result};
use bitmark_peer::transport::{ClientConfig, CurveKeys, ZmqClient};
use serde_json::Value;
use std::ffi::OsStr;
use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a child may take to print its ready line.
pub const READY_LIMIT: Duration = Duration::from_secs(30);
/// How long a child may take to exit after SIGTERM before it is killed (`run` promises 5 s).
pub const STOP_GRACE: Duration = Duration::from_secs(7);
/// Connect/read limit of one HTTP request to a child: a busy node must not stall the parent.
pub const HTTP_LIMIT: Duration = Duration::from_secs(2);

/// `bitmark-node run <args>` with stdout piped and stderr to `log`, isolated as described in
/// the module documentation (`keep`: survive the parent).
pub fn run_command<I, S>(args: I, log: &Path, keep: bool) -> Result<Command>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let exe = std::env::current_exe().map_err(|e| NodeError::io("current executable", e))?;
    let log_file = std::fs::File::create(log).map_err(|e| NodeError::io(log.display(), e))?;
    let mut command = Command::new(exe);
    command.arg("run").args(args);
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::from(log_file));
    isolate(&mut command, keep);
    Ok(command)
}

/// Put the child in its own process group and, unless it is to be kept, have the kernel kill
/// it when the parent dies.
fn isolate(command: &mut Command, keep: bool) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
    if !keep {
        // SAFETY: prctl is async-signal-safe and touches only the calling (child) process.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
}

/// Send `sig` to a child (failure, when it is already gone, is harmless).
pub fn signal(child: &Child, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) with our own child's pid.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Kill a child outright and reap it.
pub fn terminate(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// The child's first stdout line as JSON, within [`READY_LIMIT`]; the rest of its stdout is
/// drained so that it never blocks on a full pipe.
pub fn read_ready(child: &mut Child) -> std::result::Result<Value, String> {
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let line = rx.recv_timeout(READY_LIMIT).map_err(|_| format!("no ready line within {READY_LIMIT:?}"))?;
    let ready: Value = serde_json::from_str(line.trim()).map_err(|e| format!("no ready line ({e}): {line:?}"))?;
    if let Some(error) = ready.get("error") {
        return Err(format!("refused to start: {error}"));
    }
    Ok(ready)
}

/// `GET path` on a node's status server, parsed as JSON; None if it did not answer in time
/// or not with JSON.
pub fn get_json(addr: SocketAddr, path: &str) -> Option<Value> {
    let mut stream = TcpStream::connect_timeout(&addr, HTTP_LIMIT).ok()?;
    stream.set_read_timeout(Some(HTTP_LIMIT)).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let (_, body) = text.split_once("\r\n\r\n")?;
    serde_json::from_str(body).ok()
}

/// A process's resident memory, from `/proc/<pid>/status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// `VmRSS`: resident now, bytes.
    pub rss: u64,
    /// `VmHWM`: the peak resident size so far, bytes.
    pub peak: u64,
}

/// The memory of process `pid` (None when it is gone or `/proc` is not Linux's).
pub fn memory_of(pid: u32) -> Option<Memory> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .and_then(|v| v.trim().strip_suffix("kB"))
            .and_then(|kb| kb.trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
    };
    Some(Memory { rss: field("VmRSS")?, peak: field("VmHWM")? })
}

/// One running child node, stopped (SIGTERM, then SIGKILL after [`STOP_GRACE`]) when dropped.
pub struct ChildNode {
    child: Child,
    /// The ready report.
    pub ready: Value,
    /// Where its log goes.
    pub log: PathBuf,
}

impl ChildNode {
    /// Start `bitmark-node run <args>` logging to `log` and wait for its ready line.
    pub fn start<I, S>(args: I, log: &Path) -> Result<ChildNode>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut child = run_command(args, log, false)?.spawn().map_err(|e| NodeError::io("starting a node", e))?;
        match read_ready(&mut child) {
            Ok(ready) => Ok(ChildNode { child, ready, log: log.to_path_buf() }),
            Err(e) => {
                terminate(&mut child);
                Err(NodeError::Io(format!("{e} (log: {})", log.display())))
            }
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its first peer listener.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.ready.pointer("/listening/0")?.as_str()?.parse().ok()
    }

    /// Its CURVE public key.
    pub fn public_key(&self) -> Option<[u8; 32]> {
        hex::decode(self.ready.get("publicKey")?.as_str()?).ok()?.try_into().ok()
    }

    /// `--connect` text for a node that is to sync from this one.
    pub fn connect_arg(&self) -> Option<String> {
        Some(format!("{}@{}", self.ready.get("publicKey")?.as_str()?, self.peer_addr()?))
    }

    /// A CURVE client of its listener on `chain`, with 20 s send and receive timeouts.
    pub fn client(&self, chain: bitmark_record::Chain) -> Result<ZmqClient> {
        let (Some(addr), Some(key)) = (self.peer_addr(), self.public_key()) else {
            return Err(NodeError::Io(format!("no listener in the ready line {}", self.ready)));
        };
        let mut config = ClientConfig::new(chain, CurveKeys::generate()?);
        config.send_timeout = Duration::from_secs(20);
        config.receive_timeout = Duration::from_secs(20);
        let mut client = ZmqClient::new(&zmq::Context::new(), config);
        client.connect(addr, key)?;
        Ok(client)
    }

    /// `GET path` on its status server (None without one, or no answer).
    pub fn get(&self, path: &str) -> Option<Value> {
        get_json(self.ready.get("status")?.as_str()?.parse().ok()?, path)
    }

    /// Its memory now; an error naming the log if it has exited.
    pub fn memory(&mut self) -> Result<Memory> {
        if let Ok(Some(exit)) = self.child.try_wait() {
            return Err(NodeError::Io(format!("node exited ({exit}); log: {}", self.log.display())));
        }
        memory_of(self.pid()).ok_or_else(|| NodeError::Io(format!("no /proc/{}/status", self.pid())))
    }

    /// Poll `/status` until `done` holds of it, for at most `limit`.
    pub fn wait_for(&mut self, limit: Duration, mut done: impl FnMut(&Value) -> bool) -> Result<Value> {
        let deadline = Instant::now() + limit;
        let mut last = Value::Null;
        while Instant::now() < deadline {
            self.memory()?; // fails if it exited
            if let Some(status) = self.get("/status") {
                if done(&status) {
                    return Ok(status);
                }
                last = status;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        Err(NodeError::Io(format!("timed out after {limit:?}; last status {last}; log: {}", self.log.display())))
    }

    /// SIGTERM, and SIGKILL if it has not exited after [`STOP_GRACE`].
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return; // reaped: its pid may belong to another process by now
        }
        signal(&self.child, libc::SIGTERM);
        let deadline = Instant::now() + STOP_GRACE;
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        terminate(&mut self.child);
    }
}

impl Drop for ChildNode {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_memory_is_readable() {
        let m = memory_of(std::process::id()).unwrap();
        assert!(m.rss > 0 && m.peak >= m.rss, "{m:?}");
        assert_eq!(memory_of(u32::MAX), None);
    }
}
