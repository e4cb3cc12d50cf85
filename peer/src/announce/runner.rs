//! A thread that drives an [`Announcer`]: DNS bootstrap when due, [`Announcer::tick`], commands
//! from other subsystems, periodic and final `peers.json` backups. Every action goes to an
//! [`ActionSink`] the node provides (the broadcast bus and the connector's queue), which must
//! not block.

use super::announcer::{Action, Announcer, Command};
use super::bootstrap::Bootstrap;
use super::timing::INTERVAL;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};
use tracing::warn;

const TARGET: &str = "peer::announce";

/// Commands waiting for the runner (bitmarkd's Announce queue holds 50). Senders never block:
/// a command that does not fit is dropped and counted.
pub const COMMAND_QUEUE: usize = 64;

/// Where the runner's actions go.
pub trait ActionSink: Send {
    /// Carry out `action` without blocking for long.
    fn act(&mut self, action: Action);
}

impl<F: FnMut(Action) + Send> ActionSink for F {
    fn act(&mut self, action: Action) {
        self(action)
    }
}

/// Runner settings.
#[derive(Clone, Debug)]
pub struct RunnerConfig {
    /// Longest sleep between two looks at the clock. The runner sleeps until the next due time
    /// anyway; this bounds how late it notices a stepped or virtual clock, and a stop request
    /// lost to a full command queue.
    pub poll: Duration,
    /// Where to write `peers.json` every [`INTERVAL`] and at stop (bitmarkd writes it only at
    /// shutdown); `None` for no backups.
    pub backup: Option<PathBuf>,
}

impl Default for RunnerConfig {
    fn default() -> RunnerConfig {
        RunnerConfig { poll: Duration::from_secs(1), backup: None }
    }
}

enum Message {
    Command(Command),
    Stop,
}

/// A cheap, clonable way to send [`Command`]s to a running runner.
#[derive(Clone)]
pub struct CommandSender {
    tx: SyncSender<Message>,
    dropped: Arc<AtomicU64>,
}

impl CommandSender {
    /// Queue `command`; false (and counted) if the queue is full or the runner has stopped.
    pub fn send(&self, command: Command) -> bool {
        let sent = self.tx.try_send(Message::Command(command)).is_ok();
        if !sent {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// Commands dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The running thread. Dropping it stops the thread and waits for it.
pub struct Runner {
    commands: CommandSender,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Runner {
    /// Start the thread. `bootstrap` is `None` for `nodes = none`.
    pub fn spawn(
        announcer: Arc<Announcer>,
        bootstrap: Option<Bootstrap>,
        sink: Box<dyn ActionSink>,
        config: RunnerConfig,
    ) -> std::io::Result<Runner> {
        let (tx, rx) = sync_channel(COMMAND_QUEUE);
        let stop = Arc::new(AtomicBool::new(false));
        let worker = Worker { announcer, bootstrap, sink, config, stop: stop.clone() };
        let thread = std::thread::Builder::new().name("announce".into()).spawn(move || worker.run(&rx))?;
        Ok(Runner { commands: CommandSender { tx, dropped: Arc::default() }, stop, thread: Some(thread) })
    }

    /// A sender for commands (`reconnect`, `updatetime`).
    pub fn commands(&self) -> CommandSender {
        self.commands.clone()
    }

    /// Stop the thread (after a final backup, if configured) and wait for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake it; if the queue is full it sees the flag within `poll`.
        if let Err(TrySendError::Full(_)) = self.commands.tx.try_send(Message::Stop) {
            warn!(target: TARGET, "command queue full at stop");
        }
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                warn!(target: TARGET, "announce thread panicked");
            }
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Worker {
    announcer: Arc<Announcer>,
    bootstrap: Option<Bootstrap>,
    sink: Box<dyn ActionSink>,
    config: RunnerConfig,
    stop: Arc<AtomicBool>,
}

impl Worker {
    fn run(mut self, rx: &Receiver<Message>) {
        let clock = self.announcer.clock();
        let mut next_backup = clock.wall() + INTERVAL;
        while !self.stop.load(Ordering::SeqCst) {
            let now = clock.wall();
            if let Some(bootstrap) = self.bootstrap.as_mut().filter(|b| b.is_due(now)) {
                // Failures are logged and rescheduled inside.
                let _ = bootstrap.run(&self.announcer, now);
            }
            for action in self.announcer.tick(now) {
                self.sink.act(action);
            }
            if now >= next_backup {
                next_backup = now + INTERVAL;
                self.backup();
            }
            let until = |due: Option<SystemTime>| due.map(|due| due.duration_since(now).unwrap_or_default());
            let wait = [until(self.announcer.next_due()), until(self.bootstrap.as_ref().and_then(Bootstrap::next_due))]
                .into_iter()
                .flatten()
                .fold(self.config.poll, Duration::min);
            match rx.recv_timeout(wait) {
                Ok(Message::Command(command)) => {
                    for action in self.announcer.handle(command, clock.wall()) {
                        self.sink.act(action);
                    }
                }
                Ok(Message::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
        self.backup();
    }

    fn backup(&self) {
        if let Some(path) = &self.config.backup {
            if let Err(e) = self.announcer.backup(path) {
                warn!(target: TARGET, error = %e, "peers.json backup failed");
            }
        }
    }
}
