//! Emulated links between the nodes a command starts (`testnet --regions`; `bench scale` makes
//! its relays with `bitmark-netem` directly, one round trip for all):
//! instead of dialling a node's listener, a node dials a `bitmark-netem` relay in this process
//! that delays (and, if asked, disturbs) everything on the way. The relays live as long as the
//! [`Router`]: in the command's process, so they end with it.

use crate::error::{NodeError, Result};
use bitmark_netem::regions::Regions;
use bitmark_netem::{Link, Netem, Shape};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;

/// The relays between a command's nodes, one per (dialling node, dialled node).
pub struct Router {
    netem: Netem,
    regions: Regions,
    links: Vec<Route>,
}

/// One relay: who dials whom through it.
struct Route {
    from: usize,
    to: usize,
    link: Link,
}

impl Router {
    /// Relays whose round trips are those of `regions`.
    pub fn new(regions: Regions) -> Result<Router> {
        let netem = Netem::new().map_err(|e| NodeError::io("link emulator", e))?;
        Ok(Router { netem, regions, links: Vec::new() })
    }

    /// The address node `from` should dial to reach node `to`, whose listener is `addr`: a new
    /// relay with the round trip between their regions.
    pub fn route(&mut self, from: usize, to: usize, addr: SocketAddr) -> Result<SocketAddr> {
        self.route_shaped(from, to, addr, Shape::rtt(self.regions.rtt(from, to)))
    }

    /// As [`Router::route`] with a shape of the caller's.
    pub fn route_shaped(&mut self, from: usize, to: usize, addr: SocketAddr, shape: Shape) -> Result<SocketAddr> {
        let link = self.netem.link(addr, shape).map_err(|e| NodeError::io("emulated link", e))?;
        let relay = link.addr();
        self.links.push(Route { from, to, link });
        Ok(relay)
    }

    /// Every relay between nodes of `side` and nodes not of it.
    pub fn crossing<'r>(&'r self, side: &'r [usize]) -> impl Iterator<Item = &'r Link> + 'r {
        self.links.iter().filter(|r| side.contains(&r.from) != side.contains(&r.to)).map(|r| &r.link)
    }

    /// The relays as JSON: `[{"from","to","rttMs","relay"}]`.
    pub fn describe(&self) -> Value {
        self.links
            .iter()
            .map(|r| {
                json!({
                    "from": r.from,
                    "to": r.to,
                    "rttMs": r.link.shape().round_trip().as_secs_f64() * 1000.0,
                    "relay": r.link.addr().to_string(),
                })
            })
            .collect()
    }
}

/// Parse a round-trip range, `80ms-150ms`, or one value, `100ms`.
pub fn parse_rtt_range(text: &str) -> std::result::Result<(Duration, Duration), String> {
    let parse = |t: &str| humantime::parse_duration(t.trim()).map_err(|e| format!("{t:?}: {e}"));
    match text.split_once('-') {
        Some((low, high)) => {
            let (low, high) = (parse(low)?, parse(high)?);
            if low > high {
                return Err(format!("{text:?}: the lower bound is above the upper one"));
            }
            Ok((low, high))
        }
        None => parse(text).map(|d| (d, d)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_ranges_parse() {
        let ms = Duration::from_millis;
        assert_eq!(parse_rtt_range("80ms-150ms"), Ok((ms(80), ms(150))));
        assert_eq!(parse_rtt_range("100ms"), Ok((ms(100), ms(100))));
        assert!(parse_rtt_range("150ms-80ms").is_err());
        assert!(parse_rtt_range("fast").is_err());
    }

    #[test]
    fn routes_cross_a_partition_only_between_sides() {
        let mut router = Router::new(Regions { count: 2, ..Regions::default() }).unwrap();
        let target = SocketAddr::from(([127, 0, 0, 1], 9));
        for (from, to) in [(1, 0), (2, 0), (2, 1), (3, 1)] {
            let relay = router.route(from, to, target).unwrap();
            assert_ne!(relay, target);
        }
        // Regions alternate: nodes 0 and 2 in one, 1 and 3 in the other.
        let crossing: Vec<SocketAddr> = router.crossing(&[0, 2]).map(|l| l.upstream()).collect();
        assert_eq!(crossing.len(), 2, "1->0 and 2->1");
        let described = router.describe();
        assert_eq!(described.as_array().unwrap().len(), 4);
        let between = described[0]["rttMs"].as_f64().unwrap();
        assert!((80.0..=150.0).contains(&between), "{between}");
        assert_eq!(described[3]["rttMs"], 20.0, "3 and 1 share a region");
    }
}
