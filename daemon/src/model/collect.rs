//! A whole response's assistant text, for requests that want the answer rather than a stream
//! (compaction summaries, memory jobs): bounded, because the stream is the provider's to size.

use tokio::sync::mpsc::Receiver;
use tokio_util::sync::CancellationToken;

use super::types::{ModelError, ModelEvent, OutputItem};

/// Why no text came back.
#[derive(Debug)]
pub enum CollectError {
    Cancelled,
    Model(ModelError),
}

/// The text of the response's messages (joined by blank lines; the streamed deltas when no
/// message item completed), or an error once it passes `max_bytes`.
pub async fn collect_text(
    mut rx: Receiver<Result<ModelEvent, ModelError>>,
    max_bytes: usize,
    cancel: &CancellationToken,
) -> Result<String, CollectError> {
    let mut done: Vec<String> = Vec::new();
    let mut streamed = String::new();
    let mut kept = 0usize;
    loop {
        if streamed.len() + kept > max_bytes {
            return Err(CollectError::Model(ModelError::Incomplete(format!(
                "the answer is longer than {} KiB",
                max_bytes / 1024
            ))));
        }
        let event = tokio::select! {
            _ = cancel.cancelled() => return Err(CollectError::Cancelled),
            e = rx.recv() => e,
        };
        match event {
            None => {
                return Err(CollectError::Model(ModelError::Stream(
                    "the provider stream ended early".into(),
                )))
            }
            Some(Err(e)) => return Err(CollectError::Model(e)),
            Some(Ok(ModelEvent::TextDelta { delta, .. })) => streamed.push_str(&delta),
            Some(Ok(ModelEvent::ItemDone {
                item: OutputItem::Message { text },
                ..
            })) => {
                kept += text.len();
                done.push(text)
            }
            Some(Ok(ModelEvent::Retrying { .. })) => {
                done.clear();
                streamed.clear();
                kept = 0;
            }
            Some(Ok(ModelEvent::Completed { .. })) => {
                return Ok(if done.is_empty() {
                    streamed
                } else {
                    done.join("\n\n")
                })
            }
            Some(Ok(_)) => {}
        }
    }
}
