//! One model request of a memory job: instructions and one user message in, the answer's text
//! out, bounded in size and time (a hostile or stuck stream costs only the job).

use std::time::Duration;

use serde_json::Value;

use crate::model::{HistoryItem, ModelClient, ModelError, ModelEvent, ModelRequest, OutputItem};

/// Longest a memory job's answer may be.
const MAX_ANSWER_BYTES: usize = 256 * 1024;
/// Longest a memory job's request may take.
const TIMEOUT: Duration = Duration::from_secs(300);

pub struct Ask<'a> {
    pub client: &'a ModelClient,
    pub model: &'a str,
    pub instructions: &'a str,
    pub input: String,
    pub output_schema: Option<Value>,
}

impl Ask<'_> {
    pub async fn text(self) -> Result<String, String> {
        let request = ModelRequest {
            model: self.model.to_owned(),
            instructions: self.instructions.to_owned(),
            input: vec![HistoryItem::user(self.input)],
            tools: Vec::new(),
            reasoning_effort: None,
            output_schema: self.output_schema,
        };
        let rx = self.client.stream(request);
        match tokio::time::timeout(TIMEOUT, read(rx)).await {
            Ok(answer) => answer,
            Err(_) => Err(format!(
                "the model did not answer in {} s",
                TIMEOUT.as_secs()
            )),
        }
    }
}

async fn read(
    mut rx: tokio::sync::mpsc::Receiver<Result<ModelEvent, ModelError>>,
) -> Result<String, String> {
    let mut done: Vec<String> = Vec::new();
    let mut streamed = String::new();
    loop {
        if streamed.len() + done.iter().map(String::len).sum::<usize>() > MAX_ANSWER_BYTES {
            return Err(format!(
                "the answer is longer than {} KiB",
                MAX_ANSWER_BYTES / 1024
            ));
        }
        match rx.recv().await {
            None => return Err("the provider stream ended early".into()),
            Some(Err(e)) => return Err(e.to_string()),
            Some(Ok(ModelEvent::TextDelta { delta, .. })) => streamed.push_str(&delta),
            Some(Ok(ModelEvent::ItemDone {
                item: OutputItem::Message { text },
                ..
            })) => done.push(text),
            Some(Ok(ModelEvent::Retrying { .. })) => {
                done.clear();
                streamed.clear();
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
