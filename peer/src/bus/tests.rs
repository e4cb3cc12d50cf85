//! The bus against bitmarkd's `messagebus/queue_test.go` and our additions: dedup window,
//! back-pressure without blocking, block displacement, closing.

use super::*;
use crate::wire::Request;
use bitmark_record::Chain;
use std::sync::atomic::Ordering;
use std::thread;

fn other(command: &str, param: &[u8]) -> Push {
    Push::Other { command: command.as_bytes().to_vec(), params: vec![param.to_vec()] }
}

fn numbered(i: u32) -> Push {
    Push::Transfer(i.to_be_bytes().to_vec())
}

fn block(i: u32) -> Push {
    Push::Block(i.to_be_bytes().to_vec())
}

fn drain(sub: &Subscriber) -> Vec<Push> {
    std::iter::from_fn(|| sub.try_recv()).map(|item| (*item).clone()).collect()
}

/// bitmarkd TestBroadcast: nothing reaches a consumer that subscribes later; ten sends of the
/// same item reach each of five consumers once, and so does a resend right after.
#[test]
fn bitmarkd_broadcast() {
    let bus = Bus::new();
    for c in ["c1", "c2", "c3"] {
        bus.send(other(&format!("ignored:{c}"), b""));
    }
    let subs: Vec<Subscriber> = (0..5).map(|i| bus.subscribe(format!("l{i}"), 4)).collect();
    for c in ["c1", "c2", "c3"] {
        for _ in 0..10 {
            bus.send(other(c, b""));
        }
    }
    for c in ["c1", "c2", "c3"] {
        assert_eq!(bus.send(other(c, b"")), Sent::Duplicate);
    }
    for sub in &subs {
        let commands: Vec<Vec<u8>> = drain(sub).iter().map(|p| p.command().to_vec()).collect();
        assert_eq!(commands, [b"c1".to_vec(), b"c2".to_vec(), b"c3".to_vec()]);
    }
    assert_eq!(bus.stats(), BusStats { sent: 36, duplicates: 30, consumers: 5 });
}

/// bitmarkd TestQueueOverflow: random non-block items leave the last slot free; a block takes it.
#[test]
fn bitmarkd_queue_overflow() {
    let bus = Bus::new();
    let sub = bus.subscribe("q", 15);
    let commands = ["assets", "issues", "transfer", "proof", "rpc", "peer"];
    for i in 0..30u32 {
        let command = commands.get(i as usize % commands.len()).unwrap();
        bus.send(Push::parse(command.as_bytes(), &[i.to_be_bytes().repeat(i as usize % 7 + 1)]));
    }
    assert_eq!(sub.len(), 14);
    assert_eq!(bus.send(Push::Block(vec![0x11, 0x99])), Sent::Queued { delivered: 1, dropped: 0 });
    assert_eq!(sub.len(), 15);
    assert!(drain(&sub).contains(&Push::Block(vec![0x11, 0x99])));
    assert_eq!(sub.stats(), QueueStats { queued: 15, dropped: 16, displaced: 0, discarded: 0 });
}

#[test]
fn dedup_window_is_the_last_100() {
    let bus = Bus::new();
    let sub = bus.subscribe("q", 1000);
    bus.send(numbered(0));
    for i in 1..DEDUP_WINDOW as u32 {
        bus.send(numbered(i));
    }
    // 100 remembered: 0 is still among them.
    assert_eq!(bus.send(numbered(0)), Sent::Duplicate);
    bus.send(numbered(100));
    // 0 has now left the window.
    assert_eq!(bus.send(numbered(0)), Sent::Queued { delivered: 1, dropped: 0 });
    assert_eq!(sub.len(), 102);
}

#[test]
fn the_hash_is_bitmarkds() {
    let peer = Push::Peer { public_key: vec![1; 32], listeners: vec![2; 19], timestamp: 0x0102 };
    let mut hasher = Sha3_256::new();
    hasher.update(b"peer");
    hasher.update([1; 32]);
    hasher.update([2; 19]);
    hasher.update([0, 0, 0, 0, 0, 0, 1, 2]);
    assert_eq!(item_hash(&peer), <[u8; 32]>::from(hasher.finalize()));
    // Plain concatenation, as bitmarkd: moving a frame boundary gives the same hash.
    let a = Push::Other { command: b"ab".to_vec(), params: vec![b"c".to_vec(), b"de".to_vec()] };
    let b = Push::Other { command: b"a".to_vec(), params: vec![b"bcd".to_vec(), b"e".to_vec()] };
    assert_eq!(item_hash(&a), item_hash(&b));
    // Items carry exactly the frames an upstream pushes.
    let bus = Bus::new();
    let sub = bus.subscribe("q", 4);
    bus.send(peer.clone());
    let item = sub.try_recv().unwrap();
    let frames = Request::Push((*item).clone()).to_frames(Chain::Testing);
    assert_eq!(
        frames,
        [b"testing".to_vec(), b"peer".to_vec(), vec![1; 32], vec![2; 19], 0x0102u64.to_be_bytes().to_vec()]
    );
}

#[test]
fn blocks_displace_the_oldest_non_block_then_the_oldest_block() {
    let bus = Bus::new();
    let sub = bus.subscribe("q", 3);
    bus.send(numbered(1));
    bus.send(numbered(2));
    // Only the last slot is free: non-blocks are refused.
    assert_eq!(bus.send(numbered(3)), Sent::Queued { delivered: 0, dropped: 1 });
    bus.send(block(1));
    assert_eq!(sub.len(), 3);
    bus.send(block(2));
    bus.send(block(3));
    assert_eq!(drain(&sub), [block(1), block(2), block(3)]);
    bus.send(block(4));
    bus.send(block(5));
    bus.send(block(6));
    bus.send(block(7));
    assert_eq!(drain(&sub), [block(5), block(6), block(7)]);
    assert_eq!(sub.stats(), QueueStats { queued: 9, dropped: 1, displaced: 3, discarded: 0 });
}

#[test]
fn a_queue_of_one_takes_only_blocks() {
    let bus = Bus::new();
    let sub = bus.subscribe("q", 0);
    assert_eq!(sub.capacity(), 1);
    bus.send(numbered(1));
    bus.send(block(1));
    bus.send(block(2));
    assert_eq!(drain(&sub), [block(2)]);
}

#[test]
fn a_stalled_consumer_never_blocks_the_sender_or_the_others() {
    let bus = Bus::new();
    let stalled = bus.subscribe("stalled", 10);
    let reader = bus.subscribe("reader", DEFAULT_CAPACITY);
    let total = 5_000u32;
    let handle = thread::spawn(move || {
        let mut got = 0u64;
        while reader.recv_timeout(Duration::from_secs(30)).is_ok() {
            got += 1;
        }
        (got, reader.stats())
    });
    let started = Instant::now();
    for i in 0..total {
        bus.send(numbered(i));
    }
    assert!(started.elapsed() < Duration::from_secs(10));
    bus.close();
    assert_eq!(stalled.len(), 9);
    assert_eq!(stalled.stats(), QueueStats { queued: 9, dropped: u64::from(total) - 9, displaced: 0, discarded: 0 });
    // The reader got everything it did not have to drop, and every item is accounted for.
    let (got, stats) = handle.join().unwrap();
    assert_eq!(got, stats.queued);
    assert_eq!(stats.queued + stats.dropped, u64::from(total));
}

#[test]
fn subscribers_leave_and_the_bus_closes() {
    let bus = Bus::new();
    let a = bus.subscribe("a", 4);
    let b = bus.subscribe("b", 4);
    assert_eq!(bus.stats().consumers, 2);
    drop(b);
    assert_eq!(bus.stats().consumers, 1);
    assert_eq!(bus.send(numbered(1)), Sent::Queued { delivered: 1, dropped: 0 });
    bus.close();
    assert_eq!(bus.send(numbered(2)), Sent::Queued { delivered: 0, dropped: 0 });
    assert_eq!(*a.recv_timeout(Duration::from_millis(10)).unwrap(), numbered(1));
    assert!(matches!(a.recv_timeout(Duration::from_millis(10)), Err(BusError::Closed)));
    // Subscribing to a closed bus gives a closed queue.
    assert!(matches!(bus.subscribe("late", 4).recv_timeout(Duration::from_secs(5)), Err(BusError::Closed)));

    // Dropping the last sender closes too, waking a waiting consumer.
    let bus = Bus::new();
    let sub = bus.subscribe("q", 4);
    let waiter = thread::spawn(move || sub.recv_timeout(Duration::from_secs(30)));
    thread::sleep(Duration::from_millis(50));
    drop(bus);
    assert!(matches!(waiter.join().unwrap(), Err(BusError::Closed)));
}

#[test]
fn recv_waits_for_an_item() {
    let bus = Bus::new();
    let sub = bus.subscribe("q", 4);
    assert!(matches!(sub.recv_timeout(Duration::from_millis(20)), Err(BusError::Timeout)));
    let sender = bus.clone();
    let handle = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        sender.send(block(9));
    });
    assert_eq!(*sub.recv_timeout(Duration::from_secs(10)).unwrap(), block(9));
    handle.join().unwrap();
}

#[test]
fn relaying_through_the_handler_reaches_the_bus() {
    let bus = Bus::new();
    let sub = bus.subscribe("upstream", 8);
    let relay: &dyn Relay = &bus;
    let push = Push::Issues(b"issues".to_vec());
    relay.relay(&push);
    relay.relay(&push);
    assert_eq!(drain(&sub), [push]);
}

/// A sink that takes everything and records whether it heard the bus close.
#[derive(Default)]
struct Recording {
    items: Mutex<Vec<Item>>,
    closed: std::sync::atomic::AtomicBool,
}

impl BroadcastSink for Recording {
    fn offer(&self, item: Item) -> bool {
        self.items.lock().unwrap().push(item);
        true
    }

    fn bus_closed(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }
}

#[test]
fn attached_sinks_share_items_and_leave_when_dropped() {
    let bus = Bus::new();
    let sub = bus.subscribe("q", 4);
    let sink = Arc::new(Recording::default());
    bus.attach(&sink);
    assert_eq!(bus.stats().consumers, 2);
    bus.send(block(1));
    let held = sink.items.lock().unwrap()[0].clone();
    // One item, shared: the subscriber's copy is the same allocation.
    assert!(Arc::ptr_eq(&held, &sub.try_recv().unwrap()));
    bus.close();
    assert!(sink.closed.load(Ordering::SeqCst));
    // Attaching to a closed bus tells the sink at once; dropping a sink unsubscribes it.
    let bus = Bus::new();
    let late = Arc::new(Recording::default());
    bus.attach(&late);
    drop(late);
    assert_eq!(bus.send(block(2)), Sent::Queued { delivered: 0, dropped: 0 });
    assert_eq!(bus.stats().consumers, 0);
    bus.close();
    let after = Arc::new(Recording::default());
    bus.attach(&after);
    assert!(after.closed.load(Ordering::SeqCst));
}

#[test]
fn error_texts_are_unchanged() {
    assert_eq!(BusError::Timeout.to_string(), "timed out");
    assert_eq!(BusError::Closed.to_string(), "bus closed");
}
