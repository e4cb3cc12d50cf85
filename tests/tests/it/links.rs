//! Real nodes behind emulated links: every connection between two nodes passes through a
//! `bitmark-netem` relay in this test process, which delays it (and, where a scenario says so,
//! stalls it, resets it, or cuts it off). Each scenario has a short form, run by `make test`,
//! and a full form (`#[ignore]`, run by `make soak`):
//!
//! - a network spread over three regions (20 ms inside, 80–150 ms between), built by
//!   `bitmark-node testnet --regions 3`: every follower syncs node 0's chain across the slow
//!   links;
//! - a partition: two producing nodes and a follower each on both sides, cut apart; both sides
//!   keep serving and producing, one side further than the other; after the links heal every
//!   node ends on the longer chain, and every push a node acknowledged (`Pending` on
//!   `GET /transaction/<id>`) is still pending, verified or confirmed there;
//! - a follower behind a 300 ms link that stalls and resets its connections still syncs.
//!
//! Every node is killed with the test (`PR_SET_PDEATHSIG`), the relays are threads of the test,
//! and every wait is bounded.

use bitmark_netem::{Faults, Link, Netem, Shape};
use bitmark_peer::transport::{Transport, ZmqClient};
use bitmark_peer::wire::{Push, Reply, Request};
use bitmark_record::{BlockDigest, Link as TxId};
use bitmark_tests::items::{asset_and_issues, issues_push, proof_push, push};
use bitmark_tests::{client_of, json_of, run_node, within, RunningNode};
use serde_json::Value;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The followers' connector round: on emulated links a round still costs little.
const SYNC_INTERVAL: &str = "1s";

/// A node that is yet to start: its data directory (chain and key pair made), key, port.
struct Planned {
    data: PathBuf,
    key: String,
    port: u16,
}

/// Make node `name`'s data directory in `root`: a `height`-block test chain (from the
/// generated-chain cache) and a key pair; pick a free loopback port for it.
fn prepare(root: &Path, name: &str, height: u64) -> Planned {
    let data = root.join(name);
    let blocks = height.to_string();
    let out = run_node(&["testchain", "--cache", "--blocks", &blocks, "--data-dir", data.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let out = run_node(&["keygen", "--dir", data.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let key = json_of(&out)["publicKey"].as_str().unwrap().to_string();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    Planned { data, key, port }
}

impl Planned {
    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Start it with `extra` flags, logging to `<data>.log`.
    fn start(&self, extra: &[String]) -> RunningNode {
        let listen = self.addr().to_string();
        let mut args = vec!["--chain", "local", "--data-dir", self.data.to_str().unwrap(), "--listen", &listen];
        args.extend(["--status", "127.0.0.1:0"]);
        args.extend(extra.iter().map(String::as_str));
        RunningNode::start(&args, &self.data.with_extension("log"))
    }
}

/// Follower flags: connect to each `(key, relay address)`, one client is enough to vote.
fn connecting_to(peers: &[(String, SocketAddr)]) -> Vec<String> {
    let mut args: Vec<String> =
        peers.iter().flat_map(|(key, addr)| ["--connect".to_string(), format!("{key}@{addr}")]).collect();
    args.extend(["--min-clients", "1", "--sync-interval", SYNC_INTERVAL].map(String::from));
    args
}

/// `/status` of a node, or Null while it does not answer.
fn status(node: &RunningNode) -> Value {
    let (code, body) = node.get("/status");
    if code == 200 {
        serde_json::from_str(&body).unwrap_or(Value::Null)
    } else {
        Value::Null
    }
}

/// Tip (height, digest) of a node in normal mode.
fn normal_tip(node: &RunningNode) -> Option<(u64, String)> {
    let s = status(node);
    (s["mode"] == "normal").then(|| (s["height"].as_u64().unwrap_or(0), s["digest"].as_str().unwrap_or("").into()))
}

/// Wait (at most `limit`) until every node is in normal mode on one tip at least `height`
/// high; that tip.
fn agree(nodes: &[&RunningNode], height: u64, limit: Duration) -> (u64, String) {
    let mut tip = None;
    let agreed = within(limit, || {
        let tips: Vec<Option<(u64, String)>> = nodes.iter().map(|n| normal_tip(n)).collect();
        let first = tips[0].clone();
        let same = first.as_ref().is_some_and(|t| t.0 >= height) && tips.iter().all(|t| *t == first);
        tip = first;
        same
    });
    let statuses: Vec<Value> = nodes.iter().map(|n| status(n)).collect();
    assert!(agreed, "no agreement at height {height} or more: {statuses:#?}\n{}", logs(nodes));
    tip.unwrap()
}

fn logs(nodes: &[&RunningNode]) -> String {
    nodes.iter().map(|n| format!("== {}\n{}", n.log.display(), tail(&n.log_text()))).collect::<Vec<_>>().join("\n")
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(60)..].join("\n")
}

/// The digest of block `height` as `client`'s node serves it (`H`).
fn digest_at(client: &mut ZmqClient, height: u64) -> BlockDigest {
    match client.request(&Request::Digest(height)).unwrap() {
        Reply::Digest(d) => d,
        other => panic!("no digest of block {height}: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// A test network across three regions.

fn testnet_across_regions(nodes: usize, blocks: u64, timeout: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("net");
    let (nodes_arg, blocks_arg) = (nodes.to_string(), blocks.to_string());
    let args = ["testnet", "--nodes", &nodes_arg, "--blocks", &blocks_arg, "--regions", "3", "--timeout", timeout];
    let out = run_node(&[&args[..], &["--dir", dir.to_str().unwrap()]].concat(), "");
    let summary = json_of(&out);
    assert!(out.status.success(), "{summary}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!((summary["converged"].as_bool(), summary["height"].as_u64()), (Some(true), Some(blocks)), "{summary}");
    // Node i dialled every node before it through a relay: 20 ms within a region (i and j
    // equal mod 3), 80-150 ms between regions.
    let links = summary["links"].as_array().expect("links in the summary");
    assert_eq!(links.len(), nodes * (nodes - 1) / 2, "{summary}");
    for link in links {
        let (from, to, rtt) =
            (link["from"].as_u64().unwrap(), link["to"].as_u64().unwrap(), link["rttMs"].as_f64().unwrap());
        if from % 3 == to % 3 {
            assert_eq!(rtt, 20.0, "{link}");
        } else {
            assert!((80.0..=150.0).contains(&rtt), "{link}");
        }
    }
}

#[test]
fn followers_sync_across_three_regions() {
    testnet_across_regions(3, 10, "3m");
}

#[test]
#[ignore = "the full form, run by make soak"]
fn followers_sync_across_three_regions_full() {
    testnet_across_regions(6, 100, "20m");
}

// ---------------------------------------------------------------------------------------------
// A partition and its healing.

/// A relay from node `from` to node `to`.
struct Route {
    from: usize,
    to: usize,
    link: Link,
}

/// Sizes of the partition scenario.
struct PartitionPlan {
    /// Nodes per side: the first of each side produces blocks, the others follow.
    per_side: usize,
    /// Round trips within a side and across.
    inside: Duration,
    across: Duration,
    /// Blocks each side produces while apart: the right side must produce more.
    left_blocks: usize,
    right_blocks: usize,
}

fn partition_heals_onto_the_longer_chain(plan: PartitionPlan) {
    const HEIGHT: u64 = 5;
    assert!(plan.right_blocks > plan.left_blocks);
    let tmp = tempfile::tempdir().unwrap();
    let count = 2 * plan.per_side;
    let planned: Vec<Planned> = (0..count).map(|i| prepare(tmp.path(), &format!("node{i}"), HEIGHT)).collect();
    let side_of = |i: usize| usize::from(i >= plan.per_side);
    let netem = Netem::new().unwrap();
    let mut routes = Vec::new();
    for from in 0..count {
        for to in (0..count).filter(|to| *to != from) {
            let rtt = if side_of(from) == side_of(to) { plan.inside } else { plan.across };
            let link = netem.link(planned[to].addr(), Shape::rtt(rtt).with_jitter(rtt / 10)).unwrap();
            routes.push(Route { from, to, link });
        }
    }
    // Every node connects to every other through its relays; the first of each side produces.
    let nodes: Vec<RunningNode> = (0..count)
        .map(|i| {
            let peers: Vec<(String, SocketAddr)> =
                routes.iter().filter(|r| r.from == i).map(|r| (planned[r.to].key.clone(), r.link.addr())).collect();
            let mut extra = connecting_to(&peers);
            if i % plan.per_side == 0 {
                extra.extend(["--produce-blocks".to_string(), "1".to_string()]);
            }
            planned[i].start(&extra)
        })
        .collect();
    let all: Vec<&RunningNode> = nodes.iter().collect();
    let (left_nodes, right_nodes): (Vec<&RunningNode>, Vec<&RunningNode>) =
        (nodes[..plan.per_side].iter().collect(), nodes[plan.per_side..].iter().collect());
    agree(&all, HEIGHT, Duration::from_secs(60));

    // Before the partition: an asset and free issues, one group per future block and one more
    // that stays pending throughout, pushed to a follower of the left side, relayed everywhere:
    // pending (no proof yet) and so acknowledged by every node.
    // Each group is an asset of its own and one free issue of it (free issues have nonce 0,
    // so distinct ones need distinct assets or owners); one more group is a second issue of
    // the first group's asset, which stays pending while its asset is confirmed in the left
    // side's block, then rolled back with it.
    let mut groups: Vec<(Vec<u8>, Vec<Vec<u8>>)> = (0..plan.left_blocks + plan.right_blocks + 2)
        .map(|g| asset_and_issues(&format!("partition {g}"), &[1 + g % 7]))
        .collect();
    let (first_asset, mut first_issues) = asset_and_issues("partition 0", &[1, 2]);
    let second = vec![first_issues.pop().unwrap()];
    groups[0] = (first_asset.clone(), first_issues);
    groups.insert(plan.left_blocks + plan.right_blocks, (first_asset, second));
    let (groups, during) = groups.split_at(plan.left_blocks + plan.right_blocks + 1);
    let mut left_client = client_of(left_nodes[1], &planned[1].data);
    for (asset, issues) in groups {
        push(&mut left_client, Push::Assets(asset.clone()));
        push(&mut left_client, issues_push(issues));
    }
    let groups: Vec<&Vec<Vec<u8>>> = groups.iter().map(|(_, issues)| issues).collect();
    let ids = |group: &[Vec<u8>]| group.iter().map(|i| TxId::of(i)).collect::<Vec<_>>();
    let before: Vec<TxId> = groups.iter().flat_map(|g| ids(g)).collect();
    let everywhere_pending =
        within(Duration::from_secs(30), || all.iter().all(|n| before.iter().all(|id| n.tx_state(id) == "Pending")));
    assert!(everywhere_pending, "the pushes did not reach every node\n{}", logs(&all));

    // Apart: each side confirms groups of its own, one block per proof.
    let crossing: Vec<&Link> = routes.iter().filter(|r| side_of(r.from) != side_of(r.to)).map(|r| &r.link).collect();
    for link in &crossing {
        link.cut();
    }
    let cut_at = Instant::now();
    let right_producer = &planned[plan.per_side];
    let mut right_client = client_of(right_nodes[0], &right_producer.data);
    let mut left_producer_client = client_of(left_nodes[0], &planned[0].data);
    let (mut left_height, mut right_height) = (HEIGHT, HEIGHT);
    let mut next_group = 0;
    for (side, blocks) in [(0, plan.left_blocks), (1, plan.right_blocks)] {
        for _ in 0..blocks {
            let group = &groups[next_group];
            next_group += 1;
            let (client, height, members) = if side == 0 {
                (&mut left_producer_client, &mut left_height, &left_nodes)
            } else {
                (&mut right_client, &mut right_height, &right_nodes)
            };
            push(client, proof_push(group, *height));
            *height += 1;
            agree(members, *height, Duration::from_secs(60));
        }
    }
    // New pushes on each side while apart: acknowledged by the node they reached.
    let ((left_asset, left_new), (right_asset, right_new)) = (&during[0], &during[1]);
    push(&mut left_client, Push::Assets(left_asset.clone()));
    push(&mut left_client, issues_push(left_new));
    push(&mut right_client, Push::Assets(right_asset.clone()));
    push(&mut right_client, issues_push(right_new));
    let pending_at = |node: &RunningNode, group: &[Vec<u8>]| ids(group).iter().all(|id| node.tx_state(id) == "Pending");
    assert!(within(Duration::from_secs(30), || pending_at(left_nodes[1], left_new)
        && pending_at(right_nodes[0], right_new)));
    // Both sides kept serving and producing, on different chains.
    assert_eq!((left_height, right_height), (HEIGHT + plan.left_blocks as u64, HEIGHT + plan.right_blocks as u64));
    assert_ne!(digest_at(&mut left_client, HEIGHT + 1), digest_at(&mut right_client, HEIGHT + 1));
    let right_chain: Vec<BlockDigest> = (HEIGHT + 1..=right_height).map(|h| digest_at(&mut right_client, h)).collect();
    eprintln!("apart for {:?}: left at {left_height}, right at {right_height}", cut_at.elapsed());

    // Healed: every node ends on the right side's chain (the left side rolls back fewer blocks
    // than fork protection's 60) ...
    for link in &crossing {
        link.heal();
    }
    let (tip_height, _) = agree(&all, right_height, Duration::from_secs(120));
    assert!(tip_height >= right_height);
    let mut clients: Vec<ZmqClient> = nodes.iter().zip(&planned).map(|(n, p)| client_of(n, &p.data)).collect();
    for client in &mut clients {
        let chain: Vec<BlockDigest> = (HEIGHT + 1..=right_height).map(|h| digest_at(client, h)).collect();
        assert_eq!(chain, right_chain, "a node is not on the longer chain\n{}", logs(&all));
    }
    // ... and nothing any node acknowledged is lost there: every push is still pending,
    // verified or confirmed; the right side's groups are confirmed everywhere.
    let held = ["Pending", "Verified", "Confirmed"];
    for (i, node) in all.iter().enumerate() {
        let states: Vec<String> = before.iter().map(|id| node.tx_state(id)).collect();
        eprintln!("node {i}: the issues pushed before the partition are {states:?}");
    }
    for (i, node) in all.iter().enumerate() {
        for (g, id) in before.iter().enumerate() {
            let state = node.tx_state(id);
            let why = format!("node {i}: issue {g} was acknowledged (Pending), now {state}");
            assert!(held.contains(&state.as_str()), "{why}\n{}", logs(&all));
        }
        for group in &groups[plan.left_blocks..plan.left_blocks + plan.right_blocks] {
            for id in ids(group) {
                assert_eq!(node.tx_state(&id), "Confirmed", "{id:?} of the longer chain");
            }
        }
    }
    for (node, group) in [(left_nodes[1], left_new), (right_nodes[0], right_new)] {
        for id in ids(group) {
            assert!(held.contains(&node.tx_state(&id).as_str()), "{id:?} pushed while apart");
        }
    }
}

#[test]
fn a_partition_heals_onto_the_longer_chain_losing_nothing_acknowledged() {
    partition_heals_onto_the_longer_chain(PartitionPlan {
        per_side: 2,
        inside: Duration::from_millis(20),
        across: Duration::from_millis(100),
        left_blocks: 1,
        right_blocks: 2,
    });
}

#[test]
#[ignore = "the full form, run by make soak"]
fn a_partition_heals_onto_the_longer_chain_losing_nothing_acknowledged_full() {
    partition_heals_onto_the_longer_chain(PartitionPlan {
        per_side: 3,
        inside: Duration::from_millis(20),
        across: Duration::from_millis(150),
        left_blocks: 3,
        right_blocks: 5,
    });
}

// ---------------------------------------------------------------------------------------------
// A follower far away behind a link that stalls and resets.

/// The follower fetches `height` blocks through a 300 ms link injecting `faults`; besides
/// them, once the first block arrived the link is stalled and then reset, so that every run
/// (on a busy machine or an idle one, where the whole sync may take less than the first random
/// fault) syncs through at least one stall and one reset.
fn far_follower_syncs_through_stalls_and_resets(height: u64, faults: Faults) {
    let tmp = tempfile::tempdir().unwrap();
    let source = prepare(tmp.path(), "source", height);
    let follower = prepare(tmp.path(), "follower", 1);
    let served = source.start(&["--standalone".to_string()]);
    let netem = Netem::new().unwrap();
    let link = netem.link(source.addr(), Shape::rtt(Duration::from_millis(300)).with_faults(faults)).unwrap();
    let node = follower.start(&connecting_to(&[(source.key.clone(), link.addr())]));
    let (_, digest) = agree(&[&served], height, Duration::from_secs(30));
    let started = Instant::now();
    let fetching = within(Duration::from_secs(120), || status(&node)["height"].as_u64().is_some_and(|h| h >= 2));
    assert!(fetching, "no block fetched: {}\n{}", status(&node), logs(&[&node, &served]));
    let midway = status(&node)["height"].as_u64().unwrap_or(0);
    link.stall(Duration::from_millis(500));
    std::thread::sleep(Duration::from_millis(300));
    link.reset();
    let synced = within(Duration::from_secs(600), || normal_tip(&node) == Some((height, digest.clone())));
    let stats = link.stats();
    eprintln!("synced {height} blocks in {:?} (reset at height {midway}) over {stats:?}", started.elapsed());
    assert!(synced, "not synced: {}\n{}", status(&node), logs(&[&node, &served]));
    assert!(midway < height, "the whole chain came before the reset: nothing was disturbed");
    assert!(stats.stalls >= 1 && stats.resets >= 1 && stats.connections >= 2, "{stats:?}");
}

#[test]
fn a_follower_behind_300ms_with_stalls_and_resets_still_syncs() {
    far_follower_syncs_through_stalls_and_resets(
        12,
        Faults {
            stall_every: Some(Duration::from_secs(2)),
            stall_for: Duration::from_millis(500),
            reset_every: Some(Duration::from_secs(20)),
            seed: 5,
        },
    );
}

#[test]
#[ignore = "the full form, run by make soak"]
fn a_follower_behind_300ms_with_stalls_and_resets_still_syncs_full() {
    far_follower_syncs_through_stalls_and_resets(
        200,
        Faults {
            stall_every: Some(Duration::from_secs(5)),
            stall_for: Duration::from_secs(2),
            reset_every: Some(Duration::from_secs(10)),
            seed: 6,
        },
    );
}
