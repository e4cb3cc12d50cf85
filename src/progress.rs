//! Progress bars on stderr (`indicatif`), shared by `testchain`, `testnet` and a syncing `run`
//! whose log goes to a file. They draw only on a terminal: anywhere else they are hidden, and
//! the commands print lines (or log) instead.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// Whether bars would be seen: stderr is a terminal.
pub fn visible() -> bool {
    std::io::stderr().is_terminal()
}

/// The bars' look: prefix, bar, position/length, rate and time left, message.
fn style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:>8} [{bar:30}] {pos:>6}/{len} {per_sec:>12} eta {eta:>4} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("#>-")
}

/// A bar of `len` steps named `prefix`, on stderr (hidden unless a terminal).
pub fn bar(len: u64, prefix: impl Into<String>) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(style());
    bar.set_prefix(prefix.into());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// One bar per item, drawn together on stderr (hidden unless a terminal).
pub fn bars(count: usize, len: u64, prefix: impl Fn(usize) -> String) -> (MultiProgress, Vec<ProgressBar>) {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let bars = (0..count).map(|i| multi.add(bar(len, prefix(i)))).collect();
    (multi, bars)
}
