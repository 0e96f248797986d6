//! Helpers for tests of who may reach the daemon and how (PROTOCOL.md §1, §9): named tokens made
//! with `agentd token`, clients that present one, daemons that must refuse to start, and raw
//! HTTP answers read off the WebSocket port where a WebSocket client would hide the details.

use std::path::Path;
use std::process::Output;

use anyhow::Result;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::harness::{agentd_command, Agentd, Options, TIMEOUT};
use crate::Client;

/// Runs `agentd token ARGS…` with `config_home` as `$XDG_CONFIG_HOME`; returns its output.
pub fn token_cmd(config_home: &Path, args: &[&str]) -> Output {
    agentd_command(config_home)
        .unwrap()
        .arg("token")
        .args(args)
        .output()
        .unwrap()
}

/// What a command that must succeed (`agentd token create`, …) printed, trimmed; panics with
/// its stderr when it failed.
#[track_caller]
pub fn succeeded(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// `agentd token create` in `config_home`; returns the token.
#[track_caller]
pub fn create_token(config_home: &Path, name: &str, scope: &str) -> String {
    succeeded(token_cmd(
        config_home,
        &["create", "--scope", scope, "--name", name],
    ))
}

/// A new client that presents `token` in the URL, initialized as `name`.
pub async fn connect_with_token(d: &Agentd, token: &str, name: &str) -> Result<Client> {
    let mut c = Client::connect_ws(&format!("{}/?token={token}", d.ws_url())).await?;
    c.initialize(name).await?;
    Ok(c)
}

/// Starts a daemon that must refuse to start; returns what it wrote to stderr.
pub async fn refused_at_start(opts: Options) -> String {
    let (status, stderr) = Agentd::start_failing(opts).await.unwrap();
    assert!(!status.success(), "the daemon started: {stderr}");
    stderr
}

/// Reads one HTTP/1.1 answer (head and a body of its `Content-Length`) from `stream` within
/// `TIMEOUT`; returns it as text. It does not wait for the connection to close: an answer must
/// be complete on its own.
pub async fn read_http_answer(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    tokio::time::timeout(TIMEOUT, async {
        loop {
            let n = stream.read(&mut chunk).await.unwrap();
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).into_owned();
            if let Some(end) = text.find("\r\n\r\n") {
                let len: usize = text[..end]
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    return text;
                }
            }
            assert!(n > 0, "connection closed mid-answer: {text}");
        }
    })
    .await
    .expect("no complete HTTP answer in time")
}
