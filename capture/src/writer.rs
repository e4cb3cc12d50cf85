//! Recording: the [`Tap`] the transports call ([`Recorder`]) hands each exchange to a bounded
//! channel, and one writer thread serialises it, writes it and rotates the files.
//!
//! On the transports' threads the recorder only checks two bounds (records and bytes waiting),
//! copies the frames and reads the clock; when either bound is reached the exchange is dropped
//! and counted, never waited for. Every [`DRAIN_INTERVAL`] the writer empties the channel and
//! flushes the file; it numbers what it takes off the channel (so sequence numbers follow the
//! file order), writes a `dropped` line before the next record whenever exchanges were lost,
//! and on close writes an `end` line with the session's totals.
//!
//! Rotation: before a line would take the file past `max_bytes` (a file holding only its header
//! takes the line whatever its size), `FILE` becomes `FILE.1`, `FILE.1` becomes `FILE.2` and so
//! on up to `FILE.<keep>`; the oldest is deleted; a new `FILE` starts with a header. A capture
//! file already there at start is rotated the same way first, so each file holds one part of
//! one session.

use crate::error::{CaptureError, Result};
use crate::format::{self, Dropped, End, Header, Line, Record, RecordPeer};
use bitmark_common::lock;
use bitmark_peer::capture::{Exchange, Tap};
use bitmark_record::Chain;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tracing::{error, info, warn};

/// The log target, as the node has always logged captures under.
const TARGET: &str = "node::capture";

/// Default size at which a capture file is rotated: 64 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 64 << 20;
/// Default number of rotated files kept besides the current one.
pub const DEFAULT_KEEP: usize = 4;
/// The smallest rotation size accepted: a header and a few records.
pub const MIN_MAX_BYTES: u64 = 4096;
/// Exchanges waiting for the writer before new ones are dropped.
pub const QUEUE_RECORDS: usize = 4096;
/// Frame bytes waiting for the writer before new exchanges are dropped (one exchange larger
/// than this is still taken when nothing waits).
pub const QUEUE_BYTES: usize = 64 << 20;
/// How often the writer drains the channel and flushes. It never waits on the channel, so
/// handing an exchange over never has to wake it: no system call on the transports' threads.
/// At this pace [`QUEUE_RECORDS`] absorbs 200 000 exchanges a second.
pub const DRAIN_INTERVAL: Duration = Duration::from_millis(20);

/// Where and how much to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureOptions {
    /// The current file; rotated ones are `<path>.1` (newest) to `<path>.<keep>`.
    pub path: PathBuf,
    /// Rotate before a file would grow past this many bytes.
    pub max_bytes: u64,
    /// Rotated files kept.
    pub keep: usize,
    /// Exchanges waiting for the writer, at most.
    pub queue_records: usize,
    /// Frame bytes waiting for the writer, at most.
    pub queue_bytes: usize,
    /// The program named in each header.
    pub tool: String,
}

impl CaptureOptions {
    /// The defaults for `path`, written by `tool`.
    pub fn new(path: PathBuf, tool: impl Into<String>) -> CaptureOptions {
        CaptureOptions {
            path,
            max_bytes: DEFAULT_MAX_BYTES,
            keep: DEFAULT_KEEP,
            queue_records: QUEUE_RECORDS,
            queue_bytes: QUEUE_BYTES,
            tool: tool.into(),
        }
    }
}

/// What a header says about the node; asked for whenever a file is started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSnapshot {
    /// The chain.
    pub chain: Chain,
    /// The node's public key.
    pub node_key: [u8; 32],
    /// Its height now.
    pub height: u64,
    /// Its tip digest now, raw hex.
    pub digest: String,
    /// Whether it is in normal mode.
    pub normal: bool,
}

/// Asked for a [`NodeSnapshot`] at the start of each file (on the writer thread).
pub type Snapshot = Box<dyn Fn() -> NodeSnapshot + Send>;

/// Counters of a recording.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Exchanges written.
    pub records: u64,
    /// Exchanges lost: the channel was full, or a write failed.
    pub dropped: u64,
    /// Files started in this session (1 + rotations).
    pub files: u64,
}

/// Unix nanoseconds now (0 before 1970, saturating after 2554).
pub fn unix_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// An exchange on its way to the writer.
struct Pending {
    time: u64,
    record: Record,
    bytes: usize,
}

enum Message {
    Exchange(Pending),
    Stop,
}

/// The tap: bounded hand-off to the writer thread.
pub struct Recorder {
    sender: SyncSender<Message>,
    queued_bytes: AtomicUsize,
    limit_bytes: usize,
    dropped: AtomicU64,
    written: AtomicU64,
    files: AtomicU64,
    closed: AtomicBool,
}

impl Recorder {
    fn new(queue_records: usize, queue_bytes: usize) -> (Recorder, Receiver<Message>) {
        let (sender, receiver) = mpsc::sync_channel(queue_records.max(1));
        let recorder = Recorder {
            sender,
            queued_bytes: AtomicUsize::new(0),
            limit_bytes: queue_bytes,
            dropped: AtomicU64::new(0),
            written: AtomicU64::new(0),
            files: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        };
        (recorder, receiver)
    }

    fn drop_one(&self) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn stats(&self) -> CaptureStats {
        CaptureStats {
            records: self.written.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            files: self.files.load(Ordering::Relaxed),
        }
    }
}

impl Tap for Recorder {
    fn exchange(&self, e: &Exchange<'_>) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        let frames = |f: &[Vec<u8>]| f.iter().map(Vec::len).sum::<usize>();
        let bytes = frames(e.request) + e.reply.map_or(0, frames);
        let before = self.queued_bytes.fetch_add(bytes, Ordering::Relaxed);
        if before > 0 && before.saturating_add(bytes) > self.limit_bytes {
            self.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
            return self.drop_one();
        }
        let record = Record {
            seq: 0,
            time: unix_nanos(),
            dir: e.direction,
            peer: RecordPeer {
                address: e.peer.address.clone(),
                routing_id: e.peer.routing_id.clone(),
                key: e.peer.public_key.clone(),
            },
            request: e.request.to_vec(),
            reply: e.reply.map(<[Vec<u8>]>::to_vec),
            error: e.error.map(str::to_owned),
            dropped: e.dropped,
        };
        let pending = Pending { time: record.time, record, bytes };
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.sender.try_send(Message::Exchange(pending))
        {
            self.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
            self.drop_one();
        }
    }
}

/// A running recording: the recorder and its writer thread. [`Capture::close`] (or dropping
/// it) writes what is queued, the `end` line, and stops the thread.
pub struct Capture {
    recorder: Arc<Recorder>,
    thread: Mutex<Option<JoinHandle<()>>>,
    path: PathBuf,
}

impl Capture {
    /// Rotate away any file at `options.path`, start the first file (its header from
    /// `snapshot`) and the writer thread. Fails if the file cannot be created.
    pub fn start(options: CaptureOptions, snapshot: Snapshot) -> Result<Capture> {
        let (recorder, receiver) = Recorder::new(options.queue_records, options.queue_bytes);
        let recorder = Arc::new(recorder);
        let session = unix_nanos();
        if options.path.metadata().is_ok_and(|m| m.len() > 0) {
            rotate(&options.path, options.keep).map_err(|e| CaptureError::io(options.path.display(), e))?;
        }
        let file = FileWriter::create(&options.path, &header(&options, &snapshot(), session, 0, 1))?;
        recorder.files.store(1, Ordering::Relaxed);
        info!(target: TARGET, path = %options.path.display(), max_bytes = options.max_bytes, keep = options.keep,
              "capturing peer messages");
        let path = options.path.clone();
        let writer = Writer {
            options,
            snapshot,
            session,
            part: 0,
            next_seq: 1,
            file: Some(file),
            recorder: Arc::clone(&recorder),
            reported_drops: 0,
            failing: false,
        };
        let thread = std::thread::Builder::new()
            .name("capture-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(|e| CaptureError::io("capture writer thread", e))?;
        Ok(Capture { recorder, thread: Mutex::new(Some(thread)), path })
    }

    /// The tap to give the listener and the upstreams.
    pub fn tap(&self) -> Arc<dyn Tap> {
        Arc::clone(&self.recorder) as Arc<dyn Tap>
    }

    /// The current file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The counters now.
    pub fn stats(&self) -> CaptureStats {
        self.recorder.stats()
    }

    /// Stop taking exchanges, write what is queued and the `end` line, and wait for the
    /// writer. Exchanges shown to the tap afterwards (by an upstream still winding down) are
    /// ignored.
    pub fn close(&self) -> CaptureStats {
        let thread = lock(&self.thread).take();
        if let Some(thread) = thread {
            self.recorder.closed.store(true, Ordering::Relaxed);
            // Waits for room only while the writer drains; fails at once if it is gone.
            let _ = self.recorder.sender.send(Message::Stop);
            if thread.join().is_err() {
                error!(target: TARGET, "capture writer panicked");
            }
        }
        self.stats()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        self.close();
    }
}

fn header(options: &CaptureOptions, node: &NodeSnapshot, session: u64, part: u32, first_seq: u64) -> Line {
    Line::Header(Header {
        format: format::FORMAT_VERSION,
        tool: options.tool.clone(),
        chain: node.chain.name().to_string(),
        node_key: node.node_key.to_vec(),
        height: node.height,
        digest: node.digest.clone(),
        mode: if node.normal { "normal" } else { "resynchronise" }.to_string(),
        session: session.to_string(),
        part,
        first_seq,
        time: unix_nanos(),
    })
}

/// Shift `path.1..` up by one (dropping what would pass `keep`) and move `path` to `path.1`
/// (or delete it when `keep` is 0).
fn rotate(path: &Path, keep: usize) -> std::io::Result<()> {
    let numbered = |n: usize| {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    };
    if keep == 0 {
        return std::fs::remove_file(path);
    }
    match std::fs::remove_file(numbered(keep)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    for n in (1..keep).rev() {
        match std::fs::rename(numbered(n), numbered(n + 1)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    std::fs::rename(path, numbered(1))
}

/// One open capture file and how much it holds.
struct FileWriter {
    out: BufWriter<File>,
    bytes: u64,
    header_bytes: u64,
}

impl FileWriter {
    /// Create (truncating) `path` with mode 0600 and write `header`.
    fn create(path: &Path, header: &Line) -> Result<FileWriter> {
        let mut open = OpenOptions::new();
        open.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
        let file = open.open(path).map_err(|e| CaptureError::io(path.display(), e))?;
        let mut writer = FileWriter { out: BufWriter::with_capacity(1 << 16, file), bytes: 0, header_bytes: 0 };
        writer.write(&header.to_json()).map_err(|e| CaptureError::io(path.display(), e))?;
        writer.header_bytes = writer.bytes;
        Ok(writer)
    }

    fn write(&mut self, line: &str) -> std::io::Result<()> {
        self.out.write_all(line.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.bytes += line.len() as u64 + 1;
        Ok(())
    }

    /// Whether `line` and its newline fit in `max_bytes` (anything fits after the header alone).
    fn fits(&self, line: &str, max_bytes: u64) -> bool {
        self.bytes <= self.header_bytes || self.bytes + (line.len() as u64) < max_bytes
    }
}

/// The writer thread's state.
struct Writer {
    options: CaptureOptions,
    snapshot: Snapshot,
    session: u64,
    part: u32,
    next_seq: u64,
    file: Option<FileWriter>,
    recorder: Arc<Recorder>,
    reported_drops: u64,
    failing: bool,
}

impl Writer {
    fn run(mut self, receiver: Receiver<Message>) {
        'running: loop {
            loop {
                match receiver.try_recv() {
                    Ok(Message::Exchange(pending)) => self.exchange(pending),
                    Ok(Message::Stop) | Err(TryRecvError::Disconnected) => break 'running,
                    Err(TryRecvError::Empty) => break,
                }
            }
            self.flush();
            std::thread::sleep(DRAIN_INTERVAL);
        }
        let now = unix_nanos();
        self.report_drops(now);
        let stats = self.recorder.stats();
        let seq = self.take_seq();
        self.write(&Line::End(End { seq, time: now, records: stats.records, dropped: stats.dropped }));
        self.flush();
        info!(target: TARGET, records = stats.records, dropped = stats.dropped, files = stats.files, "capture closed");
    }

    fn exchange(&mut self, pending: Pending) {
        self.recorder.queued_bytes.fetch_sub(pending.bytes, Ordering::Relaxed);
        self.report_drops(pending.time);
        let mut record = pending.record;
        record.seq = self.take_seq();
        if self.write(&Line::Exchange(record)) {
            self.recorder.written.fetch_add(1, Ordering::Relaxed);
        } else {
            self.recorder.drop_one();
        }
    }

    fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// A `dropped` line for the exchanges lost since the last one, if any.
    fn report_drops(&mut self, time: u64) {
        let dropped = self.recorder.dropped.load(Ordering::Relaxed);
        if dropped > self.reported_drops {
            let count = dropped - self.reported_drops;
            self.reported_drops = dropped;
            let seq = self.take_seq();
            self.write(&Line::Dropped(Dropped { seq, time, count }));
        }
    }

    /// Write one line, rotating first if it would not fit. False if it could not be written.
    fn write(&mut self, line: &Line) -> bool {
        let text = line.to_json();
        let fits = self.file.as_ref().is_some_and(|f| f.fits(&text, self.options.max_bytes));
        if !fits {
            self.next_file(line.seq().unwrap_or(self.next_seq));
        }
        let Some(file) = self.file.as_mut() else {
            return false;
        };
        match file.write(&text) {
            Ok(()) => {
                self.failing = false;
                true
            }
            Err(e) => {
                if !self.failing {
                    error!(target: TARGET, path = %self.options.path.display(), error = %e, "capture write failed; records are lost until writes succeed");
                    self.failing = true;
                }
                false
            }
        }
    }

    /// Close the current file, rotate, and start the next part with `first_seq`.
    fn next_file(&mut self, first_seq: u64) {
        self.flush();
        self.file = None;
        if let Err(e) = rotate(&self.options.path, self.options.keep) {
            warn!(target: TARGET, path = %self.options.path.display(), error = %e, "capture rotation failed");
        }
        self.part += 1;
        let header = header(&self.options, &(self.snapshot)(), self.session, self.part, first_seq);
        match FileWriter::create(&self.options.path, &header) {
            Ok(file) => {
                self.file = Some(file);
                self.recorder.files.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => error!(target: TARGET, error = %e, "cannot start the next capture file; records are lost"),
        }
    }

    fn flush(&mut self) {
        if let Some(Err(e)) = self.file.as_mut().map(|f| f.out.flush()) {
            if !self.failing {
                error!(target: TARGET, path = %self.options.path.display(), error = %e, "capture flush failed");
                self.failing = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitmark_peer::capture::Direction;
    use bitmark_peer::transport::PeerInfo;

    fn snapshot() -> Snapshot {
        Box::new(|| NodeSnapshot {
            chain: Chain::Local,
            node_key: [9; 32],
            height: 5,
            digest: "ab".repeat(32),
            normal: true,
        })
    }

    fn peer() -> PeerInfo {
        PeerInfo { address: Some("127.0.0.1".into()), routing_id: vec![1, 2], public_key: Some(vec![3; 32]) }
    }

    fn show(tap: &dyn Tap, request: &[u8], reply_bytes: usize) {
        let request = vec![b"local".to_vec(), request.to_vec()];
        let reply = vec![b"B".to_vec(), vec![7; reply_bytes]];
        let peer = peer();
        tap.exchange(&Exchange {
            direction: Direction::In,
            peer: &peer,
            request: &request,
            reply: Some(&reply),
            error: None,
            dropped: false,
        });
    }

    fn lines(path: &Path) -> Vec<Line> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| format::parse_line(l.as_bytes()).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    #[test]
    fn a_session_is_a_header_its_records_in_order_and_an_end() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("cap.jsonl");
        let capture = Capture::start(CaptureOptions::new(path.clone(), "test 1"), snapshot()).unwrap();
        for i in 0..10u8 {
            show(capture.tap().as_ref(), &[i], 3);
        }
        let stats = capture.close();
        assert_eq!(stats, CaptureStats { records: 10, dropped: 0, files: 1 });
        let lines = lines(&path);
        let Line::Header(h) = &lines[0] else { panic!("{:?}", lines[0]) };
        assert_eq!((h.tool.as_str(), h.chain.as_str(), h.height, h.mode.as_str()), ("test 1", "local", 5, "normal"));
        assert_eq!((h.node_key.as_slice(), h.part, h.first_seq), ([9; 32].as_slice(), 0, 1));
        for (i, line) in lines[1..11].iter().enumerate() {
            let Line::Exchange(r) = line else { panic!("{line:?}") };
            assert_eq!((r.seq, r.request[1].as_slice()), (i as u64 + 1, [i as u8].as_slice()));
            assert_eq!(r.peer.key.as_deref(), Some([3; 32].as_slice()));
        }
        assert_eq!(lines[11], Line::End(End { seq: 11, time: lines[11].time(), records: 10, dropped: 0 }));
        // Shown after the close: ignored.
        show(capture.tap().as_ref(), b"late", 1);
        assert_eq!(capture.stats().records, 10);
    }

    #[test]
    fn files_rotate_at_the_size_keeping_the_newest_and_numbering_across_them() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("cap.jsonl");
        // A previous session's file is rotated away at start.
        std::fs::write(&path, "old\n").unwrap();
        let options = CaptureOptions { max_bytes: 4096, keep: 2, ..CaptureOptions::new(path.clone(), "t") };
        let capture = Capture::start(options, snapshot()).unwrap();
        // Each record is about 1.2 kB of hex: three fit in a file.
        for i in 0..20u8 {
            show(capture.tap().as_ref(), &[i], 500);
        }
        let stats = capture.close();
        assert_eq!((stats.records, stats.dropped), (20, 0));
        assert!(stats.files >= 6, "{stats:?}");
        let rotated = |n: usize| tmp.path().join(format!("cap.jsonl.{n}"));
        assert!(rotated(1).exists() && rotated(2).exists() && !rotated(3).exists(), "keep 2");
        let mut seqs = Vec::new();
        for file in [rotated(2), rotated(1), path.clone()] {
            assert!(std::fs::metadata(&file).unwrap().len() <= 4096, "{}", file.display());
            let lines = lines(&file);
            let Line::Header(h) = &lines[0] else { panic!("no header in {}", file.display()) };
            assert_eq!(lines[1].seq(), Some(h.first_seq));
            seqs.extend(lines[1..].iter().filter_map(Line::seq));
        }
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
        assert_eq!(seqs.last(), Some(&21), "20 records and the end line");
    }

    #[test]
    fn a_full_channel_drops_and_counts_without_blocking() {
        // No writer: the channel fills.
        let (recorder, receiver) = Recorder::new(3, 1 << 20);
        for i in 0..5u8 {
            show(&recorder, &[i], 1);
        }
        assert_eq!(recorder.stats().dropped, 2);
        assert_eq!(receiver.try_iter().count(), 3);
        // By bytes: a big exchange is taken when nothing waits, the next one is not.
        let (recorder, _receiver) = Recorder::new(100, 1000);
        show(&recorder, b"big", 5000);
        show(&recorder, b"small", 10);
        assert_eq!(recorder.stats().dropped, 1);
    }

    #[test]
    fn lost_exchanges_are_marked_where_they_were_lost() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("cap.jsonl");
        let capture = Capture::start(CaptureOptions::new(path.clone(), "t"), snapshot()).unwrap();
        show(capture.tap().as_ref(), b"N", 1);
        while capture.stats().records < 1 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        capture.recorder.dropped.fetch_add(4, Ordering::Relaxed);
        show(capture.tap().as_ref(), b"N", 1);
        capture.close();
        let kinds: Vec<String> = lines(&path).iter().map(|l| l.to_json()[9..13].to_string()).collect();
        assert_eq!(kinds, ["head", "exch", "drop", "exch", "end\""]);
        let Line::Dropped(d) = &lines(&path)[2] else { panic!() };
        assert_eq!(d.count, 4);
    }

    #[test]
    fn an_unwritable_path_fails_the_start() {
        let tmp = tempfile::tempdir().unwrap();
        let e = Capture::start(CaptureOptions::new(tmp.path().join("no/such/dir/c"), "t"), snapshot());
        assert!(e.is_err());
    }

    trait Time {
        fn time(&self) -> u64;
    }

    impl Time for Line {
        fn time(&self) -> u64 {
            match self {
                Line::Header(h) => h.time,
                Line::Exchange(r) => r.time,
                Line::Dropped(d) => d.time,
                Line::End(e) => e.time,
            }
        }
    }
}
