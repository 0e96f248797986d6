//! Reading one response stream: SSE events from the HTTP body, an idle watchdog, the wire
//! format's assembler, and forwarding to the consumer.
//!
//! Each attempt gets a fresh assembler; how an attempt ended ([`StreamEnd`]) tells the caller
//! whether to stop, fail, or send the request again, and whether the consumer already saw
//! events it must now discard.

use std::time::Duration;

use eventsource_stream::{Event, EventStreamError, Eventsource as _};
use futures_util::StreamExt as _;
use tokio::sync::mpsc;

use super::chat::ChatAssembler;
use super::responses;
use super::retry::Failure;
use super::settings::WireApi;
use super::types::{ModelError, ModelEvent, ModelRequest};

/// Whether the response continues after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    More,
    /// The terminal event was handled (`Completed` is already in the output).
    Finished,
}

/// The per-wire-format state of one attempt.
pub(crate) enum Assembler {
    /// Responses events are self-contained: nothing to keep between them.
    Responses,
    /// Boxed: it is much larger than the empty Responses variant.
    Chat(Box<ChatAssembler>),
}

impl Assembler {
    pub(crate) fn new(wire: WireApi, request: &ModelRequest) -> Self {
        match wire {
            WireApi::Responses => Assembler::Responses,
            WireApi::Chat => Assembler::Chat(Box::new(ChatAssembler::new(request))),
        }
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<ModelEvent>) -> Result<Flow, Failure> {
        match self {
            Assembler::Responses => responses::on_event(event, out),
            Assembler::Chat(chat) => chat.on_event(event, out),
        }
    }

    fn on_end(&mut self, out: &mut Vec<ModelEvent>) -> Result<(), Failure> {
        match self {
            Assembler::Responses => responses::on_end(),
            Assembler::Chat(chat) => chat.on_end(out),
        }
    }
}

/// How one attempt's stream ended.
#[derive(Debug)]
pub(crate) enum StreamEnd {
    /// The response completed and `Completed` was forwarded.
    Finished,
    /// The consumer dropped its receiver.
    ConsumerGone,
    /// The stream failed; `forwarded` says whether the consumer saw events of this attempt.
    Failed { failure: Failure, forwarded: bool },
}

pub(crate) type EventSender = mpsc::Sender<Result<ModelEvent, ModelError>>;

/// Reads `response` to its end, forwarding events as they are assembled. The watchdog times
/// each read of the next SSE event, not the consumer: a slow consumer is not an idle provider.
pub(crate) async fn forward(
    response: reqwest::Response,
    assembler: &mut Assembler,
    tx: &EventSender,
    idle_timeout: Duration,
) -> StreamEnd {
    let mut events = bounded(response.bytes_stream(), MAX_EVENT_BYTES).eventsource();
    let mut forwarded = false;
    let mut out = Vec::new();
    loop {
        let flow = match tokio::time::timeout(idle_timeout, events.next()).await {
            Err(_elapsed) => Err(Failure::retry(ModelError::IdleTimeout(millis(
                idle_timeout,
            )))),
            Ok(None) => assembler.on_end(&mut out).map(|()| Flow::Finished),
            Ok(Some(Err(EventStreamError::Transport(BodyError::TooLarge(limit))))) => {
                Err(Failure::Fatal(ModelError::Refused(format!(
                    "an event larger than {} MiB",
                    limit / (1024 * 1024)
                ))))
            }
            Ok(Some(Err(err))) => Err(Failure::retry(ModelError::Stream(read_error(err)))),
            Ok(Some(Ok(event))) => assembler.on_event(&event, &mut out),
        };
        // Events assembled before a failure (e.g. text before a `response.failed`) still go
        // out: the consumer learns of the failure right after, in order.
        for event in out.drain(..) {
            if tx.send(Ok(event)).await.is_err() {
                return StreamEnd::ConsumerGone;
            }
            forwarded = true;
        }
        match flow {
            Ok(Flow::More) => {}
            Ok(Flow::Finished) => return StreamEnd::Finished,
            Err(failure) => return StreamEnd::Failed { failure, forwarded },
        }
    }
}

/// `EventStreamError` does not expose its transport error as a `source`, so unwrap it here.
fn read_error(err: EventStreamError<BodyError>) -> String {
    match err {
        EventStreamError::Transport(BodyError::Read(err)) => error_chain(&err.without_url()),
        EventStreamError::Transport(BodyError::TooLarge(limit)) => {
            format!("an event larger than {limit} bytes")
        }
        other => other.to_string(),
    }
}

/// Largest SSE event (bytes between blank lines) read from a provider: the parser buffers an
/// event whole, so without a limit a stream that never ends its event grows memory without end.
/// Generous: a tool call's whole arguments (a large patch) arrive in one event.
pub(crate) const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// Why the response body stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    #[error(transparent)]
    Read(reqwest::Error),
    #[error("an event over {0} bytes")]
    TooLarge(usize),
}

/// The body's chunks, ended by an error once one event (bytes since the last blank line) grows
/// past `limit`.
fn bounded<S>(
    body: S,
    limit: usize,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, BodyError>>
where
    S: futures_util::Stream<Item = Result<bytes::Bytes, reqwest::Error>>,
{
    let mut meter = EventMeter::default();
    body.map(move |chunk| {
        let chunk = chunk.map_err(BodyError::Read)?;
        if meter.feed(&chunk) > limit {
            return Err(BodyError::TooLarge(limit));
        }
        Ok(chunk)
    })
}

/// Counts the bytes of the SSE event in progress: a blank line (`\n\n`, `\r` ignored) ends one.
#[derive(Default)]
pub(crate) struct EventMeter {
    in_event: usize,
    after_newline: bool,
}

impl EventMeter {
    /// Feeds bytes; returns the size of the event in progress.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> usize {
        for &b in bytes {
            match b {
                b'\n' if self.after_newline => self.in_event = 0,
                b'\n' => self.after_newline = true,
                b'\r' => {}
                _ => {
                    self.after_newline = false;
                    self.in_event += 1;
                }
            }
        }
        self.in_event
    }
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// An error and its sources on one line: reqwest's own message ("error decoding response
/// body") says little without the cause under it.
pub(crate) fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// Runs raw bytes through the SSE parser (fed in `chunk`-byte pieces, as a network would) and
/// the wire format's assembler, exactly as a live response is read: the entry point of the
/// `sse` fuzz target. Returns how many model events came out.
#[doc(hidden)]
pub fn fuzz_sse(wire: WireApi, bytes: &[u8], chunk: usize) -> Vec<ModelEvent> {
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    use futures_util::Stream as _;

    let request = ModelRequest {
        model: String::new(),
        instructions: String::new(),
        input: Vec::new(),
        tools: Vec::new(),
        reasoning_effort: None,
        output_schema: None,
    };
    let mut assembler = Assembler::new(wire, &request);
    let pieces: Vec<Result<bytes::Bytes, std::convert::Infallible>> = bytes
        .chunks(chunk.max(1))
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    let mut events = futures_util::stream::iter(pieces).eventsource();
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Vec::new();
    let mut produced = Vec::new();
    // An iterator stream is always ready; `Pending` would be a parser bug and ends the loop.
    while let Poll::Ready(next) = Pin::new(&mut events).poll_next(&mut cx) {
        let flow = match next {
            None => assembler.on_end(&mut out).map(|()| Flow::Finished),
            Some(Err(_)) => break,
            Some(Ok(event)) => assembler.on_event(&event, &mut out),
        };
        produced.append(&mut out);
        if !matches!(flow, Ok(Flow::More)) {
            break;
        }
    }
    produced
}

#[cfg(test)]
mod meter_tests {
    use super::EventMeter;

    #[test]
    fn a_blank_line_ends_the_event_across_chunks_and_carriage_returns() {
        let mut m = EventMeter::default();
        assert_eq!(m.feed(b"data: abc\n"), 9);
        assert_eq!(m.feed(b"\r\n"), 0);
        assert_eq!(m.feed(b"data: x"), 7);
        assert_eq!(m.feed(b"\n"), 7);
        assert_eq!(m.feed(b"\ndata"), 4);
    }

    #[test]
    fn an_event_that_never_ends_keeps_growing() {
        let mut m = EventMeter::default();
        for _ in 0..100 {
            m.feed(b"data: 0123456789\n");
        }
        assert_eq!(m.feed(b""), 1600);
    }
}
