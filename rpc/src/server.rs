//! The RPC server: bitmarkd's services (`rpc/server/server.go`) dispatched by
//! `Service.Method`, each with its own rate limiter, over a [`Backend`].
//!
//! Errors are the texts Go's `net/rpc` sends: `rpc: can't find service X.Y`, `rpc: can't find
//! method X.Y`, `rpc: service/method request ill-formed: X`, `jsonrpc: request body missing
//! params`, Go's JSON decoding errors for arguments of the wrong type, then each method's
//! bitmarkd fault.

use crate::args::first_param;
use crate::backend::Backend;
use crate::codec::Request;
use crate::limit::Limiter;
use crate::service;
use bitmark_common::lock;
use bitmark_record::Fault;
use bitmark_reservoir::{Reservoir, ReservoirError};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;

/// Every service bitmarkd registers, and its methods.
pub const METHODS: &[(&str, &[&str])] = &[
    ("Assets", &["Get"]),
    ("Bitmark", &["Transfer", "Provenance", "FullProvenance"]),
    ("Bitmarks", &["Create", "Proof"]),
    ("BlockOwner", &["TxIDForBlock", "Transfer"]),
    ("Node", &["List", "Info", "BlockDump", "BlockDecode", "BlockDumpRange"]),
    ("Owner", &["Bitmarks"]),
    ("Share", &["Create", "Balance", "Grant", "Swap"]),
    ("Transaction", &["Status"]),
];

/// bitmarkd's per-service limits: 200 requests/s with a burst of 100 (`Bitmarks`: burst of
/// `MaximumIssues`, also 100).
const RATE: f64 = 200.0;
const BURST: usize = 100;

/// Most Argon2d digests `Node.BlockDecode` computes at once (each takes 128 MiB and a core for
/// about a third of a second).
const DIGEST_PERMITS: usize = 1;

/// Settings of the RPC that are not the backend's.
#[derive(Clone, Debug)]
pub struct RpcOptions {
    /// The node's version text (`Node.Info`'s `version`).
    pub version: String,
    /// bitmarkd's `read_only`: every write method answers `not available in read-only mode`.
    pub read_only: bool,
    /// No rate limits (count limits still apply): for benchmarks of the RPC path only.
    pub unlimited: bool,
}

/// One rate limiter per service, as bitmarkd makes them.
pub(crate) struct Limiters {
    pub(crate) assets: Limiter,
    pub(crate) bitmark: Limiter,
    pub(crate) bitmarks: Limiter,
    pub(crate) block_owner: Limiter,
    pub(crate) node: Limiter,
    pub(crate) owner: Limiter,
    pub(crate) share: Limiter,
    pub(crate) transaction: Limiter,
}

/// The RPC services over a backend.
pub struct Rpc {
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) options: RpcOptions,
    pub(crate) limits: Limiters,
    pub(crate) started: Instant,
    /// Client RPC connections open (`Node.Info`'s `rpcs`).
    pub(crate) connections: AtomicU64,
    pub(crate) digests: Semaphore,
    /// The last `Node.Info` figures and when they were read ([`INFO_FRESH`]).
    pub(crate) info: std::sync::Mutex<Option<(Instant, crate::backend::NodeInfo)>>,
}

/// How long `Node.Info` figures are reused: they are a snapshot anyway, and reading them takes
/// locks a reservoir flush may hold, so they are read on the blocking pool at most this often.
pub(crate) const INFO_FRESH: std::time::Duration = std::time::Duration::from_millis(50);

/// A method's failure: a bitmarkd fault, or another text.
pub(crate) type Outcome = Result<Value, String>;

/// Run `work` on the blocking pool (sled, signatures, Argon2d); a panic or a cancelled task is
/// reported as an internal error rather than taking the connection down.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| Err(format!("internal error: {e}")))
}

/// The text a refusal of `reservoir` travels as: bitmarkd's fault, or the local failure. A
/// local failure (the database, not the record) is also logged for the operator, naming the
/// database and the recovery step, as the node's own storage errors do.
pub(crate) fn reservoir_text(reservoir: &Reservoir) -> impl Fn(ReservoirError) -> String + '_ {
    move |e| match e.fault() {
        Some(fault) => fault.to_string(),
        None => {
            let path = reservoir.path().map(|p| p.display().to_string()).unwrap_or_default();
            tracing::error!(target: "rpc", error = %e, database = %path,
                "reservoir database failure serving a client; to recover: stop the node and delete the reservoir database (unconfirmed records come back from peers)");
            e.to_string()
        }
    }
}

/// A fault as an error text.
pub(crate) fn fault(f: Fault) -> String {
    f.to_string()
}

impl Rpc {
    /// The services over `backend`.
    pub fn new(backend: Arc<dyn Backend>, options: RpcOptions) -> Arc<Rpc> {
        let unlimited = options.unlimited;
        let limiter = move |burst: usize| if unlimited { Limiter::unlimited(burst) } else { Limiter::new(RATE, burst) };
        Arc::new(Rpc {
            backend,
            options,
            limits: Limiters {
                assets: limiter(BURST),
                bitmark: limiter(BURST),
                bitmarks: limiter(bitmark_reservoir::MAXIMUM_ISSUES),
                block_owner: limiter(BURST),
                node: limiter(BURST),
                owner: limiter(BURST),
                share: limiter(BURST),
                transaction: limiter(BURST),
            },
            started: Instant::now(),
            connections: AtomicU64::new(0),
            digests: Semaphore::new(DIGEST_PERMITS),
            info: std::sync::Mutex::new(None),
        })
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// Client RPC connections open now.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    pub(crate) fn connection_opened(&self) -> u64 {
        self.connections.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub(crate) fn connection_closed(&self) {
        self.connections.fetch_sub(1, Ordering::Relaxed);
    }

    /// The node's figures, read at most every [`INFO_FRESH`].
    pub(crate) async fn node_info(&self) -> Result<crate::backend::NodeInfo, String> {
        let cached = {
            let cache = lock(&self.info);
            cache.as_ref().filter(|(at, _)| at.elapsed() < INFO_FRESH).map(|(_, info)| info.clone())
        };
        if let Some(info) = cached {
            return Ok(info);
        }
        let backend = Arc::clone(&self.backend);
        let info = blocking(move || Ok(backend.info())).await?;
        *lock(&self.info) = Some((Instant::now(), info.clone()));
        Ok(info)
    }

    /// `not available in read-only mode` when the node is read-only.
    pub(crate) fn writable(&self) -> Result<(), String> {
        if self.options.read_only {
            return Err(fault(Fault::NotAvailableInReadOnlyMode));
        }
        Ok(())
    }

    /// `not available during synchronise` unless the node is in normal mode.
    pub(crate) fn normal(&self) -> Result<(), String> {
        if !self.backend.is_normal() {
            return Err(fault(Fault::NotAvailableDuringSynchronise));
        }
        Ok(())
    }

    /// Answer one request: the result, or the error text Go's `net/rpc` would send.
    pub async fn call(self: &Arc<Self>, request: &Request) -> Outcome {
        let method = request.method.as_str();
        let Some((service_name, method_name)) = method.rsplit_once('.') else {
            return Err(format!("rpc: service/method request ill-formed: {method}"));
        };
        let Some((_, methods)) = METHODS.iter().find(|(s, _)| *s == service_name) else {
            return Err(format!("rpc: can't find service {method}"));
        };
        if !methods.contains(&method_name) {
            return Err(format!("rpc: can't find method {method}"));
        }
        let params = request.params.as_ref().ok_or("jsonrpc: request body missing params")?;
        let args = first_param(params)?;
        match (service_name, method_name) {
            ("Node", "Info") => service::node::info(self, args).await,
            ("Node", "List") => service::node::list(self, args).await,
            ("Node", "BlockDump") => service::blocks::dump(self, args).await,
            ("Node", "BlockDumpRange") => service::blocks::dump_range(self, args).await,
            ("Node", "BlockDecode") => service::blocks::decode(self, args).await,
            ("Transaction", "Status") => service::query::transaction_status(self, args).await,
            ("Assets", "Get") => service::query::assets_get(self, args).await,
            ("Bitmark", "Provenance") => service::provenance::provenance(self, args).await,
            ("Bitmark", "FullProvenance") => service::provenance::full_provenance(self, args).await,
            ("Owner", "Bitmarks") => service::query::owner_bitmarks(self, args).await,
            ("BlockOwner", "TxIDForBlock") => service::query::tx_id_for_block(self, args).await,
            ("Bitmarks", "Create") => service::submit::bitmarks_create(self, args).await,
            ("Bitmarks", "Proof") => service::submit::bitmarks_proof(self, args).await,
            ("Bitmark", "Transfer") => service::submit::bitmark_transfer(self, args).await,
            ("BlockOwner", "Transfer") => service::submit::block_owner_transfer(self, args).await,
            ("Share", "Create") => service::submit::share_create(self, args).await,
            ("Share", "Balance") => service::submit::share_balance(self, args).await,
            ("Share", "Grant") => service::submit::share_grant(self, args).await,
            ("Share", "Swap") => service::submit::share_swap(self, args).await,
            _ => Err(format!("rpc: can't find method {method}")),
        }
    }
}
