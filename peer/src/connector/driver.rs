//! The connector's own thread in real time (bitmarkd's `Run`, `docs/protocol.md#run-loop`): a tick
//! every cycle interval, re-armed before processing, and announce commands handled between ticks.
//!
//! Unlike bitmarkd, commands that arrive while a fetch pass runs are handled as soon as the pass
//! ends (passes are bounded by `fetch_blocks_per_cycle`), not after the whole catch-up, and
//! after a pass the machine continues at once instead of waiting for the next tick. Meanwhile
//! they wait in a queue of [`COMMAND_QUEUE`] (bitmarkd's Connector queue holds 50); a sender
//! waits while it is full ([`CommandSender::send`]) or is told so ([`CommandSender::try_send`]).

use super::clients::Command;
use super::machine::{Connector, Pause};
use super::mode::{Mode, ModeHandle};
use super::progress::ProgressHandle;
use super::TARGET;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;
use tracing::info;

/// Announce commands waiting for the connector at most.
pub const COMMAND_QUEUE: usize = 64;

enum Input {
    Command(Command),
    Stop,
}

/// Why [`CommandSender::try_send`] did not queue a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// [`COMMAND_QUEUE`] commands are waiting already.
    #[error("connector command queue full")]
    Full,
    /// The connector has stopped.
    #[error("connector stopped")]
    Stopped,
}

/// A running connector. Dropping it stops the thread (after the pass in progress).
pub struct ConnectorHandle {
    input: SyncSender<Input>,
    progress: ProgressHandle,
    mode: ModeHandle,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<Connector>>,
}

impl ConnectorHandle {
    /// A sender for announce's commands (the Connector bus).
    pub fn commands(&self) -> CommandSender {
        CommandSender(self.input.clone())
    }

    /// The progress signal.
    pub fn progress(&self) -> ProgressHandle {
        self.progress.clone()
    }

    /// The mode cell.
    pub fn mode(&self) -> ModeHandle {
        self.mode.clone()
    }

    /// Ask the thread to stop without waiting: a fetch pass ends within about 100 ms (a
    /// request to a slow peer is left to finish on its own thread).
    pub fn request_stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Only to wake the thread: with the queue full it is busy, and sees the flag.
        let _ = self.input.try_send(Input::Stop);
    }

    /// The connector's state name (for status output).
    pub fn state(&self) -> &'static str {
        self.progress.get().state
    }

    /// Stop the thread and get the connector back (the mode becomes Stopped).
    pub fn stop(mut self) -> Option<Connector> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Option<Connector> {
        self.request_stop();
        let connector = self.thread.take().and_then(|t| t.join().ok());
        self.mode.set(Mode::Stopped);
        connector
    }
}

impl Drop for ConnectorHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Sends announce commands to a running connector.
#[derive(Clone)]
pub struct CommandSender(SyncSender<Input>);

impl CommandSender {
    /// Queue `command`, waiting while [`COMMAND_QUEUE`] commands are waiting already (the
    /// connector takes them between passes); false when the connector has stopped.
    pub fn send(&self, command: Command) -> bool {
        self.0.send(Input::Command(command)).is_ok()
    }

    /// Queue `command` if there is room, without waiting.
    pub fn try_send(&self, command: Command) -> Result<(), QueueError> {
        self.0.try_send(Input::Command(command)).map_err(|e| match e {
            TrySendError::Full(_) => QueueError::Full,
            TrySendError::Disconnected(_) => QueueError::Stopped,
        })
    }
}

/// Run `connector` on its own thread.
pub fn spawn(connector: Connector) -> std::io::Result<ConnectorHandle> {
    let (input, inbox) = mpsc::sync_channel(COMMAND_QUEUE);
    let (progress, mode, stopping) = (connector.progress(), connector.mode(), connector.stopper());
    let thread = std::thread::Builder::new().name("connector".into()).spawn(move || run(connector, &inbox))?;
    Ok(ConnectorHandle { input, progress, mode, stopping, thread: Some(thread) })
}

fn run(mut connector: Connector, inbox: &Receiver<Input>) -> Connector {
    info!(target: TARGET, "starting");
    let interval = connector.config().cycle_interval();
    let stopping = connector.stopper();
    let mut tick = Instant::now() + interval;
    while !stopping.load(Ordering::SeqCst) {
        let wait = tick.saturating_duration_since(Instant::now());
        match inbox.recv_timeout(wait) {
            Ok(Input::Command(c)) => {
                let _ = connector.command(c);
                continue;
            }
            Ok(Input::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
        tick = Instant::now() + interval;
        while connector.process(Instant::now()) == Pause::Again {
            loop {
                if stopping.load(Ordering::SeqCst) {
                    info!(target: TARGET, "stopped");
                    return connector;
                }
                match inbox.try_recv() {
                    Ok(Input::Command(c)) => {
                        let _ = connector.command(c);
                    }
                    Ok(Input::Stop) => {
                        info!(target: TARGET, "stopped");
                        return connector;
                    }
                    Err(_) => break,
                }
            }
        }
    }
    info!(target: TARGET, "stopped");
    connector
}
