//! `bitmark-node`: a Rust implementation of the bitmarkd peer subsystem.
//!
//! Every command prints one JSON object to stdout (or, for `encode` and `genesis`, one line of
//! hex). Failures print `{"error": "<text>"}` and exit with status 1; for chain-format errors the
//! text is bitmarkd's fault text, so tools can compare our answers with bitmarkd's.

use bitmark_node::commands;
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
    /// Print a chain's genesis block as hex.
    Genesis {
        /// bitmark, testing or local.
        #[arg(long, default_value = "bitmark")]
        chain: Chain,
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
}

fn run(cli: &Cli) -> Result<Output> {
    use commands::*;
    Ok(match &cli.command {
        Command::Decode(DecodeCommand::Tx { chain, hex }) => Output::Json(decode::tx(*chain, &arg_or_stdin(hex)?)?),
        Command::Decode(DecodeCommand::Block { chain, hex }) => {
            Output::Json(decode::block(*chain, &arg_or_stdin(hex)?)?)
        }
        Command::Decode(DecodeCommand::Account { base58 }) => Output::Json(decode::account(base58)?),
        Command::Encode(EncodeCommand::Tx { chain, signer }) => {
            Output::Line(encode::tx(*chain, &arg_or_stdin("-")?, signer.as_deref())?)
        }
        Command::Keygen { dir } => Output::Json(keygen::run(dir)?),
        Command::Genesis { chain } => Output::Line(hex::encode(bitmark_record::genesis::block(*chain))),
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let print = |v: &serde_json::Value| {
        if cli.pretty { serde_json::to_string_pretty(v) } else { serde_json::to_string(v) }.unwrap_or_default()
    };
    match run(&cli) {
        Ok(Output::Json(v)) => {
            println!("{}", print(&v));
            ExitCode::SUCCESS
        }
        Ok(Output::Line(s)) => {
            println!("{s}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{}", print(&serde_json::json!({ "error": e.to_string() })));
            ExitCode::FAILURE
        }
    }
}
