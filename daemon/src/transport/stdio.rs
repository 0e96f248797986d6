//! NDJSON over stdin/stdout: one JSON message per `\n`-terminated line.
//!
//! stdout belongs to the protocol; logs go to stderr. The writer flushes once the queue is
//! drained rather than per message, so a burst of events costs one syscall, while a lone
//! message is still flushed immediately.

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::{Inbound, Limits, Link, INBOUND_BUFFER};

/// Starts the stdio transport on the process's own stdin and stdout. The handle resolves when
/// everything queued for stdout has been written and flushed (after the last sender is gone),
/// so the daemon can wait for it before exiting.
pub fn link(limits: Limits) -> (Link, tokio::task::JoinHandle<()>) {
    link_over(
        tokio::io::stdin(),
        tokio::io::stdout(),
        limits,
        "stdio".into(),
    )
}

/// The same over any reader/writer pair (tests use in-memory pipes).
pub fn link_over<R, W>(
    reader: R,
    writer: W,
    limits: Limits,
    peer: String,
) -> (Link, tokio::task::JoinHandle<()>)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (in_tx, in_rx) = mpsc::channel(INBOUND_BUFFER);
    let (out_tx, out_rx) = mpsc::channel(limits.outbound_queue);
    tokio::spawn(read_lines(reader, in_tx, limits.max_frame_bytes));
    let writer = tokio::spawn(write_lines(writer, out_rx));
    (
        Link {
            inbound: in_rx,
            outbound: out_tx,
            peer,
            scope: crate::auth::Scope::Admin,
            permit: None,
        },
        writer,
    )
}

/// Reads lines without ever buffering more than `limit` bytes of one: an over-long line is
/// skipped up to its newline and reported, and the next line is read normally.
async fn read_lines<R: AsyncRead + Unpin>(reader: R, tx: mpsc::Sender<Inbound>, limit: usize) {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut line: Vec<u8> = Vec::new();
    let mut skipped: usize = 0;
    loop {
        let buf = match reader.fill_buf().await {
            Ok(buf) => buf,
            Err(e) => {
                tracing::warn!(error = %e, "stdin read failed; closing the connection");
                return;
            }
        };
        if buf.is_empty() {
            if !line.is_empty() && skipped == 0 {
                let frame = std::mem::take(&mut line);
                let _ = tx.send(to_inbound(frame)).await;
            }
            return;
        }
        let (chunk, found_newline) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], true),
            None => (buf, false),
        };
        let consumed = chunk.len() + usize::from(found_newline);
        if skipped > 0 || line.len() + chunk.len() > limit {
            skipped += line.len() + chunk.len();
            line.clear();
        } else {
            line.extend_from_slice(chunk);
        }
        reader.consume(consumed);
        if found_newline {
            let msg = if skipped > 0 {
                let len = std::mem::take(&mut skipped);
                Some(Inbound::TooLarge { len, limit })
            } else {
                let frame = std::mem::take(&mut line);
                let blank = frame.iter().all(|b| b.is_ascii_whitespace());
                (!blank).then(|| to_inbound(frame))
            };
            if let Some(msg) = msg {
                if tx.send(msg).await.is_err() {
                    return;
                }
            }
        }
    }
}

fn to_inbound(frame: Vec<u8>) -> Inbound {
    match String::from_utf8(frame) {
        Ok(mut s) => {
            if s.ends_with('\r') {
                s.pop();
            }
            Inbound::Text(s)
        }
        Err(_) => Inbound::NotUtf8,
    }
}

async fn write_lines<W: AsyncWrite + Unpin>(writer: W, mut rx: mpsc::Receiver<Bytes>) {
    let mut writer = tokio::io::BufWriter::with_capacity(64 * 1024, writer);
    while let Some(frame) = rx.recv().await {
        if write_one(&mut writer, &frame).await.is_err() {
            return;
        }
        while let Ok(frame) = rx.try_recv() {
            if write_one(&mut writer, &frame).await.is_err() {
                return;
            }
        }
        if let Err(e) = writer.flush().await {
            tracing::warn!(error = %e, "stdout write failed; closing the connection");
            return;
        }
    }
}

async fn write_one<W: AsyncWrite + Unpin>(w: &mut W, frame: &[u8]) -> std::io::Result<()> {
    w.write_all(frame).await?;
    w.write_all(b"\n").await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn frames(input: &[u8], limit: usize) -> Vec<String> {
        let (client, server) = tokio::io::duplex(1024);
        let (mut client_w, server_r) = (client, server);
        let limits = Limits {
            max_frame_bytes: limit,
            outbound_queue: 8,
            request_queue: 8,
            max_connections: 8,
        };
        let (mut link, _writer) = link_over(server_r, tokio::io::sink(), limits, "test".into());
        client_w.write_all(input).await.unwrap();
        drop(client_w);
        let mut out = Vec::new();
        while let Some(m) = link.inbound.recv().await {
            out.push(match m {
                Inbound::Text(t) => t,
                Inbound::TooLarge { len, .. } => format!("too large {len}"),
                Inbound::Binary => "binary".into(),
                Inbound::NotUtf8 => "not utf8".into(),
            });
        }
        out
    }

    #[tokio::test]
    async fn splits_lines_and_skips_blank_ones() {
        let got = frames(b"{\"a\":1}\n\n  \n{\"b\":2}\r\n{\"c\":3}", 100).await;
        assert_eq!(got, vec!["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"]);
    }

    #[tokio::test]
    async fn an_overlong_line_is_reported_and_the_next_one_still_read() {
        let mut input = vec![b'x'; 5000];
        input.extend_from_slice(b"\n{\"ok\":true}\n");
        let got = frames(&input, 100).await;
        assert_eq!(
            got,
            vec!["too large 5000".to_string(), "{\"ok\":true}".to_string()]
        );
    }

    #[tokio::test]
    async fn invalid_utf8_is_reported() {
        let got = frames(b"\xff\xfe\n{}\n", 100).await;
        assert_eq!(got, vec!["not utf8", "{}"]);
    }
}
