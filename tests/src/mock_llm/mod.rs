//! `mock-llm`: a scripted model server for tests, demos and benchmarks.
//!
//! It is a real HTTP/1.1 server on a loopback TCP port, not an in-process
//! stub, so the daemon under test exercises its real HTTP client, SSE
//! parser, timeouts and retry logic. Each model request (`POST
//! /v1/responses` or `POST /v1/chat/completions`) takes the next
//! [`Scripted`] answer in FIFO order and gets it as a live SSE stream,
//! flushed event by event; faults (HTTP errors, 429s, stalls, hang-ups,
//! malformed events) are scripted the same way.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use agentd_tests::mock_llm::{MockLlm, Scripted, Step, Usage};
//! let mock = MockLlm::start(vec![
//!     Scripted::responses(vec![
//!         Step::created(),
//!         Step::function_call("call_1", "shell", r#"{"cmd":"ls"}"#),
//!         Step::completed(Usage::default()),
//!     ]),
//!     Scripted::responses_text("done"),
//! ])
//! .await?;
//! // point the daemon's provider base_url at mock.base_url(), run a turn, then:
//! let requests = mock.wait_for_requests(2, std::time::Duration::from_secs(5)).await?;
//! assert_eq!(requests[1].body["input"][2]["call_id"], "call_1");
//! mock.assert_pairing_ok();
//! # Ok(()) }
//! ```

mod canned;
mod chat;
mod faults;
mod record;
mod responses;
mod script;
mod server;
mod sse;

pub use canned::{bench_script, demo_script, DEMO_CHUNK_DELAY};
pub use record::{pairing_violations, RecordedRequest};
pub use script::{
    chunk_text, parse_script, ChatQuirks, ChatScript, ChatStep, ReasoningField, ResponsesEvent,
    ResponsesScript, Scripted, Step, Usage,
};
pub use server::{MockConfig, MockLlm};
