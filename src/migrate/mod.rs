//! Moving a node from bitmarkd: `bitmark-node config import bitmarkd.conf` evaluates bitmarkd's
//! Lua configuration as bitmarkd would ([`lua`], with its `arg`, `read_file`, `os_name` and
//! `interface_public_ips` conventions) and prints the equivalent TOML ([`convert`]), listing
//! every setting that does not carry over and the steps that move the key files, `peers.json`
//! and `reservoir.cache` (all in formats this node reads unchanged). It reads only: the
//! configuration cannot write files while it is evaluated.

pub mod convert;
pub mod interfaces;
pub mod lua;

use std::path::Path;

/// Evaluate the bitmarkd configuration at `path` and convert it.
pub fn import(path: &Path, cwd: &Path) -> Result<convert::Conversion, String> {
    let evaluated = lua::evaluate(path, cwd)?;
    Ok(convert::convert(&evaluated, &cwd.join(path), cwd))
}
