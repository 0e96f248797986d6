//! Producing events: `thread/name/set` requests sent pipelined from several connections, each
//! keeping a fixed number in flight. Every name is `b:<send ns>:<slot>`: the send time in
//! nanoseconds since `Ctx::base` and the event's index in the run, so a subscriber can tell each
//! event's latency from the event alone, and the bench can line up each event's receipts with
//! its request's answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

use super::now_ns;
use super::ws::{self, Ws};

/// The prefix of a timestamped name, as it appears inside a `thread/name/updated` frame.
pub const NAME_KEY: &str = "\"threadName\":\"b:";
/// A writer gives up when no answer arrives for this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// What one writer saw.
#[derive(Debug, Clone, Default)]
pub struct WriterStats {
    pub sent: u64,
    pub answered: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub first_send_ns: u64,
    pub last_answer_ns: u64,
    /// Send and answer time of each of the writer's requests, by request index (0 = no answer).
    pub send_ns: Vec<u64>,
    pub answer_ns: Vec<u64>,
}

/// All writers' figures together; `send_ns` and `answer_ns` are indexed by slot − first slot.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    pub sent: u64,
    pub answered: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub first_send_ns: u64,
    pub last_answer_ns: u64,
    pub send_ns: Vec<u64>,
    pub answer_ns: Vec<u64>,
}

impl Totals {
    fn of(all: Vec<WriterStats>) -> Totals {
        let mut t = Totals {
            sent: all.iter().map(|w| w.sent).sum(),
            answered: all.iter().map(|w| w.answered).sum(),
            errors: all.iter().map(|w| w.errors).sum(),
            first_error: all.iter().find_map(|w| w.first_error.clone()),
            first_send_ns: all.iter().map(|w| w.first_send_ns).min().unwrap_or(0),
            last_answer_ns: all.iter().map(|w| w.last_answer_ns).max().unwrap_or(0),
            ..Default::default()
        };
        for w in all {
            t.send_ns.extend(w.send_ns);
            t.answer_ns.extend(w.answer_ns);
        }
        t
    }

    /// Renames that became events (answered without error).
    pub fn committed(&self) -> u64 {
        self.answered - self.errors
    }

    /// Send → answer of every answered request, ns.
    pub fn request_latencies(&self) -> Vec<u64> {
        self.send_ns
            .iter()
            .zip(&self.answer_ns)
            .filter(|(_, &a)| a != 0)
            .map(|(&s, &a)| a.saturating_sub(s))
            .collect()
    }
}

/// Runs one writer task per connection, `total` renames split evenly over consecutive slot
/// ranges starting at `first_slot`, all writers started together.
pub async fn run_all(
    conns: Vec<Ws>,
    thread_id: &str,
    first_slot: u64,
    total: u64,
    in_flight: usize,
    base: Instant,
) -> Result<Totals> {
    let n = conns.len().max(1) as u64;
    let thread_id: Arc<str> = Arc::from(thread_id);
    let start = Arc::new(tokio::sync::Barrier::new(conns.len()));
    let mut tasks = Vec::new();
    let mut slot = first_slot;
    for (i, ws) in conns.into_iter().enumerate() {
        let count = total / n + u64::from((i as u64) < total % n);
        let thread_id = thread_id.clone();
        let start = start.clone();
        let first = slot;
        slot += count;
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            run_one(ws, &thread_id, first, count, in_flight, base).await
        }));
    }
    let mut all = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let stats = t
            .await
            .map_err(|e| anyhow!("writer {i} panicked: {e}"))?
            .with_context(|| format!("writer {i}"))?;
        all.push(stats);
    }
    Ok(Totals::of(all))
}

/// One connection: sends `count` renames for slots `first_slot..`, keeping `in_flight`
/// unanswered, and reads the answers.
pub async fn run_one(
    ws: Ws,
    thread_id: &str,
    first_slot: u64,
    count: u64,
    in_flight: usize,
    base: Instant,
) -> Result<WriterStats> {
    let (mut sink, mut stream) = ws.split();
    let window = Semaphore::new(in_flight.max(1));

    let send = async {
        let mut send_ns = Vec::with_capacity(count as usize);
        for i in 0..count {
            // Queue requests while the window allows; flush only when it is full, so a burst
            // goes out in few writes.
            let permit = match window.try_acquire() {
                Ok(p) => p,
                Err(_) => {
                    sink.flush().await.context("websocket flush")?;
                    window.acquire().await.context("window closed")?
                }
            };
            permit.forget();
            let now = now_ns(base);
            send_ns.push(now);
            let (id, slot) = (i + 1, first_slot + i);
            let text = format!(
                "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"thread/name/set\",\
                 \"params\":{{\"threadId\":\"{thread_id}\",\"name\":\"b:{now}:{slot}\"}}}}"
            );
            sink.feed(Message::text(text))
                .await
                .context("websocket send")?;
        }
        sink.flush().await.context("websocket flush")?;
        Ok::<_, anyhow::Error>(send_ns)
    };

    let receive = async {
        let mut stats = WriterStats {
            answer_ns: vec![0; count as usize],
            ..Default::default()
        };
        while stats.answered < count {
            let msg = tokio::time::timeout(IDLE_TIMEOUT, stream.next())
                .await
                .map_err(|_| {
                    anyhow!(
                        "no answer for {IDLE_TIMEOUT:?} after {} of {count}",
                        stats.answered
                    )
                })?
                .context("connection closed")?
                .context("websocket read")?;
            let text = match &msg {
                Message::Text(t) => t.as_str(),
                Message::Close(c) => bail!("connection closed by the daemon: {c:?}"),
                _ => continue,
            };
            if text.contains("\"method\"") {
                continue;
            }
            let now = now_ns(base);
            stats.answered += 1;
            if text.contains("\"error\"") {
                stats.errors += 1;
                if stats.first_error.is_none() {
                    stats.first_error = Some(text.chars().take(300).collect());
                }
            } else {
                let id = ws::u64_after(text, "\"id\":")
                    .with_context(|| format!("answer without a numeric id: {text:.200}"))?;
                if let Some(slot) = id
                    .checked_sub(1)
                    .and_then(|i| stats.answer_ns.get_mut(i as usize))
                {
                    *slot = now;
                }
            }
            stats.last_answer_ns = now;
            window.add_permits(1);
        }
        Ok::<_, anyhow::Error>(stats)
    };

    let (send_ns, mut stats) = tokio::try_join!(send, receive)?;
    stats.sent = count;
    stats.first_send_ns = send_ns.first().copied().unwrap_or(0);
    stats.send_ns = send_ns;
    Ok(stats)
}

/// (send ns, slot) from a `thread/name/updated` frame whose name is `b:<send ns>:<slot>`.
pub fn name_fields(text: &str) -> Option<(u64, u64)> {
    let start = text.find(NAME_KEY)? + NAME_KEY.len();
    let rest = &text[start..];
    let (sent, rest) = rest.split_once(':')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    Some((sent.parse().ok()?, rest[..digits].parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_send_time_and_slot_from_the_name() {
        let t = r#"{"params":{"seq":3,"threadId":"x","threadName":"b:123:45"}}"#;
        assert_eq!(name_fields(t), Some((123, 45)));
        assert_eq!(name_fields(r#"{"threadName":"warmup"}"#), None);
    }
}
