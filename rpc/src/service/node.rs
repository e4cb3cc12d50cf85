//! `Node.Info` and `Node.List` (rpc/node/node.go).

use crate::args::Args;
use crate::backend::NodeInfo;
use crate::gojson::go_duration;
use crate::server::{fault, Outcome, Rpc};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;

/// Most entries `Node.List` returns.
const MAXIMUM_NODE_LIST: usize = 100;

/// bitmarkd's mode names.
pub fn mode_name(normal: bool) -> &'static str {
    if normal {
        "Normal"
    } else {
        "Resynchronise"
    }
}

/// bitmarkd's `difficulty.Hashrate()`: the hashes per second the current difficulty implies at
/// one block per two minutes, rounded to three decimals.
pub fn hashrate(difficulty: f64) -> f64 {
    let zero_bits = 8.0 + difficulty.log2();
    let rate = 2f64.powf(zero_bits) / 120.0;
    (rate * 1000.0 + 0.5).floor() / 1000.0
}

/// An address as Go's `util.Connection` prints it (IPv4-mapped IPv6 as IPv4).
pub fn address_text(address: &SocketAddr) -> String {
    SocketAddr::new(address.ip().to_canonical(), address.port()).to_string()
}

/// `Node.Info`'s reply for `info`.
pub fn info_reply(rpc: &Rpc, info: &NodeInfo) -> Value {
    json!({
        "chain": info.chain.name(),
        "mode": mode_name(info.normal),
        "block": {"height": info.height, "hash": info.digest.display_hex()},
        "miner": {"success": info.mined, "failed": 0},
        "rpcs": rpc.connections(),
        "peers": info.incoming + info.outgoing,
        "transactionCounters": {"pending": info.pending, "verified": info.verified},
        "difficulty": info.difficulty,
        "hashrate": hashrate(info.difficulty),
        "version": rpc.options.version,
        "uptime": go_duration(rpc.started.elapsed()),
        "publicKey": hex::encode(info.public_key),
    })
}

/// `Node.Info` (no arguments).
pub async fn info(rpc: &Arc<Rpc>, args: Option<&Value>) -> Outcome {
    Args::of(args, "node.InfoArguments")?;
    rpc.limits.node.limit().await.map_err(fault)?;
    let info = rpc.node_info().await?;
    Ok(info_reply(rpc, &info))
}

/// `Node.List {start, count}`: the RPC servers the network announced.
pub async fn list(rpc: &Arc<Rpc>, args: Option<&Value>) -> Outcome {
    let a = Args::of(args, "node.Arguments")?;
    let (start, count) = (a.uint_string("start")?, a.int("count")?);
    rpc.limits.node.limit_n(count, MAXIMUM_NODE_LIST).await.map_err(fault)?;
    let (servers, next) = rpc.backend.rpc_servers(start, usize::try_from(count).unwrap_or(0)).map_err(fault)?;
    let nodes: Vec<Value> = servers
        .iter()
        .map(|s| {
            json!({
                "fingerprint": hex::encode(s.fingerprint),
                "connections": s.addresses.iter().map(address_text).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(json!({
        "nodes": if nodes.is_empty() { Value::Null } else { Value::Array(nodes) },
        "nextStart": next.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashrate_and_addresses_are_bitmarkds() {
        assert_eq!(hashrate(1.0), 2.133);
        assert_eq!(address_text(&"[::ffff:1.2.3.4]:2130".parse().unwrap()), "1.2.3.4:2130");
        assert_eq!(address_text(&"[::1]:2130".parse().unwrap()), "[::1]:2130");
    }
}
