//! A deterministic simulation of bitmark nodes syncing (filled in below).
