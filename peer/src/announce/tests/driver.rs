//! The periodic driver in virtual time (first pass after 2 minutes, then every 11, expiry,
//! rebalance on change, commands) and the runner thread.

use super::*;
use crate::announce::bootstrap::{Bootstrap, FixedRecords, Nodes};
use crate::announce::peers::Target;
use crate::announce::rebalance::Slot;
use crate::announce::{Action, Command, ConnectorCommand, Runner, RunnerConfig};
use crate::listener::PeerTable;
use crate::upstream::Liveness;
use crate::wire::Push;
use bitmark_record::Chain;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

fn own_peer(timestamp: u64, announcer: &Announcer) -> Action {
    Action::Broadcast(Push::Peer { public_key: OWN.to_vec(), listeners: announcer.own_listeners(), timestamp })
}

fn connects(actions: &[Action]) -> Vec<(Slot, [u8; 32])> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Connector(ConnectorCommand::Connect(Target { slot, public_key, .. })) => Some((*slot, *public_key)),
            _ => None,
        })
        .collect()
}

fn releases(actions: &[Action]) -> Vec<[u8; 32]> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Connector(ConnectorCommand::Release { public_key, .. }) => Some(*public_key),
            _ => None,
        })
        .collect()
}

#[test]
fn schedule_two_minutes_then_every_eleven() {
    let (clock, announcer) = announcer(TableLimits::default());
    announcer.add_peer(&key(1), &listeners(1), T0);
    // First tick: bitmarkd's start-up rebalance; nothing else.
    let actions = announcer.tick(clock.wall());
    assert_eq!(connects(&actions), [(Slot::N1, key(1))]);
    assert_eq!(actions.len(), 1);
    assert_eq!(announcer.next_due(), Some(at(T0) + minutes(2)));
    assert!(announcer.tick(at(T0) + minutes(2) - Duration::from_nanos(1)).is_empty());
    // At 2 minutes: our announcement stamped now, and a rebalance because key 1 arrived since
    // the last pass (as in bitmarkd, where the start-up rebalance leaves the flag set).
    let actions = announcer.tick(at(T0) + minutes(2));
    assert_eq!(actions.first(), Some(&own_peer(T0 + 120, &announcer)));
    assert_eq!(connects(&actions), [(Slot::N1, key(1))]);
    assert_eq!(actions.len(), 2);
    assert_eq!(announcer.next_due(), Some(at(T0) + minutes(13)));
    assert!(announcer.tick(at(T0) + minutes(12)).is_empty());
    // A late tick runs one pass and schedules from when it ran.
    let late = at(T0) + minutes(40);
    assert_eq!(announcer.tick(late), [own_peer(T0 + 2400, &announcer)]);
    assert_eq!(announcer.next_due(), Some(late + minutes(11)));
}

#[test]
fn a_pass_announces_rpc_then_peer_expires_and_rebalances() {
    let (clock, announcer) = announcer(TableLimits::default());
    announcer.set_rpc(key(0x55), &[SocketAddr::from(([198, 51, 100, 1], 2130))]).unwrap();
    announcer.add_peer(&key(1), &listeners(1), T0);
    announcer.add_peer(&key(2), &listeners(2), T0);
    announcer.tick(clock.wall());
    // Key 3 arrives later and key 2 is kept alive by polls.
    announcer.add_peer_at(&key(3), &listeners(3), T0 + 600, at(T0 + 600));
    clock.set_wall(at(T0) + minutes(50));
    assert!(announcer.update_time(&key(2)));
    // Pass at 2 minutes: rpc then peer, then the rebalance for key 3.
    let actions = announcer.tick(at(T0) + minutes(2));
    assert_eq!(
        actions.first(),
        Some(&Action::Broadcast(Push::Rpc {
            fingerprint: key(0x55).to_vec(),
            listeners: pack_all(&[SocketAddr::from(([198, 51, 100, 1], 2130))]),
            timestamp: T0 + 120
        }))
    );
    assert_eq!(actions.get(1), Some(&own_peer(T0 + 120, &announcer)));
    assert!(!connects(&actions).is_empty());
    // Passes at 13, 24, 35, 46 minutes: nothing expires. At 57: key 1 (stamped T0) goes.
    for m in [13, 24, 35, 46] {
        let actions = announcer.tick(at(T0) + minutes(m));
        assert!(releases(&actions).is_empty() && connects(&actions).is_empty(), "at {m} min");
    }
    let actions = announcer.tick(at(T0) + minutes(57));
    assert_eq!(releases(&actions), [key(1)]);
    let names: Vec<&str> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Connector(command) => Some(command.name()),
            Action::Broadcast(_) => None,
        })
        .collect();
    assert_eq!(names, ["@D", "N1", "P1"]);
    // Membership changed: rebalance over key 2, key 3 and ourselves (index 2 of 3).
    assert_eq!(connects(&actions), [(Slot::N1, key(2)), (Slot::P1, key(3))]);
    // Key 3 (stamped T0 + 10 min) goes at the pass after T0 + 65 min; key 2 (polled at 50) lives.
    let actions = announcer.tick(at(T0) + minutes(68));
    assert_eq!(releases(&actions), [key(3)]);
    assert!(announcer.peer(&key(2)).is_some());
    let actions = announcer.tick(at(T0) + minutes(106));
    assert_eq!(releases(&actions), [key(2)]);
    // Alone again: the rebalance has nothing to offer (bitmarkd would connect to itself).
    assert!(connects(&actions).is_empty());
    assert_eq!(announcer.peer_count(), 1);
}

#[test]
fn commands() {
    let (clock, announcer) = announcer(TableLimits::default());
    announcer.add_peer(&key(1), &listeners(1), T0);
    assert_eq!(connects(&announcer.handle(Command::Reconnect, clock.wall())), [(Slot::N1, key(1))]);
    let later = at(T0) + minutes(30);
    assert!(announcer.handle(Command::UpdateTime(key(1).to_vec()), later).is_empty());
    assert_eq!(announcer.peer(&key(1)).unwrap().timestamp, later);
    // Unknown keys are ignored.
    assert!(announcer.handle(Command::UpdateTime(b"nobody".to_vec()), later).is_empty());
}

#[test]
fn an_answered_poll_refreshes_the_peer() {
    let (clock, announcer) = announcer(TableLimits::default());
    announcer.add_peer(&key(1), &listeners(1), T0);
    clock.advance(minutes(54));
    let upstreams: &dyn Liveness = &announcer;
    upstreams.responded(&key(1));
    upstreams.responded(b"nobody");
    assert_eq!(announcer.peer(&key(1)).unwrap().timestamp, clock.wall());
    // Without the poll it would have gone at the pass after T0 + 55 min.
    announcer.tick(clock.wall());
    let actions = announcer.tick(clock.wall() + minutes(2));
    assert!(releases(&actions).is_empty());
    assert!(announcer.peer(&key(1)).is_some());
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Action>>>);

impl Recorder {
    fn take(&self) -> Vec<Action> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// Wait (in real time) until `matches` holds for the recorded actions.
    fn wait_for(&self, what: &str, matches: impl Fn(&[Action]) -> bool) -> Vec<Action> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            {
                let actions = self.0.lock().unwrap();
                if matches(&actions) {
                    return actions.clone();
                }
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

#[test]
fn the_runner_thread() {
    let (clock, announcer) = announcer(TableLimits::default());
    let announcer = Arc::new(announcer);
    let texts = vec![format!("bitmark=v3 a=192.0.2.7 c=2136 r=2130 f={} p={}", "00".repeat(32), hex::encode(key(7)))];
    let lookup = FixedRecords { records: BTreeMap::from([("nodes.localdomain".to_string(), texts)]), ttl: None };
    let bootstrap = Bootstrap::new(&Nodes::Chain, Chain::Local, Box::new(lookup));
    let recorder = Recorder::default();
    let sink = recorder.clone();
    let path = scratch("runner-peers.json");
    let config = RunnerConfig { poll: Duration::from_millis(5), backup: Some(path.clone()) };
    let runner =
        Runner::spawn(announcer.clone(), bootstrap, Box::new(move |a| sink.0.lock().unwrap().push(a)), config).unwrap();
    // The DNS peer is in the table before the start-up rebalance.
    let actions = recorder.wait_for("start-up rebalance", |a| !connects(a).is_empty());
    assert_eq!(connects(&actions), [(Slot::N1, key(7))]);
    recorder.take();
    // Two virtual minutes later: our announcement.
    clock.advance(minutes(2));
    recorder.wait_for("announcement", |a| a.contains(&own_peer(T0 + 120, &announcer)));
    // Commands from other subsystems.
    let commands = runner.commands();
    assert!(commands.send(Command::Reconnect));
    recorder.wait_for("reconnect", |a| connects(a).contains(&(Slot::N1, key(7))));
    assert!(commands.send(Command::UpdateTime(key(7).to_vec())));
    let deadline = Instant::now() + Duration::from_secs(20);
    while announcer.peer(&key(7)).unwrap().timestamp != clock.wall() {
        assert!(Instant::now() < deadline, "updatetime not applied");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Stop writes the backup (three entries: us, the DNS peer and one more).
    announcer.add_peer(&key(8), &listeners(8), T0);
    runner.stop();
    assert_eq!(crate::announce::backup::read(&path).unwrap().unwrap().entries.len(), 3);
    assert!(!commands.send(Command::Reconnect));
    assert_eq!(commands.dropped(), 1);
    let _ = clock.wall();
}
