//! What a server's words may cost. An MCP server is outside input: its error messages, tool
//! listings and results are kept, stored, sent to every client and to the model, so each is
//! measured against a budget before it is kept — measured without building the whole of it.

use serde::Serialize;

/// Bytes of a server's error message (a JSON-RPC error, a failed handshake) kept.
pub const MAX_SERVER_TEXT: usize = 2048;

/// `text` cut to at most `max` bytes on a character boundary, saying how much was left out.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let cut = text.floor_char_boundary(max);
    format!("{}… [{} more bytes]", &text[..cut], text.len() - cut)
}

/// The length of `value` as compact JSON, if it is at most `limit` bytes; serialisation stops
/// as soon as it passes the limit, so a huge value costs no more than `limit` to measure.
pub fn json_len_within(value: &impl Serialize, limit: usize) -> Option<usize> {
    let mut meter = Meter { len: 0, limit };
    serde_json::to_writer(&mut meter, value).ok()?;
    Some(meter.len)
}

/// A writer that counts and refuses to go past its limit.
struct Meter {
    len: usize,
    limit: usize,
}

impl std::io::Write for Meter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.len += buf.len();
        if self.len > self.limit {
            return Err(std::io::Error::other("over the limit"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text_on_a_character() {
        assert_eq!(clip("short", 10), "short");
        let cut = clip(&"é".repeat(100), 5);
        assert!(cut.starts_with("éé…"), "{cut}");
        assert!(cut.ends_with("[196 more bytes]"), "{cut}");
    }

    #[test]
    fn json_len_is_exact_within_the_limit_and_none_past_it() {
        let v = json!({"a": [1, 2, 3]});
        let exact = serde_json::to_string(&v).unwrap().len();
        assert_eq!(json_len_within(&v, exact), Some(exact));
        assert_eq!(json_len_within(&v, exact - 1), None);
        let huge = vec!["x".repeat(1000); 100_000];
        assert_eq!(json_len_within(&huge, 4096), None);
    }
}
