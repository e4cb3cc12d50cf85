//! What `bitmark-node bench rpc` measures with: a bare tokio + rustls echo server (the
//! reference: TLS and a line in, a line out, nothing else) and a load of TLS clients, each
//! sending one request line and reading one reply line at a time, as Go's client does.

use crate::certificate::Certificate;
use crate::listener::accept_loop;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

/// Requests answered in some time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Load {
    /// Requests answered.
    pub requests: u64,
    /// Over this long.
    pub elapsed: Duration,
}

impl Load {
    /// Requests per second.
    pub fn per_second(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.requests as f64 / s
        } else {
            0.0
        }
    }
}

pub use crate::client::client_config;
use crate::client::tls_stream;

/// `clients` threads, each on its own TLS connection to `addr`, sending `request(client, n)`
/// and reading a reply line until `duration` has passed. Connections are made before the
/// clock starts.
pub fn hammer(
    addr: SocketAddr,
    config: &Arc<rustls::ClientConfig>,
    clients: usize,
    duration: Duration,
    request: &(dyn Fn(usize, u64) -> Vec<u8> + Sync),
) -> Result<Load, String> {
    let mut streams = Vec::new();
    for _ in 0..clients.max(1) {
        streams.push(BufReader::new(tls_stream(addr, config, Duration::from_secs(30))?));
    }
    let answered = AtomicU64::new(0);
    let started = Instant::now();
    let deadline = started + duration;
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = streams
            .into_iter()
            .enumerate()
            .map(|(client, mut stream)| {
                let answered = &answered;
                s.spawn(move || -> Result<(), String> {
                    let mut line = String::new();
                    let mut n = 0;
                    while Instant::now() < deadline {
                        stream.get_mut().write_all(&request(client, n)).map_err(|e| e.to_string())?;
                        line.clear();
                        if stream.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                            return Err("connection closed".into());
                        }
                        answered.fetch_add(1, Ordering::Relaxed);
                        n += 1;
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().unwrap_or_else(|_| Err("client panicked".into())).err()).collect()
    });
    if let Some(e) = failures.first() {
        return Err(e.clone());
    }
    Ok(Load { requests: answered.load(Ordering::Relaxed), elapsed: started.elapsed() })
}

/// The reference server: for every line received, `reply` written back; its own runtime.
pub struct Echo {
    runtime: tokio::runtime::Runtime,
    stop: watch::Sender<bool>,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Echo {
    /// Serve on a free loopback port with `certificate`, on a runtime of `workers` threads.
    pub fn start(certificate: &Certificate, reply: Vec<u8>, workers: usize) -> Result<Echo, String> {
        let config = certificate.server_config(&[]).map_err(|e| e.to_string())?;
        let acceptor = TlsAcceptor::from(config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers.max(1))
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        let socket = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        socket.set_nonblocking(true).map_err(|e| e.to_string())?;
        let addr = socket.local_addr().map_err(|e| e.to_string())?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(socket).map_err(|e| e.to_string())?
        };
        let (stop, stopped) = watch::channel(false);
        let reply: Arc<[u8]> = reply.into();
        runtime.spawn(accept_loop(listener, 1024, stopped, move |stream, _| {
            let (acceptor, reply) = (acceptor.clone(), Arc::clone(&reply));
            async move {
                let Ok(tls) = acceptor.accept(stream).await else { return };
                let mut tls = tokio::io::BufReader::new(tls);
                let mut line = Vec::new();
                while let Ok(n) = tls.read_until(b'\n', &mut line).await {
                    if n == 0 || tls.get_mut().write_all(&reply).await.is_err() {
                        return;
                    }
                    line.clear();
                }
            }
        }));
        Ok(Echo { runtime, stop, addr })
    }

    /// Stop it.
    pub fn stop(self) {
        let _ = self.stop.send(true);
        self.runtime.shutdown_timeout(Duration::from_millis(200));
    }
}

/// Each client thread sends its own list of request lines over its own TLS connection, one at
/// a time, reading each reply line. The time from the first send to the last reply, and every
/// reply line.
pub fn send_all(
    addr: SocketAddr,
    config: &Arc<rustls::ClientConfig>,
    per_client: Vec<Vec<Vec<u8>>>,
) -> Result<(Duration, Vec<String>), String> {
    let mut work = Vec::new();
    for requests in per_client {
        work.push((BufReader::new(tls_stream(addr, config, Duration::from_secs(60))?), requests));
    }
    let started = Instant::now();
    let results: Vec<Result<Vec<String>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = work
            .into_iter()
            .map(|(mut stream, requests)| {
                s.spawn(move || {
                    let mut replies = Vec::with_capacity(requests.len());
                    for request in requests {
                        stream.get_mut().write_all(&request).map_err(|e| e.to_string())?;
                        let mut line = String::new();
                        if stream.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                            return Err("connection closed".to_string());
                        }
                        replies.push(line);
                    }
                    Ok(replies)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("client panicked".into()))).collect()
    });
    let elapsed = started.elapsed();
    let mut replies = Vec::new();
    for r in results {
        replies.extend(r?);
    }
    Ok((elapsed, replies))
}
