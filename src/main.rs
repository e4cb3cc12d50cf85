//! `bitmark-node`: a Rust implementation of the bitmarkd peer subsystem.
//!
//! Every command prints one JSON object to stdout (or, for `encode` and `genesis`, one line of
//! hex; `replay` and `capture inspect` print text unless given `--json`). Failures print `{"error": "<text>"}` and exit with status 1; for chain-format errors the
//! text is bitmarkd's fault text, so tools can compare our answers with bitmarkd's.

use bitmark_capture::replay::ReplayOptions;
use bitmark_netem::regions::Regions;
use bitmark_node::commands;
use bitmark_node::config::RunArgs;
use bitmark_node::error::{NodeError, Result};
use bitmark_record::Chain;
use clap::{Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "bitmark-node", version, about = "bitmarkd-compatible peer node")]
struct Cli {
    /// Pretty-print JSON output.
    #[arg(long, global = true)]
    pretty: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the node: serve the chain to peers, connect to the configured ones, report status.
    /// Prints one JSON line when it is up; SIGINT or SIGTERM stops it cleanly.
    Run(RunArgs),
    /// Decode a packed transaction, block or account and report what bitmarkd would.
    #[command(subcommand)]
    Decode(DecodeCommand),
    /// Re-pack a decoded record: reads `decode tx` JSON on stdin, prints the packed hex.
    #[command(subcommand)]
    Encode(EncodeCommand),
    /// Make a CURVE key pair for the peer listener (`peer.private`, `peer.public`).
    Keygen {
        /// Directory for the key files; created if missing. Existing files are never overwritten.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Build a deterministic, valid local test chain in an empty data directory.
    Testchain {
        /// Only `local`: test-chain blocks carry no proof of work.
        #[arg(long, default_value = "local")]
        chain: Chain,
        /// Target height (genesis is block 1).
        #[arg(long)]
        blocks: u64,
        /// Where the chain database goes.
        #[arg(long)]
        data_dir: PathBuf,
        /// Seed of the accounts and of every choice: the same seed gives the same bytes.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Records per block besides the foundation record.
        #[arg(long, default_value_t = 8)]
        txs_per_block: usize,
        /// Take the blocks from the generated-chain cache, making and adding there what it
        /// lacks, and store them with their known digests (no Argon2d). The cache is
        /// `--cache-dir`, else `$BITMARK_CHAIN_CACHE`, else `testchains` in the cargo target
        /// directory.
        #[arg(long)]
        cache: bool,
        /// The generated-chain cache directory (implies `--cache`).
        #[arg(long, value_name = "DIR")]
        cache_dir: Option<PathBuf>,
    },
    /// A local network in one command: build a test chain for node 0, start K nodes peered over
    /// CURVE on loopback, show their heights until all agree on node 0's tip, print a summary.
    /// Exits 1 if they do not converge in time.
    Testnet {
        /// How many nodes.
        #[arg(long, default_value_t = 4)]
        nodes: usize,
        /// Height of node 0's test chain (genesis is block 1).
        #[arg(long, default_value_t = 30)]
        blocks: u64,
        /// Where the nodes' data directories go (default: a temporary directory, deleted at
        /// the end unless --keep).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Node i listens on P+2i and serves status on P+2i+1 (default: free ports).
        #[arg(long)]
        base_port: Option<u16>,
        /// Leave the nodes running (and the directory in place); the summary lists their pids
        /// and status addresses.
        #[arg(long)]
        keep: bool,
        /// Give up after this long (e.g. `10m`, `90s`).
        #[arg(long, default_value = "10m", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
        /// Put the nodes in this many regions (node i in region i mod R) and connect them
        /// through emulated links with the round trips below (default: direct loopback).
        #[arg(long)]
        regions: Option<usize>,
        /// With --regions: the round trip between two nodes of one region.
        #[arg(long, default_value = "20ms", value_parser = humantime::parse_duration)]
        inside_rtt: std::time::Duration,
        /// With --regions: the round trip between two regions, drawn per pair of regions from
        /// this range (`80ms-150ms`) or fixed (`100ms`).
        #[arg(long, default_value = "80ms-150ms", value_parser = commands::links::parse_rtt_range)]
        between_rtt: (std::time::Duration, std::time::Duration),
    },
    /// Move unconfirmed transactions between the reservoir and bitmarkd's `reservoir.cache`
    /// (the node must be stopped).
    #[command(subcommand)]
    Reservoir(ReservoirCommand),
    /// Re-verify a stored chain: linkage, digests, merkle roots and every index, on a copy (the
    /// data directory is never written).
    Check {
        /// The node's data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// The chain (default: the one chain whose database is in the directory).
        #[arg(long)]
        chain: Option<Chain>,
        /// Recompute every block's Argon2d digest instead of trusting the stored ones (slow:
        /// about 0.3 s per block per core).
        #[arg(long)]
        recompute_digests: bool,
        /// Where the copy of the database that is checked goes (default: the system's
        /// temporary directory); it needs room for the whole database.
        #[arg(long, value_name = "DIR")]
        scratch: Option<PathBuf>,
    },
    /// Benchmarks, each beside a reference measured in the same run: `sync`, `listener`,
    /// `reservoir`, `memory`, `soak`.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Re-run the inbound requests of a capture (`run --capture`) against a node state opened
    /// from a data directory, or a live node, and compare every reply with the recorded one.
    /// Exits 1 if any differs.
    Replay {
        /// The capture files of one session, oldest first (`FILE.2 FILE.1 FILE`).
        #[arg(required = true)]
        captures: Vec<PathBuf>,
        /// Replay against the chain and reservoir in this data directory (pushes change it:
        /// use a copy).
        #[arg(long, required_unless_present = "target", conflicts_with = "target")]
        data_dir: Option<PathBuf>,
        /// Replay against a live node at tcp://HOST:PORT over CURVE.
        #[arg(long, requires = "server_key")]
        target: Option<String>,
        /// The live node's public key file (its peer.public).
        #[arg(long)]
        server_key: Option<PathBuf>,
        /// max: as fast as answered; realtime: with the recorded gaps.
        #[arg(long, value_enum, default_value = "max")]
        speed: Speed,
        /// The first sequence number replayed.
        #[arg(long, value_name = "SEQ")]
        from: Option<u64>,
        /// The last sequence number replayed.
        #[arg(long, value_name = "SEQ")]
        to: Option<u64>,
        /// Only requests with this function (repeatable: --filter N --filter B).
        #[arg(long, value_name = "CMD")]
        filter: Vec<String>,
        /// Print the JSON report instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Configuration files: `default` prints the annotated default configuration, `import`
    /// converts a bitmarkd configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Capture files: `inspect`.
    #[command(subcommand)]
    Capture(CaptureCommand),
    /// Print a chain's genesis block as hex.
    Genesis {
        /// bitmark, testing or local.
        #[arg(long, default_value = "bitmark")]
        chain: Chain,
    },
}

/// How fast `replay` sends requests.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum Speed {
    /// One after the other, as fast as they are answered.
    Max,
    /// With the recorded gaps between them.
    Realtime,
}

impl From<Speed> for bitmark_capture::replay::Speed {
    fn from(speed: Speed) -> Self {
        match speed {
            Speed::Max => Self::Max,
            Speed::Realtime => Self::Realtime,
        }
    }
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the annotated default configuration: every setting with its default value, and
    /// examples of the optional ones (TOML, for `run --config`).
    Default,
    /// Evaluate a bitmarkd configuration (Lua, as bitmarkd does) and print the equivalent TOML,
    /// listing every setting that does not carry over and the steps that move bitmarkd's files.
    /// Reads only.
    Import {
        /// bitmarkd's configuration file, e.g. /etc/bitmarkd.conf.
        file: PathBuf,
        /// Print `{"toml","notCarried","steps"}` instead of the TOML.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum CaptureCommand {
    /// Summarise capture files (counts by command, direction and peer, time span, errors,
    /// damaged lines) and list every exchange.
    Inspect {
        /// The capture files, oldest first.
        #[arg(required = true)]
        captures: Vec<PathBuf>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// The summary only, without the listing.
        #[arg(long)]
        no_list: bool,
    },
}

#[derive(Subcommand)]
enum ReservoirCommand {
    /// Re-submit every record of a bitmarkd `reservoir.cache` through the reservoir's checks.
    Import {
        /// The node's data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// The chain (default: the one chain whose database is in the directory).
        #[arg(long)]
        chain: Option<Chain>,
        /// bitmarkd's `reservoir.cache` (format v1.0).
        file: PathBuf,
    },
    /// Write what the reservoir holds as a bitmarkd `reservoir.cache` (mode 0600).
    Export {
        /// The node's data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// The chain (default: the one chain whose database is in the directory).
        #[arg(long)]
        chain: Option<Chain>,
        /// Where to write it.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum DecodeCommand {
    /// A packed transaction record.
    Tx {
        /// bitmark, testing or local: decides which network's accounts are valid.
        #[arg(long, default_value = "bitmark")]
        chain: Chain,
        /// The record as hex, or `-` to read it from stdin.
        hex: String,
    },
    /// A packed block: header, digest, transactions and stateless checks.
    Block {
        /// bitmark, testing or local.
        #[arg(long, default_value = "bitmark")]
        chain: Chain,
        /// The block as hex, or `-` to read it from stdin.
        hex: String,
    },
    /// A base58 account string.
    Account {
        /// The account, e.g. as printed in bitmarkd's JSON.
        base58: String,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// A fresh node syncs a generated test chain from in-memory peers with full verification:
    /// blocks/s of the pipeline, of bitmarkd's shape, and the Argon2d limit.
    Sync {
        /// Height of the test chain (genesis is block 1).
        #[arg(long, default_value_t = 60)]
        blocks: u64,
        /// Peers holding the chain.
        #[arg(long, default_value_t = 3)]
        peers: usize,
        /// Digest threads (default: every core).
        #[arg(long)]
        threads: Option<usize>,
        /// Print the JSON report instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Requests per second of `N` against the listener beside a bare CURVE echo server.
    Listener {
        /// Concurrent clients.
        #[arg(long, default_value_t = 4)]
        clients: usize,
        /// Seconds per server.
        #[arg(long, default_value_t = 4)]
        seconds: u64,
        /// Instead: the listener without and with a capture recording to a temporary file,
        /// and their ratio (what capturing costs); always printed as JSON.
        #[arg(long)]
        capture: bool,
        /// Print the JSON report instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Free issues per second into a real sled-backed reservoir beside raw Ed25519
    /// verifications per second of the same records.
    Reservoir {
        /// Issues submitted (at most 20 000).
        #[arg(long, default_value_t = 20_000)]
        items: usize,
        /// Issues per submission (1 to 100).
        #[arg(long, default_value_t = 100)]
        batch: usize,
        /// Submitting and verifying threads (default: every core).
        #[arg(long)]
        threads: Option<usize>,
        /// Print the JSON report instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// bitmarkd's client RPC of a real node over TLS: `Node.Info` requests/s beside a bare
    /// tokio + rustls echo, and `Bitmarks.Create` issues/s beside `bench reservoir`.
    Rpc {
        /// Concurrent `Node.Info` clients.
        #[arg(long, default_value_t = 16)]
        clients: usize,
        /// Seconds of `Node.Info` load per server.
        #[arg(long, default_value_t = 4)]
        seconds: u64,
        /// Free issues submitted with `Bitmarks.Create` (at most 20 000).
        #[arg(long, default_value_t = 5_000)]
        issues: usize,
        /// Issues per request (1 to 100).
        #[arg(long, default_value_t = 100)]
        batch: usize,
        /// Submitting clients (default: every core).
        #[arg(long)]
        threads: Option<usize>,
        /// Print the JSON report instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Real nodes syncing a generated chain of thousands of blocks over loopback and emulated
    /// links: blocks/s of full verification, fast sync and bitmarkd's shape at each round trip,
    /// beside the store's apply rate and the Argon2d limit.
    Scale {
        /// Height of the chain (genesis is block 1). Generated once into the generated-chain
        /// cache: an Argon2d digest per block, about half an hour for 5 000.
        #[arg(long, default_value_t = 5001)]
        blocks: u64,
        /// Nodes serving the chain.
        #[arg(long, default_value_t = 3)]
        peers: usize,
        /// Round trips of the emulated links, comma-separated; 0 dials directly over loopback.
        #[arg(long, value_delimiter = ',', default_value = "0,50ms,150ms,300ms", value_parser = parse_rtt)]
        rtt: Vec<std::time::Duration>,
        /// The modes measured at each round trip, comma-separated.
        #[arg(long, value_delimiter = ',', value_enum, default_value = "full,fast,bitmarkd")]
        mode: Vec<commands::bench::scale::Mode>,
        /// Blocks synced by the full-verification modes, the last of the chain (0: all of it;
        /// the syncing node then needs an Argon2d digest per block: a quarter of an hour per
        /// 5 000-block run on two cores, bitmarkd's shape twice that).
        #[arg(long, default_value_t = 0)]
        tail: u64,
        /// Print the JSON report instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Peak resident memory of real node processes: one syncing a generated chain, one
    /// holding pending issues.
    Memory {
        /// Height of the chain synced (0: skip this part). 500 takes minutes: an Argon2d
        /// digest per block to build it (once: the chain is kept in the generated-chain cache),
        /// and again to verify it.
        #[arg(long, default_value_t = 500)]
        blocks: u64,
        /// Pending free issues held (0: skip this part; at most 20 000).
        #[arg(long, default_value_t = 20_000)]
        pending: usize,
        /// The syncing node fast-syncs (bitmarkd's `fast_sync`: digests from the next header,
        /// sampled) instead of verifying every block.
        #[arg(long)]
        fast_sync: bool,
        /// Print the JSON report instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// A real node under a steady stream of pushes: resident memory over time, and whether it
    /// stays flat after warm-up (exit 1 if not).
    Soak {
        /// How long the stream lasts.
        #[arg(long, default_value_t = 180)]
        seconds: u64,
        /// Between two memory samples, e.g. `1s` or `500ms`.
        #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
        interval: std::time::Duration,
        /// Between two new groups of paid issues; `0s`: none, the flood alone.
        #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
        new_every: std::time::Duration,
        /// Judge the samples with a leak of this many bytes per second added, to show that the
        /// verdict catches it (100000 fails a 180-s run).
        #[arg(long, value_name = "BYTES_PER_SECOND")]
        simulate_leak: Option<u64>,
        /// Print the JSON report instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// The JSON reports of the other benches (`--json` output saved to files) as one Markdown
    /// table: figure, reference, ratio.
    Table {
        /// Report files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum EncodeCommand {
    /// A transaction record from `decode tx` JSON on stdin.
    Tx {
        /// bitmark, testing or local.
        #[arg(long, default_value = "bitmark")]
        chain: Chain,
        /// The account that signed a transfer (the link's owner, which the record does not carry);
        /// with it the signature is verified, without it a transfer is packed unverified.
        #[arg(long)]
        signer: Option<String>,
    },
}

/// A round trip: `0` (no emulated link) or a duration such as `150ms`.
fn parse_rtt(text: &str) -> std::result::Result<std::time::Duration, String> {
    if text.trim() == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    humantime::parse_duration(text.trim()).map_err(|e| e.to_string())
}

/// The argument itself, or stdin when it is `-`; surrounding white space removed.
fn arg_or_stdin(arg: &str) -> Result<String> {
    if arg != "-" {
        return Ok(arg.trim().to_string());
    }
    let mut s = String::new();
    std::io::stdin().read_to_string(&mut s).map_err(|e| NodeError::io("stdin", e))?;
    Ok(s.trim().to_string())
}

/// What a command prints on success.
enum Output {
    Json(serde_json::Value),
    Line(String),
    /// A human summary of a report, and whether the report is a pass.
    Summary {
        text: String,
        ok: bool,
    },
    /// Printed already (`run` prints when the node is up).
    Nothing,
    /// Text for people, and whether the command succeeded (exit status 0 or 1).
    Report {
        text: String,
        ok: bool,
    },
}

fn run(cli: &Cli) -> Result<Output> {
    use commands::*;
    Ok(match &cli.command {
        Command::Run(args) => {
            // Always one line, `--pretty` or not: scripts read the first line.
            run::run(args, |ready| println!("{ready}"))?;
            Output::Nothing
        }
        Command::Decode(DecodeCommand::Tx { chain, hex }) => Output::Json(decode::tx(*chain, &arg_or_stdin(hex)?)?),
        Command::Decode(DecodeCommand::Block { chain, hex }) => {
            Output::Json(decode::block(*chain, &arg_or_stdin(hex)?)?)
        }
        Command::Decode(DecodeCommand::Account { base58 }) => Output::Json(decode::account(base58)?),
        Command::Encode(EncodeCommand::Tx { chain, signer }) => {
            Output::Line(encode::tx(*chain, &arg_or_stdin("-")?, signer.as_deref())?)
        }
        Command::Keygen { dir } => Output::Json(keygen::run(dir)?),
        Command::Testchain { chain, blocks, data_dir, seed, txs_per_block, cache, cache_dir } => {
            let cache = cache_dir.clone().or_else(|| cache.then(testchain::default_cache_dir));
            Output::Json(testchain::run_cached(
                data_dir,
                testchain::Options { chain: *chain, blocks: *blocks, seed: *seed, txs_per_block: *txs_per_block },
                cache.as_deref(),
            )?)
        }
        Command::Testnet { nodes, blocks, dir, base_port, keep, timeout, regions, inside_rtt, between_rtt } => {
            Output::Json(testnet::run(&testnet::Options {
                nodes: *nodes,
                blocks: *blocks,
                dir: dir.clone(),
                base_port: *base_port,
                keep: *keep,
                timeout: *timeout,
                regions: regions.map(|count| Regions {
                    count: count.max(1),
                    inside: *inside_rtt,
                    between: *between_rtt,
                    ..Regions::default()
                }),
            })?)
        }
        Command::Reservoir(ReservoirCommand::Import { data_dir, chain, file }) => {
            Output::Json(reservoir_cache::import(data_dir, *chain, file)?)
        }
        Command::Reservoir(ReservoirCommand::Export { data_dir, chain, file }) => {
            Output::Json(reservoir_cache::export(data_dir, *chain, file)?)
        }
        Command::Check { data_dir, chain, recompute_digests, scratch } => {
            Output::Json(check::run(data_dir, *chain, *recompute_digests, scratch.as_deref())?)
        }
        Command::Bench(BenchCommand::Sync { blocks, peers, threads, json }) => {
            report(*json, bench::sync(*blocks, *peers, *threads)?, bench::sync_summary)
        }
        Command::Bench(BenchCommand::Listener { clients, seconds, capture: false, json }) => {
            report(*json, bench::listener(*clients, *seconds)?, bench::listener_summary)
        }
        Command::Bench(BenchCommand::Reservoir { items, batch, threads, json }) => {
            let threads = threads.unwrap_or_else(bitmark_storage::digest_pool::default_threads);
            let options = bench::reservoir::Options { items: *items, batch: *batch, threads };
            report(*json, bench::reservoir::run(options)?, bench::reservoir::summary)
        }
        Command::Bench(BenchCommand::Rpc { clients, seconds, issues, batch, threads, json }) => {
            let threads = threads.unwrap_or_else(bitmark_storage::digest_pool::default_threads);
            let options =
                bench::rpc::Options { clients: *clients, seconds: *seconds, issues: *issues, batch: *batch, threads };
            report(*json, bench::rpc::run(options)?, bench::rpc::summary)
        }
        Command::Bench(BenchCommand::Scale { blocks, peers, rtt, mode, tail, json }) => {
            let options = bench::scale::Options {
                blocks: *blocks,
                peers: *peers,
                rtts: rtt.clone(),
                modes: mode.clone(),
                tail: *tail,
            };
            report(*json, bench::scale::run(&options)?, bench::scale::summary)
        }
        Command::Bench(BenchCommand::Memory { blocks, pending, fast_sync, json }) => {
            let options = bench::memory::Options { blocks: *blocks, pending: *pending, fast_sync: *fast_sync };
            report(*json, bench::memory::run(options)?, bench::memory::summary)
        }
        Command::Bench(BenchCommand::Soak { seconds, interval, new_every, simulate_leak, json }) => {
            let new_every = Some(*new_every).filter(|d| !d.is_zero());
            let options = bench::soak::Options {
                seconds: *seconds,
                interval: *interval,
                new_every,
                simulated_leak: *simulate_leak,
            };
            report(*json, bench::soak::run(options)?, bench::soak::summary)
        }
        Command::Bench(BenchCommand::Table { files }) => {
            let reports = files
                .iter()
                .map(|f| {
                    let text = std::fs::read_to_string(f).map_err(|e| NodeError::io(f.display(), e))?;
                    serde_json::from_str(&text).map_err(|e| NodeError::Input(format!("{}: {e}", f.display())))
                })
                .collect::<Result<Vec<serde_json::Value>>>()?;
            Output::Line(bench::table::table(&reports).trim_end().to_string())
        }
        Command::Bench(BenchCommand::Listener { clients, seconds, capture: true, .. }) => {
            Output::Json(bench::listener_capture(*clients, *seconds)?)
        }
        Command::Replay { captures, data_dir, target, server_key, speed, from, to, filter, json } => {
            let against = match (data_dir, target, server_key) {
                (Some(dir), _, _) => replay::Against::DataDir(dir.clone()),
                (None, Some(target), Some(key)) => {
                    replay::Against::Live { target: target.clone(), server_key: key.clone() }
                }
                _ => return Err(NodeError::Input("give --data-dir, or --target with --server-key".into())),
            };
            let options = ReplayOptions { from: *from, to: *to, filter: filter.clone(), speed: (*speed).into() };
            let report = replay::run(captures, &against, &options)?;
            if *json {
                Output::Json(report.to_json())
            } else {
                Output::Report { text: report.to_text(), ok: report.ok() }
            }
        }
        Command::Capture(CaptureCommand::Inspect { captures, json, no_list }) => {
            let found = capture::inspect(captures, !no_list)?;
            if *json {
                Output::Json(found.to_json())
            } else {
                Output::Report { text: found.to_text(), ok: true }
            }
        }
        Command::Config(ConfigCommand::Default) => {
            Output::Line(bitmark_node::config::DEFAULT_CONFIG.trim_end().to_string())
        }
        Command::Config(ConfigCommand::Import { file, json }) => {
            let cwd = std::env::current_dir().map_err(|e| NodeError::io("current directory", e))?;
            let conversion = bitmark_node::migrate::import(file, &cwd).map_err(NodeError::Input)?;
            if *json {
                Output::Json(conversion.to_json())
            } else {
                Output::Line(conversion.toml.trim_end().to_string())
            }
        }
        Command::Genesis { chain } => Output::Line(hex::encode(bitmark_record::genesis::block(*chain))),
    })
}

/// A bench report: the JSON with `--json`, else its human summary; a failure either way when
/// the report says `"ok": false`.
fn report(json: bool, value: serde_json::Value, summary: fn(&serde_json::Value) -> String) -> Output {
    if json {
        Output::Json(value)
    } else {
        Output::Summary { ok: value.get("ok") != Some(&serde_json::Value::Bool(false)), text: summary(&value) }
    }
}

fn print_json(pretty: bool, v: &serde_json::Value) -> String {
    if pretty { serde_json::to_string_pretty(v) } else { serde_json::to_string(v) }.unwrap_or_default()
}

/// clap's own refusal as the `{"error": ...}` every command prints on failure (exit status 1):
/// the error and clap's tips, on one line. Help and version requests print as clap prints them.
fn parse_arguments() -> std::result::Result<Cli, ExitCode> {
    use clap::error::ErrorKind;
    Cli::try_parse().map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // The help, for people, on stderr; the error, for scripts, on stdout.
            eprint!("{}", e.render());
            println!("{}", serde_json::json!({ "error": "missing a command; see --help" }));
            ExitCode::FAILURE
        }
        _ => {
            let text = e.render().to_string();
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            let first = lines.next().unwrap_or_default().trim_start_matches("error: ").to_string();
            let tips: Vec<&str> = lines.filter(|l| l.starts_with("tip:")).collect();
            let message = if tips.is_empty() { first } else { format!("{first} ({})", tips.join("; ")) };
            println!("{}", serde_json::json!({ "error": format!("{message}; see --help") }));
            ExitCode::FAILURE
        }
    })
}

fn main() -> ExitCode {
    let cli = match parse_arguments() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let print = |v: &serde_json::Value| print_json(cli.pretty, v);
    match run(&cli) {
        Ok(Output::Json(v)) => {
            println!("{}", print(&v));
            // A decoded block or a checked chain that fails is printed whole, but still a failure.
            let failed = |k: &str| v.get(k) == Some(&serde_json::Value::Bool(false));
            if failed("valid") || failed("ok") {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Ok(Output::Line(s)) => {
            println!("{s}");
            ExitCode::SUCCESS
        }
        Ok(Output::Summary { text, ok }) => {
            println!("{text}");
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Ok(Output::Nothing) => ExitCode::SUCCESS,
        Ok(Output::Report { text, ok }) => {
            println!("{text}");
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            println!("{}", print(&serde_json::json!({ "error": e.to_string() })));
            ExitCode::FAILURE
        }
    }
}
