//! When the listener's socket thread may sleep, and on what: libzmq's own signals, with a few
//! system calls per request instead of `zmq_poll`'s many.
//!
//! # Why not `zmq_poll`
//!
//! Asking a libzmq socket whether it has a message (`ZMQ_EVENTS`, or a receive that finds none)
//! makes it read its command mailbox: a `getpid` and a `poll` system call. `zmq_poll` asks every
//! socket it is given before it sleeps, and again when it wakes, on top of its own `poll` calls;
//! around every `N` that was more than 15 system calls on the socket thread, against 5 for a bare
//! CURVE echo that blocks in one receive.
//!
//! # What is tracked instead
//!
//! Each libzmq socket has a file descriptor (`ZMQ_FD`) that becomes readable when a command
//! reaches its mailbox, e.g. "a pipe has messages again". Once a receive has returned `EAGAIN`,
//! the socket has read its mailbox and has nothing: whatever comes next signals the descriptor.
//! So a socket is *unchecked* — it may hold messages that will not signal — from the moment its
//! descriptor is readable, or something was sent on it (libzmq reads the mailbox during sends
//! now and then, and can take a "messages again" command there), until a receive on it returns
//! `EAGAIN`. The thread sleeps, in one `poll` of the descriptors, only when every socket is
//! checked.

/// The sockets of the socket thread, by index, and which are unchecked.
pub(crate) struct Readiness {
    items: Vec<zmq::PollItem<'static>>,
    unchecked: Vec<bool>,
}

impl Readiness {
    /// Track `sockets`; every one starts unchecked.
    pub fn new<'a>(sockets: impl IntoIterator<Item = &'a zmq::Socket>) -> zmq::Result<Readiness> {
        let items = sockets
            .into_iter()
            .map(|socket| Ok(zmq::PollItem::from_fd(socket.get_fd()?, zmq::POLLIN)))
            .collect::<zmq::Result<Vec<_>>>()?;
        let unchecked = vec![true; items.len()];
        Ok(Readiness { items, unchecked })
    }

    /// Whether socket `k` may hold messages: receive from it until `EAGAIN`.
    pub fn is_unchecked(&self, k: usize) -> bool {
        self.unchecked.get(k).copied().unwrap_or(false)
    }

    /// A receive on socket `k` returned `EAGAIN` (`drained`), or stopped before (not `drained`).
    pub fn received(&mut self, k: usize, drained: bool) {
        if let Some(unchecked) = self.unchecked.get_mut(k) {
            *unchecked = !drained;
        }
    }

    /// Something was sent on socket `k`.
    pub fn sent(&mut self, k: usize) {
        if let Some(unchecked) = self.unchecked.get_mut(k) {
            *unchecked = true;
        }
    }

    /// Whether any socket is unchecked (then the thread must not sleep).
    pub fn any_unchecked(&self) -> bool {
        self.unchecked.contains(&true)
    }

    /// Sleep until a socket's descriptor is readable or `timeout` milliseconds have passed (-1:
    /// no limit), and mark the readable ones unchecked.
    pub fn wait(&mut self, timeout: i64) -> zmq::Result<()> {
        zmq::poll(&mut self.items, timeout)?;
        for (item, unchecked) in self.items.iter().zip(self.unchecked.iter_mut()) {
            *unchecked |= item.is_readable();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Readiness;
    use std::time::{Duration, Instant};

    /// A PULL socket bound to `endpoint` and a PUSH connected to it.
    fn pipe(context: &zmq::Context, endpoint: &str) -> (zmq::Socket, zmq::Socket) {
        let pull = context.socket(zmq::PULL).unwrap();
        pull.bind(endpoint).unwrap();
        let push = context.socket(zmq::PUSH).unwrap();
        push.connect(endpoint).unwrap();
        (pull, push)
    }

    /// Receive from `socket` until `EAGAIN`: the messages taken.
    fn drain(socket: &zmq::Socket) -> usize {
        std::iter::from_fn(|| socket.recv_bytes(zmq::DONTWAIT).ok()).count()
    }

    #[test]
    fn a_message_wakes_the_sleeper_and_marks_its_socket() {
        let context = zmq::Context::new();
        let (first, _first_push) = pipe(&context, "inproc://readiness-a");
        let (second, second_push) = pipe(&context, "inproc://readiness-b");
        let mut readiness = Readiness::new([&first, &second]).unwrap();
        assert!(readiness.is_unchecked(0) && readiness.is_unchecked(1), "everything is unchecked at first");
        assert_eq!((drain(&first), drain(&second)), (0, 0));
        readiness.received(0, true);
        readiness.received(1, true);
        assert!(!readiness.any_unchecked());

        // Nothing comes: the wait times out and nothing is marked.
        let began = Instant::now();
        readiness.wait(30).unwrap();
        assert!(began.elapsed() >= Duration::from_millis(25));
        assert!(!readiness.any_unchecked());

        // A message on the second socket wakes a wait without limit, and marks that socket.
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            second_push.send("hello", 0).unwrap();
            second_push
        });
        readiness.wait(-1).unwrap();
        assert!(readiness.is_unchecked(1));
        assert_eq!(drain(&second), 1);
        readiness.received(1, true);
        drop(sender.join().unwrap());
    }

    #[test]
    fn a_send_or_a_receive_stopped_short_leaves_a_socket_unchecked() {
        let context = zmq::Context::new();
        let (pull, _push) = pipe(&context, "inproc://readiness-c");
        let mut readiness = Readiness::new([&pull]).unwrap();
        readiness.received(0, true);
        readiness.sent(0);
        assert!(readiness.any_unchecked());
        readiness.received(0, false);
        assert!(readiness.is_unchecked(0));
        readiness.received(0, true);
        assert!(!readiness.is_unchecked(0));
        assert!(!readiness.is_unchecked(7), "no such socket");
    }
}
