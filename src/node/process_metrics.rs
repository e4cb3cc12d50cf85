//! The standard `process_*` metrics every Prometheus client library exports, read from
//! `/proc/self` at each scrape: CPU time, resident and virtual memory, open and maximum file
//! descriptors, threads and the start time. A value that cannot be read is left out.

use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What `/proc/self/stat` says (fields 14, 15, 20, 23 and 24, counted from 1).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Stat {
    cpu_seconds: f64,
    threads: i64,
    virtual_bytes: i64,
    resident_bytes: i64,
}

/// Parse the text of `/proc/self/stat`; `ticks` is `_SC_CLK_TCK`, `page` `_SC_PAGESIZE`.
fn parse_stat(text: &str, ticks: f64, page: i64) -> Option<Stat> {
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = text.get(text.rfind(')')? + 1..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3.
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<i64>().ok());
    let (utime, stime) = (field(14)?, field(15)?);
    Some(Stat {
        cpu_seconds: (utime + stime) as f64 / ticks,
        threads: field(20)?,
        virtual_bytes: field(23)?,
        resident_bytes: field(24)?.saturating_mul(page),
    })
}

fn sysconf(name: libc::c_int) -> Option<i64> {
    // SAFETY: sysconf reads a system constant.
    let value = unsafe { libc::sysconf(name) };
    (value > 0).then_some(value)
}

fn max_fds() -> Option<i64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes into the struct we own.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    ok.then(|| i64::try_from(limit.rlim_cur).unwrap_or(i64::MAX))
}

/// The process metrics now, for a process that has run for `uptime`.
pub fn registry(uptime: Duration) -> Registry {
    let mut r = Registry::default();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let started = now.saturating_sub(uptime).as_secs_f64();
    r.register_with_unit(
        "process_start_time",
        "Start time of the process since the Unix epoch",
        Unit::Seconds,
        ConstGauge::new(started),
    );
    let stat = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|text| parse_stat(&text, sysconf(libc::_SC_CLK_TCK)? as f64, sysconf(libc::_SC_PAGESIZE)?));
    if let Some(stat) = stat {
        r.register_with_unit(
            "process_cpu",
            "Total user and system CPU time spent",
            Unit::Seconds,
            ConstCounter::new(stat.cpu_seconds),
        );
        r.register_with_unit(
            "process_resident_memory",
            "Resident memory size",
            Unit::Bytes,
            ConstGauge::new(stat.resident_bytes),
        );
        r.register_with_unit(
            "process_virtual_memory",
            "Virtual memory size",
            Unit::Bytes,
            ConstGauge::new(stat.virtual_bytes),
        );
        r.register("process_threads", "Threads of the process", ConstGauge::new(stat.threads));
    }
    if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
        let open = i64::try_from(entries.count()).unwrap_or(i64::MAX);
        r.register("process_open_fds", "Open file descriptors", ConstGauge::new(open));
    }
    if let Some(max) = max_fds() {
        r.register("process_max_fds", "Maximum number of open file descriptors", ConstGauge::new(max));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_read_after_the_command_name() {
        let text = "42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 250 150 1 2 3 4 7 0 99 123456 100 18446744073709551615";
        let stat = parse_stat(text, 100.0, 4096).unwrap();
        assert_eq!(stat, Stat { cpu_seconds: 4.0, threads: 7, virtual_bytes: 123456, resident_bytes: 409600 });
        assert!(parse_stat("garbage", 100.0, 4096).is_none());
        let mut text = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry(Duration::from_secs(5)));
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_start_time_seconds",
            "process_open_fds",
        ] {
            assert!(text.contains(&format!("\n{name} ")), "{name} in {text}");
        }
    }
}
