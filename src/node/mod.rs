//! Node assembly: the views the peer layer asks for, implemented over the node's storage and
//! reservoir (ARCHITECTURE.md: `peer` never reaches into sled; the node injects these).

pub mod views;
