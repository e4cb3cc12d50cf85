//! The connector's own thread in real time (bitmarkd's `Run`, `docs/protocol.md#run-loop`): a tick
//! every cycle interval, re-armed before processing, and announce commands handled between ticks.
//!
//! Unlike bitmarkd, commands that arrive while a fetch pass runs are handled as soon as the pass
//! ends (passes are bounded by `fetch_blocks_per_cycle`), not after the whole catch-up, and
//! after a pass the machine continues at once instead of waiting for the next tick.

use super::clients::Command;
use super::machine::{Connector, Pause};
use super::mode::{Mode, ModeHandle};
use super::progress::ProgressHandle;
use super::TARGET;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;
use tracing::info;

enum Input {
    Command(Command),
    Stop,
}

/// A running connector. Dropping it stops the thread (after the pass in progress).
pub struct ConnectorHandle {
    input: Sender<Input>,
    progress: ProgressHandle,
    mode: ModeHandle,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<Connector>>,
}

impl ConnectorHandle {
    /// A sender for announce's commands (the Connector bus). Never blocks.
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
        let _ = self.input.send(Input::Stop);
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
pub struct CommandSender(Sender<Input>);

impl CommandSender {
    /// Queue `command`; false when the connector has stopped.
    pub fn send(&self, command: Command) -> bool {
        self.0.send(Input::Command(command)).is_ok()
    }
}

/// Run `connector` on its own thread.
pub fn spawn(connector: Connector) -> std::io::Result<ConnectorHandle> {
    let (input, inbox) = mpsc::channel();
    let (progress, mode, stopping) = (connector.progress(), connector.mode(), connector.stopper());
    let thread = std::thread::Builder::new().name("connector".into()).spawn(move || run(connector, &inbox))?;
    Ok(ConnectorHandle { input, progress, mode, stopping, thread: Some(thread) })
}

fn run(mut connector: Connector, inbox: &Receiver<Input>) -> Connector {
    info!(target: TARGET, "starting");
    let interval = connector.config().cycle_interval();
    let mut tick = Instant::now() + interval;
    loop {
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
