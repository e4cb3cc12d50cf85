//! One carried connection: held while the link is cut, connected to the upstream after the
//! round trip a TCP handshake costs, then a delay line each way until either side closes, a
//! side breaks, or the link resets it.

use crate::link::{until_closed, Control};
use crate::shape::{Rng, Shape};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{sleep, sleep_until, timeout, Instant};

/// Bytes read at a time.
const CHUNK_BYTES: usize = 16 * 1024;
/// Chunks in flight each way per connection (at most 4 MiB): the link's buffer. When it is
/// full the relay stops reading, and TCP's flow control pushes back on the sender.
const QUEUE_CHUNKS: usize = 256;
/// How long connecting to the upstream may take.
const CONNECT_LIMIT: Duration = Duration::from_secs(10);

/// Bytes read from one side, and when.
struct Chunk {
    bytes: Vec<u8>,
    read_at: Instant,
}

/// How a carried connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Both sides closed: their FINs were passed on.
    Closed,
    /// A side broke, the link was reset or dropped: both sides get a TCP reset.
    Aborted,
}

/// Counts the connection as open while alive.
struct Open<'c>(&'c AtomicU64);

impl<'c> Open<'c> {
    fn new(counter: &'c AtomicU64) -> Open<'c> {
        counter.fetch_add(1, Ordering::Relaxed);
        Open(counter)
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Carry `client`'s connection to `upstream` through the link.
pub(crate) async fn carry(mut client: TcpStream, upstream: SocketAddr, control: Arc<Control>) {
    let _open = Open::new(&control.stats.open);
    let seed = control.shape.borrow().faults.seed ^ control.stats.connections.load(Ordering::Relaxed);
    let mut resets = control.resets.subscribe();
    resets.borrow_and_update();
    let mut closed = control.closed.subscribe();
    let connecting = async {
        wait_open(&control).await;
        let round_trip = control.shape.borrow().round_trip();
        sleep(round_trip).await;
        timeout(CONNECT_LIMIT, TcpStream::connect(upstream)).await
    };
    let mut server = tokio::select! {
        connected = connecting => match connected {
            Ok(Ok(server)) => server,
            _ => return abort(&client),
        },
        _ = resets.changed() => return abort(&client),
        _ = until_closed(&mut closed) => return abort(&client),
    };
    let _ = (client.set_nodelay(true), server.set_nodelay(true));
    let outcome = {
        let (mut client_read, mut client_write) = client.split();
        let (mut server_read, mut server_write) = server.split();
        let up = pipe(&mut client_read, &mut server_write, &control, Rng::new(seed), &control.stats.bytes_up);
        let down = pipe(&mut server_read, &mut client_write, &control, Rng::new(!seed), &control.stats.bytes_down);
        tokio::pin!(up, down);
        let (mut up_done, mut down_done) = (false, false);
        loop {
            tokio::select! {
                ended = &mut up, if !up_done => match ended {
                    Ok(()) => up_done = true,
                    Err(_) => break Outcome::Aborted,
                },
                ended = &mut down, if !down_done => match ended {
                    Ok(()) => down_done = true,
                    Err(_) => break Outcome::Aborted,
                },
                _ = resets.changed() => break Outcome::Aborted,
                _ = until_closed(&mut closed) => break Outcome::Aborted,
            }
            if up_done && down_done {
                break Outcome::Closed;
            }
        }
    };
    if outcome == Outcome::Aborted {
        abort(&client);
        abort(&server);
    }
}

/// Make the coming close of `stream` a TCP reset (`SO_LINGER` of zero).
fn abort(stream: &TcpStream) {
    let _ = stream.set_zero_linger();
}

/// Wait until the link is neither cut nor stalled (at once if it is open, or if the link is
/// gone).
pub(crate) async fn wait_open(control: &Control) {
    let mut blocked = control.blocked.subscribe();
    loop {
        let now = *blocked.borrow_and_update();
        if now.cut {
            if blocked.changed().await.is_err() {
                return;
            }
            continue;
        }
        match now.stalled_until {
            Some(until) if until > std::time::Instant::now() => {
                tokio::select! {
                    _ = sleep_until(Instant::from_std(until)) => {}
                    changed = blocked.changed() => if changed.is_err() { return },
                }
            }
            _ => return,
        }
    }
}

/// One direction: what is read from `src` is written to `dst` at the time the link's shape
/// says. Ends when `src`'s end of stream has been passed on (Ok), or at the first error of
/// either side.
async fn pipe<R, W>(src: &mut R, dst: &mut W, control: &Control, mut rng: Rng, delivered: &AtomicU64) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let (queue, mut chunks) = mpsc::channel::<Chunk>(QUEUE_CHUNKS);
    let reading = async move {
        let mut buffer = vec![0u8; CHUNK_BYTES];
        loop {
            let n = src.read(&mut buffer).await?;
            let bytes = buffer.get(..n).unwrap_or_default().to_vec();
            if queue.send(Chunk { bytes, read_at: Instant::now() }).await.is_err() || n == 0 {
                return Ok::<(), io::Error>(());
            }
        }
    };
    let writing = async move {
        // When the link has finished sending the previous chunk (bandwidth).
        let mut free_at = Instant::now();
        while let Some(chunk) = chunks.recv().await {
            let shape: Shape = *control.shape.borrow();
            let due = (chunk.read_at + shape.delay + rng.up_to(shape.jitter)).max(free_at);
            sleep_until(due).await;
            wait_open(control).await;
            free_at = Instant::now().max(due) + shape.serialisation(chunk.bytes.len());
            sleep_until(free_at).await;
            if chunk.bytes.is_empty() {
                dst.shutdown().await?;
                return Ok(());
            }
            // Counted before the write, so that a reader who has the bytes sees them counted.
            delivered.fetch_add(chunk.bytes.len() as u64, Ordering::Relaxed);
            dst.write_all(&chunk.bytes).await?;
        }
        Ok(())
    };
    tokio::try_join!(reading, writing).map(|_| ())
}
