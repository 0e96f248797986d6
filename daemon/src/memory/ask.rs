//! One model request of a memory job: instructions and one user message in, the answer's text
//! out, bounded in size and time (a hostile or stuck stream costs only the job).

use std::time::Duration;

use serde_json::Value;

use tokio_util::sync::CancellationToken;

use crate::model::{collect_text, CollectError, HistoryItem, ModelClient, ModelRequest};

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
        // Nothing cancels a memory job but its timeout.
        let never = CancellationToken::new();
        match tokio::time::timeout(TIMEOUT, collect_text(rx, MAX_ANSWER_BYTES, &never)).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(CollectError::Model(e))) => Err(e.to_string()),
            Ok(Err(CollectError::Cancelled)) => Err("cancelled".into()),
            Err(_) => Err(format!(
                "the model did not answer in {} s",
                TIMEOUT.as_secs()
            )),
        }
    }
}
