//! The emulator's runtime and its links: each link is a listening socket whose connections are
//! carried to one upstream address, and a control block the caller's threads change.

use crate::connection;
use crate::faults;
use crate::shape::Shape;
use std::io;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;
use tokio::sync::watch;

/// How long dropping a [`Netem`] waits for its tasks to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// The link emulator: a tokio runtime on one worker thread that runs every link's relay.
///
/// Make links with [`Netem::link`] from ordinary threads (not from inside another tokio
/// runtime). Dropping it stops every link.
pub struct Netem {
    /// Always present until dropped.
    runtime: Option<Runtime>,
}

impl std::fmt::Debug for Netem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Netem").finish_non_exhaustive()
    }
}

impl Netem {
    /// Start the emulator's runtime.
    pub fn new() -> io::Result<Netem> {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).thread_name("netem").enable_all().build()?;
        Ok(Netem { runtime: Some(runtime) })
    }

    /// A link on a free loopback port (127.0.0.1) to `upstream`, shaped by `shape`.
    pub fn link(&self, upstream: SocketAddr, shape: Shape) -> io::Result<Link> {
        self.link_on(SocketAddr::from(([127, 0, 0, 1], 0)), upstream, shape)
    }

    /// A link listening on `listen` (port 0: a free one) to `upstream`.
    pub fn link_on(&self, listen: SocketAddr, upstream: SocketAddr, shape: Shape) -> io::Result<Link> {
        let runtime = self.runtime.as_ref().ok_or_else(|| io::Error::other("the emulator has stopped"))?;
        let std_listener = StdListener::bind(listen)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let control = Arc::new(Control::new(shape));
        let _entered = runtime.enter();
        let listener = TcpListener::from_std(std_listener)?;
        runtime.spawn(accept(listener, upstream, Arc::clone(&control)));
        runtime.spawn(faults::inject(Arc::clone(&control)));
        Ok(Link { addr, upstream, control })
    }
}

impl Drop for Netem {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(SHUTDOWN_GRACE);
        }
    }
}

/// Whether a link carries bytes now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Blocked {
    /// Partitioned: nothing passes until healed.
    pub cut: bool,
    /// Stalled: nothing passes until then.
    pub stalled_until: Option<Instant>,
}

/// What the caller's threads and the link's tasks share.
pub(crate) struct Control {
    pub shape: watch::Sender<Shape>,
    pub blocked: watch::Sender<Blocked>,
    /// Incremented to reset every open connection.
    pub resets: watch::Sender<u64>,
    /// Set when the link is dropped: every task of the link ends.
    pub closed: watch::Sender<bool>,
    pub stats: Counters,
}

impl Control {
    fn new(shape: Shape) -> Control {
        Control {
            shape: watch::Sender::new(shape),
            blocked: watch::Sender::new(Blocked::default()),
            resets: watch::Sender::new(0),
            closed: watch::Sender::new(false),
            stats: Counters::default(),
        }
    }

    /// Reset every open connection.
    pub(crate) fn reset(&self) {
        self.stats.resets.fetch_add(1, Ordering::Relaxed);
        self.resets.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Deliver nothing until `for_` from now (a longer stall already on is kept).
    pub(crate) fn stall(&self, for_: Duration) {
        self.stats.stalls.fetch_add(1, Ordering::Relaxed);
        let until = Instant::now() + for_;
        self.blocked.send_modify(|b| {
            b.stalled_until = Some(b.stalled_until.map_or(until, |t| t.max(until)));
        });
    }
}

/// The link's counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub connections: AtomicU64,
    pub open: AtomicU64,
    pub bytes_up: AtomicU64,
    pub bytes_down: AtomicU64,
    pub resets: AtomicU64,
    pub stalls: AtomicU64,
}

/// What a link has carried and done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Connections accepted.
    pub connections: u64,
    /// Connections open now.
    pub open: u64,
    /// Bytes passed on to the upstream.
    pub bytes_up: u64,
    /// Bytes passed on back to the connecting side.
    pub bytes_down: u64,
    /// Resets of every open connection (asked for or injected).
    pub resets: u64,
    /// Stalls (asked for or injected).
    pub stalls: u64,
}

/// One emulated link: connections to [`Link::addr`] are carried to the upstream address.
/// Dropping it closes the listener and aborts every connection it carries.
pub struct Link {
    addr: SocketAddr,
    upstream: SocketAddr,
    control: Arc<Control>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("addr", &self.addr)
            .field("upstream", &self.upstream)
            .field("shape", &self.shape())
            .field("cut", &self.is_cut())
            .finish()
    }
}

impl Link {
    /// Where to connect instead of the upstream.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the connections go.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// The link's shape now.
    pub fn shape(&self) -> Shape {
        *self.control.shape.borrow()
    }

    /// Change the shape; chunks already read keep the delay they were given.
    pub fn set_shape(&self, shape: Shape) {
        self.control.shape.send_replace(shape);
    }

    /// Partition: nothing passes either way until [`Link::heal`]; connections stay open and
    /// new ones are accepted but not carried through.
    pub fn cut(&self) {
        self.control.blocked.send_modify(|b| b.cut = true);
    }

    /// End a partition: what waited is delivered, held connections are carried through.
    pub fn heal(&self) {
        self.control.blocked.send_modify(|b| b.cut = false);
    }

    /// Whether the link is cut.
    pub fn is_cut(&self) -> bool {
        self.control.blocked.borrow().cut
    }

    /// Deliver nothing either way for `duration` (the connections stay open).
    pub fn stall(&self, duration: Duration) {
        self.control.stall(duration);
    }

    /// Abort every open connection with a TCP reset, both sides.
    pub fn reset(&self) {
        self.control.reset();
    }

    /// The counters so far.
    pub fn stats(&self) -> LinkStats {
        let s = &self.control.stats;
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        LinkStats {
            connections: get(&s.connections),
            open: get(&s.open),
            bytes_up: get(&s.bytes_up),
            bytes_down: get(&s.bytes_down),
            resets: get(&s.resets),
            stalls: get(&s.stalls),
        }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.control.closed.send_replace(true);
    }
}

/// Wait until the link is dropped (`closed` set).
pub(crate) async fn until_closed(closed: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns must not live across an await of the caller's.
    let _ = closed.wait_for(|c| *c).await.map(|_| ());
}

/// Accept connections until the link is dropped; each is carried on its own task.
async fn accept(listener: TcpListener, upstream: SocketAddr, control: Arc<Control>) {
    let mut closed = control.closed.subscribe();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    control.stats.connections.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(connection::carry(client, upstream, Arc::clone(&control)));
                }
                // Out of descriptors and the like: wait a little rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            _ = until_closed(&mut closed) => return,
        }
    }
}
