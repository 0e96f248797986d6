//! A model stream that stamps each delta with the moment it is written, for the turn benchmarks.
//!
//! `mock_llm` renders a script's bytes before it plays them, so a delta's text cannot carry its
//! own send time. This source speaks just enough of the OpenAI Responses API (the same events
//! `mock_llm` renders for one message) and writes every `response.output_text.delta` as
//! `t:<ns>;` padded to the delta size, where `<ns>` is [`now_ns`] taken right before the
//! `write(2)` of that event. It runs on its own OS threads (blocking sockets, one thread per
//! connection), so pacing is `thread::sleep` resolution (tens of µs) and the bench's tokio
//! runtime is not involved; the bench's clients and the daemon read the same kind of stream.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{json, Value};

use super::now_ns;

/// The prefix of a stamped delta as it appears inside a JSON string field `"delta"`.
pub const STAMP_KEY: &str = "\"delta\":\"t:";
/// Digits of the stamp: fixed width, so every delta has the same size.
const STAMP_DIGITS: usize = 15;

/// What the next model request is answered with.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub deltas: usize,
    /// Bytes of each delta's text (at least the stamp, `t:` + 15 digits + `;`).
    pub delta_bytes: usize,
    /// Time between two deltas' writes; `None` writes them back to back (a burst).
    pub pace: Option<Duration>,
}

/// What one answered request looked like.
#[derive(Debug, Clone, Default)]
pub struct StreamLog {
    /// The raw request body, as the daemon sent it.
    pub body: Vec<u8>,
    pub deltas: usize,
    pub first_delta_ns: u64,
    pub last_delta_ns: u64,
    /// The whole response was written (the client did not hang up).
    pub completed: bool,
}

struct Shared {
    base: Instant,
    plan: Mutex<Plan>,
    streams: Mutex<Vec<StreamLog>>,
    stop: AtomicBool,
}

/// A running source on a loopback port; stops accepting when dropped.
pub struct StampSource {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl StampSource {
    pub fn start(base: Instant, plan: Plan) -> Result<StampSource> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the stamp source")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            base,
            plan: Mutex::new(plan),
            streams: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let accept_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("stamp-source".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if accept_shared.stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let shared = Arc::clone(&accept_shared);
                    let _ =
                        std::thread::Builder::new()
                            .name("stamp-conn".into())
                            .spawn(move || {
                                let _ = serve(conn, &shared);
                            });
                }
            })
            .context("spawning the stamp source")?;
        Ok(StampSource { addr, shared })
    }

    /// `http://127.0.0.1:PORT/v1`, the value for a provider's `base_url`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn set_plan(&self, plan: Plan) {
        *lock(&self.shared.plan) = plan;
    }

    /// Every answered request so far, oldest first.
    pub fn streams(&self) -> Vec<StreamLog> {
        lock(&self.shared.streams).clone()
    }

    pub fn last_stream(&self) -> Option<StreamLog> {
        lock(&self.shared.streams).last().cloned()
    }
}

impl Drop for StampSource {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        // Wakes the accept loop so it sees `stop`.
        let _ = TcpStream::connect(self.addr);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Serves requests on one keep-alive connection until the peer closes it.
fn serve(conn: TcpStream, shared: &Shared) -> Result<()> {
    conn.set_nodelay(true)?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut out = conn;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let mut words = request_line.split_whitespace();
        let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        if method != "POST" || !path.ends_with("/responses") {
            out.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")?;
            continue;
        }
        let plan = *lock(&shared.plan);
        let serial = {
            let mut streams = lock(&shared.streams);
            streams.push(StreamLog {
                body,
                ..StreamLog::default()
            });
            streams.len()
        };
        let log = stream(&mut out, plan, serial, shared.base);
        let mut streams = lock(&shared.streams);
        let entry = &mut streams[serial - 1];
        entry.deltas = log.deltas;
        entry.first_delta_ns = log.first_delta_ns;
        entry.last_delta_ns = log.last_delta_ns;
        entry.completed = log.completed;
        if !log.completed {
            return Ok(());
        }
    }
}

/// Numbers the events of one response and writes each as one HTTP chunk.
struct Events<'a> {
    out: &'a mut TcpStream,
    seq: u64,
}

impl Events<'_> {
    /// Adds `type` and `sequence_number` to `data` and writes it.
    fn send(&mut self, name: &str, mut data: Value) -> bool {
        if let Value::Object(map) = &mut data {
            map.insert("type".into(), json!(name));
            map.insert("sequence_number".into(), json!(self.seq));
        }
        self.seq += 1;
        write_event(self.out, name, &data.to_string())
    }
}

/// Writes one streamed answer: a message of `plan.deltas` stamped deltas, then
/// `response.completed`. Each SSE event is one HTTP chunk and one `write(2)`.
fn stream(out: &mut TcpStream, plan: Plan, serial: usize, base: Instant) -> StreamLog {
    let mut log = StreamLog::default();
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
                transfer-encoding: chunked\r\n\r\n";
    if out.write_all(head.as_bytes()).is_err() {
        return log;
    }
    let mut events = Events { out, seq: 0 };
    let response_id = format!("resp_bench_{serial}");
    let item_id = format!("msg_bench_{serial}");
    let response = |status: &str, output: Value, usage: Value| {
        json!({"id": response_id, "object": "response", "created_at": 0, "status": status,
               "model": "mock-model", "output": output, "usage": usage, "error": null,
               "incomplete_details": null})
    };
    let position = json!({"item_id": item_id, "output_index": 0, "content_index": 0});
    let with = |extra: Value| {
        let mut v = position.clone();
        if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
            m.extend(e);
        }
        v
    };
    let opening = [
        (
            "response.created",
            json!({"response": response("in_progress", json!([]), Value::Null)}),
        ),
        (
            "response.output_item.added",
            json!({"output_index": 0, "item": {"id": item_id, "type": "message",
                   "status": "in_progress", "role": "assistant", "content": []}}),
        ),
        (
            "response.content_part.added",
            with(json!({"part": {"type": "output_text", "text": "", "annotations": []}})),
        ),
    ];
    for (name, data) in opening {
        if !events.send(name, data) {
            return log;
        }
    }

    let pad = plan.delta_bytes.saturating_sub(STAMP_DIGITS + 3);
    let filler: String = "abcdefghijklmnopqrstuvwxyz"
        .chars()
        .cycle()
        .take(pad)
        .collect();
    let mut text = String::with_capacity(plan.deltas * (STAMP_DIGITS + 3 + pad));
    let mut next_at: Option<Instant> = None;
    for _ in 0..plan.deltas {
        if let Some(at) = next_at {
            let now = Instant::now();
            if at > now {
                std::thread::sleep(at - now);
            }
        }
        let seq = events.seq;
        events.seq += 1;
        let stamp = now_ns(base);
        let delta = format!("t:{stamp:0width$};{filler}", width = STAMP_DIGITS);
        let data = format!(
            r#"{{"type":"response.output_text.delta","sequence_number":{seq},"item_id":"{item_id}","output_index":0,"content_index":0,"delta":"{delta}","logprobs":[]}}"#
        );
        if !write_event(events.out, "response.output_text.delta", &data) {
            return log;
        }
        if log.deltas == 0 {
            log.first_delta_ns = stamp;
        }
        log.last_delta_ns = stamp;
        log.deltas += 1;
        text.push_str(&delta);
        next_at = plan.pace.map(|p| Instant::now() + p);
    }

    let part = json!({"type": "output_text", "text": text, "annotations": []});
    let item = json!({"id": item_id, "type": "message", "status": "completed",
                      "role": "assistant", "content": [part]});
    let usage = json!({"input_tokens": 100, "input_tokens_details": {"cached_tokens": 0},
                       "output_tokens": plan.deltas, "output_tokens_details": {"reasoning_tokens": 0},
                       "total_tokens": 100 + plan.deltas});
    let closing = [
        (
            "response.output_text.done",
            with(json!({"text": text, "logprobs": []})),
        ),
        ("response.content_part.done", with(json!({"part": part}))),
        (
            "response.output_item.done",
            json!({"output_index": 0, "item": item}),
        ),
        (
            "response.completed",
            json!({"response": response("completed", json!([item]), usage)}),
        ),
    ];
    for (name, data) in closing {
        if !events.send(name, data) {
            return log;
        }
    }
    log.completed = events.out.write_all(b"0\r\n\r\n").is_ok();
    log
}

/// `event: NAME` / `data: JSON` as one HTTP chunk, in one write.
fn write_event(out: &mut TcpStream, name: &str, data: &str) -> bool {
    let event = format!("event: {name}\ndata: {data}\n\n");
    let mut chunk = Vec::with_capacity(event.len() + 16);
    chunk.extend_from_slice(format!("{:x}\r\n", event.len()).as_bytes());
    chunk.extend_from_slice(event.as_bytes());
    chunk.extend_from_slice(b"\r\n");
    out.write_all(&chunk).is_ok()
}

/// The stamp (ns since the bench's base) of a frame or SSE data line holding a stamped delta.
pub fn stamp_of(text: &str) -> Option<u64> {
    super::ws::u64_after(text, STAMP_KEY)
}

/// Every stamp in a frame: the daemon merges deltas that queue behind a commit, so one
/// `item/agentMessage/delta` may carry several of the source's deltas, each with its stamp.
pub fn stamps_of(text: &str) -> Vec<u64> {
    let Some(start) = text.find(STAMP_KEY) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut rest = &text[start + STAMP_KEY.len() - 2..];
    while let Some(at) = rest.find("t:") {
        let digits = &rest[at + 2..];
        let n = digits.bytes().take_while(u8::is_ascii_digit).count();
        if n == STAMP_DIGITS && digits.as_bytes().get(n) == Some(&b';') {
            if let Ok(stamp) = digits[..n].parse() {
                out.push(stamp);
            }
        }
        rest = &digits[n..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_stamp_of_a_merged_delta() {
        let one = format!("t:{:015};abc", 12_345_678);
        let two = format!("t:{:015};defgt", 99);
        let frame = format!(r#"{{"params":{{"delta":"{one}{two}","seq":4}}}}"#);
        assert_eq!(stamps_of(&frame), vec![12_345_678, 99]);
        assert!(stamps_of(r#"{"params":{"delta":"plain"}}"#).is_empty());
    }

    #[test]
    fn reads_the_stamp_back() {
        let t = r#"{"params":{"delta":"t:000000012345678;abc","seq":4}}"#;
        assert_eq!(stamp_of(t), Some(12_345_678));
        assert_eq!(stamp_of(r#"{"delta":"hello"}"#), None);
    }
}
