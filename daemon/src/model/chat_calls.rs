//! The tool calls of one Chat Completions stream, assembled from their fragments.
//!
//! OpenAI sends a call's `id` and name in its first fragment and keys the rest by `index`;
//! Ollama sends each call whole, all at `index: 0`. Calls are held until the response ends (they
//! are not streamed to the turn), and a server may send fragments without end, so everything it
//! controls is bounded here, fragment by fragment: the number of calls, the bytes they hold, and
//! the work one fragment costs (a map lookup and its own bytes, never a pass over the calls or
//! the arguments that came before it).

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::Value;

use super::retry::Failure;
use super::types::ModelError;

/// Tool calls one response may assemble, and the bytes of their ids, names and arguments.
const MAX_HELD_CALLS: usize = 256;
const MAX_HELD_CALL_BYTES: usize = 32 * 1024 * 1024;

/// One tool call being assembled from fragments.
#[derive(Debug)]
pub(crate) struct PendingCall {
    pub(crate) output_index: u32,
    pub(crate) id: Option<String>,
    pub(crate) name: String,
    pub(crate) arguments: String,
    shape: JsonShape,
}

/// The calls of one response, in order of first appearance.
#[derive(Debug, Default)]
pub(crate) struct HeldCalls {
    calls: Vec<PendingCall>,
    /// Where in `calls` the latest call at each wire `index` is: its fragments go there.
    by_wire_index: HashMap<u64, usize>,
    bytes: usize,
}

/// What one fragment carries.
struct Fragment<'a> {
    wire_index: u64,
    id: Option<&'a str>,
    name: Option<&'a str>,
    arguments: Cow<'a, str>,
}

impl<'a> Fragment<'a> {
    fn read(fragment: &'a Value) -> Self {
        let function = fragment.get("function");
        let arguments = match function.and_then(|f| f.get("arguments")) {
            Some(Value::String(s)) => Cow::Borrowed(s.as_str()),
            Some(Value::Null) | None => Cow::Borrowed(""),
            // Some servers send the arguments as an object rather than its JSON text.
            Some(other) => Cow::Owned(other.to_string()),
        };
        Fragment {
            wire_index: fragment.get("index").and_then(Value::as_u64).unwrap_or(0),
            id: non_empty(fragment.get("id")),
            name: non_empty(function.and_then(|f| f.get("name"))),
            arguments,
        }
    }
}

impl HeldCalls {
    /// Merges one fragment into the call at its index, or starts a new call (taking its output
    /// index from `next_index`). A fragment is a new call when it carries a different `id` and
    /// a name, or (servers that send no ids) a name after the call at that index is complete.
    pub(crate) fn on_fragment(
        &mut self,
        fragment: &Value,
        next_index: &mut u32,
    ) -> Result<(), Failure> {
        let fragment = Fragment::read(fragment);
        let current = self
            .by_wire_index
            .get(&fragment.wire_index)
            .copied()
            .filter(|&pos| pos < self.calls.len());
        match current {
            Some(pos) if !self.calls[pos].starts_new(&fragment) => self.merge(pos, fragment),
            _ => self.start(fragment, next_index),
        }
    }

    /// The calls, in order of first appearance.
    pub(crate) fn take(&mut self) -> Vec<PendingCall> {
        self.by_wire_index.clear();
        self.bytes = 0;
        std::mem::take(&mut self.calls)
    }

    fn merge(&mut self, pos: usize, fragment: Fragment<'_>) -> Result<(), Failure> {
        let call = &self.calls[pos];
        let id = fragment.id.filter(|_| call.id.is_none());
        let name = fragment.name.filter(|_| call.name.is_empty());
        let added = id.map_or(0, str::len) + name.map_or(0, str::len) + fragment.arguments.len();
        self.charge(added)?;
        let call = &mut self.calls[pos];
        if let Some(id) = id {
            call.id = Some(id.to_owned());
        }
        if let Some(name) = name {
            call.name = name.to_owned();
        }
        call.shape.feed(fragment.arguments.as_bytes());
        call.arguments.push_str(&fragment.arguments);
        Ok(())
    }

    fn start(&mut self, fragment: Fragment<'_>, next_index: &mut u32) -> Result<(), Failure> {
        if self.calls.len() >= MAX_HELD_CALLS {
            return Err(too_much());
        }
        let id = fragment.id.map(str::to_owned);
        let name = fragment.name.unwrap_or("").to_owned();
        self.charge(id.as_ref().map_or(0, String::len) + name.len() + fragment.arguments.len())?;
        let mut shape = JsonShape::default();
        shape.feed(fragment.arguments.as_bytes());
        self.by_wire_index
            .insert(fragment.wire_index, self.calls.len());
        self.calls.push(PendingCall {
            output_index: *next_index,
            id,
            name,
            arguments: fragment.arguments.into_owned(),
            shape,
        });
        *next_index += 1;
        Ok(())
    }

    /// Counts bytes about to be held, refusing them past the cap before they are copied.
    fn charge(&mut self, bytes: usize) -> Result<(), Failure> {
        let total = self.bytes.saturating_add(bytes);
        if total > MAX_HELD_CALL_BYTES {
            return Err(too_much());
        }
        self.bytes = total;
        Ok(())
    }
}

impl PendingCall {
    fn starts_new(&mut self, fragment: &Fragment<'_>) -> bool {
        match (fragment.id, &self.id) {
            (Some(new), Some(old)) => new != old && fragment.name.is_some(),
            (None, _) => {
                fragment.name.is_some()
                    && !self.name.is_empty()
                    && self.shape.is_whole(&self.arguments)
            }
            (Some(_), None) => false,
        }
    }
}

fn too_much() -> Failure {
    Failure::Fatal(ModelError::Refused(format!(
        "more than {MAX_HELD_CALLS} tool calls or {} MiB of their arguments",
        MAX_HELD_CALL_BYTES / (1024 * 1024)
    )))
}

fn non_empty(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Whether a call's arguments, fed as they arrive, are one whole JSON object or array: the sign
/// that a later fragment with a name (from a server that sends no ids) is a new call. Only each
/// fragment's new bytes are scanned, and the text is parsed at most once (when its brackets
/// first close): re-parsing the whole arguments on every fragment cost time quadratic in them.
#[derive(Debug, Default)]
struct JsonShape {
    state: ShapeState,
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// Whether the closed text parses, once asked. Closed text only stays closed while
    /// whitespace follows, which does not change the answer.
    parses: Option<bool>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ShapeState {
    /// Nothing but whitespace yet.
    #[default]
    Empty,
    /// Inside the outermost brackets.
    Open,
    /// The outermost brackets closed, whitespace since.
    Closed,
    /// Anything else (a bare scalar, text after the closing bracket): never whole.
    Broken,
}

impl JsonShape {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match self.state {
                ShapeState::Broken => return,
                ShapeState::Open => self.inside(b),
                ShapeState::Empty | ShapeState::Closed if is_json_space(b) => {}
                ShapeState::Empty if b == b'{' || b == b'[' => {
                    self.state = ShapeState::Open;
                    self.depth = 1;
                }
                ShapeState::Empty | ShapeState::Closed => self.state = ShapeState::Broken,
            }
        }
    }

    /// One byte inside the outermost brackets.
    fn inside(&mut self, b: u8) {
        if self.in_string {
            match b {
                _ if self.escaped => self.escaped = false,
                b'\\' => self.escaped = true,
                b'"' => self.in_string = false,
                _ => {}
            }
            return;
        }
        match b {
            b'"' => self.in_string = true,
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                if self.depth == 0 {
                    self.state = ShapeState::Closed;
                }
            }
            _ => {}
        }
    }

    /// `text` is everything fed so far.
    fn is_whole(&mut self, text: &str) -> bool {
        if self.state != ShapeState::Closed {
            return false;
        }
        *self
            .parses
            .get_or_insert_with(|| serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok())
    }
}

fn is_json_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn whole(pieces: &[&str]) -> bool {
        let mut shape = JsonShape::default();
        let mut text = String::new();
        for piece in pieces {
            shape.feed(piece.as_bytes());
            text.push_str(piece);
        }
        shape.is_whole(&text)
    }

    #[test]
    fn the_shape_follows_strings_escapes_and_nesting() {
        assert!(whole(&[r#" {"a": [1, {"b": "}]\"{"}]"#, "} \n"]));
        assert!(whole(&["[", "]"]));
        assert!(!whole(&[r#"{"a": "}"#]), "the brace is in a string");
        assert!(!whole(&[r#"{"a": "\"}"#]), "the quote is escaped");
        assert!(!whole(&[r#"{"a": 1}"#, "x"]), "text after the value");
        assert!(!whole(&[r#"{"a": tru}"#]), "balanced but not JSON");
        assert!(!whole(&["", " "]));
        assert!(!whole(&["12"]), "arguments are an object");
    }

    fn feed(calls: &mut HeldCalls, fragments: &[Value]) -> Result<(), Failure> {
        let mut next_index = 0;
        fragments
            .iter()
            .try_for_each(|f| calls.on_fragment(f, &mut next_index))
    }

    #[test]
    fn fragments_join_by_index_and_idless_whole_calls_stay_apart() {
        let mut calls = HeldCalls::default();
        let fragments = [
            json!({"index": 0, "id": "a", "function": {"name": "f", "arguments": "{\"x\""}}),
            json!({"index": 1, "id": "b", "function": {"name": "g", "arguments": "{}"}}),
            json!({"index": 0, "function": {"arguments": ":1}"}}),
            json!({"index": 1, "function": {"name": "h", "arguments": "{}"}}),
        ];
        assert!(feed(&mut calls, &fragments).is_ok());
        let got: Vec<(u32, String, String)> = calls
            .take()
            .into_iter()
            .map(|c| (c.output_index, c.name, c.arguments))
            .collect();
        let want = [(0, "f", r#"{"x":1}"#), (1, "g", "{}"), (2, "h", "{}")];
        let want: Vec<(u32, String, String)> = want
            .iter()
            .map(|(i, n, a)| (*i, (*n).to_owned(), (*a).to_owned()))
            .collect();
        assert_eq!(got, want);
    }

    /// The caps hold within one event's fragment array, before anything past them is held.
    #[test]
    fn the_caps_apply_fragment_by_fragment() {
        let mut calls = HeldCalls::default();
        let many: Vec<Value> = (0..=MAX_HELD_CALLS as u64)
            .map(|i| json!({"index": i, "function": {"name": "f"}}))
            .collect();
        assert!(feed(&mut calls, &many).is_err());
        assert_eq!(calls.calls.len(), MAX_HELD_CALLS);

        let mut calls = HeldCalls::default();
        let half = "x".repeat(MAX_HELD_CALL_BYTES / 2);
        let big = [
            json!({"index": 0, "function": {"name": "f", "arguments": half}}),
            json!({"index": 0, "function": {"arguments": half}}),
            json!({"index": 0, "function": {"arguments": "x"}}),
        ];
        assert!(feed(&mut calls, &big).is_err());
        assert_eq!(calls.calls[0].arguments.len(), MAX_HELD_CALL_BYTES / 2);
    }
}
