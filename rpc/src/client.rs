//! A blocking client of the client RPC, as Go's `net/rpc/jsonrpc` client talks: one request
//! line, one reply line, over TLS trusting only the server's own certificate. For the node's
//! own commands (`testnet`'s RPC round trip, `bench rpc`).

use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// A connected client.
pub struct Client {
    stream: BufReader<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>,
    next_id: u64,
}

/// A rustls client configuration trusting exactly `certificate` (DER).
pub fn client_config(certificate: &[u8]) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(certificate.to_vec())).map_err(|e| e.to_string())?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

/// A TLS stream to `addr` (the node's certificate names `localhost`).
pub fn tls_stream(
    addr: SocketAddr,
    config: &Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>, String> {
    let tcp = TcpStream::connect_timeout(&addr, timeout).map_err(|e| e.to_string())?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    tcp.set_write_timeout(Some(timeout)).map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let connection = rustls::ClientConnection::new(Arc::clone(config), name).map_err(|e| e.to_string())?;
    Ok(rustls::StreamOwned::new(connection, tcp))
}

impl Client {
    /// Connect to `addr` trusting `certificate` (DER), with `timeout` on every call.
    pub fn connect(addr: SocketAddr, certificate: &[u8], timeout: Duration) -> Result<Client, String> {
        let config = client_config(certificate)?;
        Ok(Client { stream: BufReader::new(tls_stream(addr, &config, timeout)?), next_id: 0 })
    }

    /// Call `method` with `args`: its result, or the error text.
    pub fn call(&mut self, method: &str, args: Value) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let line = format!("{}\n", json!({"method": method, "params": [args], "id": id}));
        self.stream.get_mut().write_all(line.as_bytes()).map_err(|e| e.to_string())?;
        let mut reply = String::new();
        if self.stream.read_line(&mut reply).map_err(|e| e.to_string())? == 0 {
            return Err("connection closed".into());
        }
        let reply: Value = serde_json::from_str(&reply).map_err(|e| e.to_string())?;
        match reply["error"].as_str() {
            Some(error) => Err(error.to_string()),
            None => Ok(reply["result"].clone()),
        }
    }
}
