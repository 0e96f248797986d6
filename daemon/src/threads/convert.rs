//! Between stored rows and wire types. The store knows nothing of the protocol; this is the one
//! place where a row becomes a `Thread` or `Turn`.

use agentd_protocol::{SessionSource, Thread, ThreadItem, ThreadStatus, Turn};

use crate::json_splice::{write_json_with, SpliceError};
use crate::port::ThreadSettings;
use crate::store::{ItemRow, ThreadRow, TurnRow};

/// The settings of a stored thread; a row written by an older version falls back to defaults
/// rather than making the thread unreadable.
pub fn settings_of(row: &ThreadRow) -> ThreadSettings {
    serde_json::from_value(row.settings.clone()).unwrap_or_else(|e| {
        tracing::warn!(thread = %row.id, error = %e, "thread settings unreadable; using defaults");
        ThreadSettings::default()
    })
}

/// The thread's source; a stored value this version cannot read is shown as `unknown` (and
/// logged): it describes the thread, it does not drive anything.
fn source_of(row: &ThreadRow) -> SessionSource {
    serde_json::from_str(&row.source).unwrap_or_else(|e| {
        tracing::warn!(thread = %row.id, error = %e, source = %row.source, "unreadable thread source");
        SessionSource::Unknown
    })
}

pub fn thread_from_row(row: &ThreadRow, status: ThreadStatus, turns: Vec<Turn>) -> Thread {
    Thread {
        id: row.id.clone(),
        session_id: row.session_id.clone(),
        preview: row.preview.clone(),
        name: row.name.clone(),
        cwd: row.cwd.clone(),
        model_provider: row.model_provider.clone(),
        model: Some(row.model.clone()),
        created_at: row.created_at,
        updated_at: row.updated_at,
        ephemeral: row.ephemeral,
        cli_version: env!("CARGO_PKG_VERSION").to_owned(),
        source: source_of(row),
        project_id: None,
        forked_from_id: row.forked_from_id.clone(),
        archived: row.archived,
        status,
        last_seq: row.last_seq,
        turns,
    }
}

/// A turn row as a wire `Turn`, without its items.
fn turn_from_row(t: TurnRow) -> Turn {
    Turn {
        id: t.id,
        status: t.status.into(),
        error: t.error.and_then(|e| serde_json::from_value(e).ok()),
        items: Vec::new(),
        items_view: None,
        started_at: t.started_at,
        completed_at: t.completed_at,
        duration_ms: t.duration_ms,
        usage: t.usage.and_then(|u| serde_json::from_value(u).ok()),
    }
}

/// Assembles the thread's visible turns (rolled-back ones excluded) with their items.
pub fn turns_from_rows(turns: Vec<TurnRow>, items: Vec<ItemRow>) -> Vec<Turn> {
    let mut out: Vec<Turn> = Vec::with_capacity(turns.len());
    let mut index = std::collections::HashMap::new();
    for t in turns.into_iter().filter(|t| !t.rolled_back) {
        index.insert(t.id.clone(), out.len());
        out.push(turn_from_row(t));
    }
    let mut items = items;
    items.sort_by_key(|i| i.position);
    for i in items {
        if let Some(&ix) = index.get(&i.turn_id) {
            match serde_json::from_value::<ThreadItem>(i.payload) {
                Ok(item) => out[ix].items.push(item),
                Err(e) => tracing::warn!(item = %i.id, error = %e, "skipping an unreadable item"),
            }
        }
    }
    out
}

/// [`turns_from_rows`] as JSON text, for answers that carry many items (`thread/read`,
/// `thread/resume`, `thread/fork`, `thread/rollback`). Each turn's items arrive as one JSON
/// array of the stored payloads (see `Store::turns_with_items_json`) and are spliced into the
/// text as they are: building a `serde_json::Value` of them and writing it out again was about
/// half of a 10k-item `thread/read` (docs/benchmarks.md, "History").
///
/// The payloads are the daemon's own writes, but the answer must stay valid JSON whatever the
/// store holds, so each turn's array is checked first. The check parses without building
/// anything (`IgnoredAny`), several times cheaper than a `Value`. A turn whose items fail it
/// goes out without them, with a warning, as it did when they were parsed: one damaged row
/// costs its turn's items, not the whole answer.
///
/// The turns' own fields are written exactly as `serde_json` writes the `Turn` as a `Value`
/// (same keys, same order), so the answer's bytes are what they were before, items included.
/// The result is always one valid JSON array: a turn that cannot be written (which would take a
/// bug, not bad data) is left out and logged rather than failing the whole read.
pub fn turns_json(turns: Vec<(TurnRow, String)>) -> String {
    let mut out = String::with_capacity(turns.iter().map(|(_, i)| i.len() + 256).sum());
    out.push('[');
    let mut written = 0usize;
    for (t, items) in turns.into_iter().filter(|(t, _)| !t.rolled_back) {
        let items = if is_json_array(&items) {
            items.as_str()
        } else {
            tracing::warn!(turn = %t.id, "unreadable items; sending the turn without them");
            "[]"
        };
        let mark = out.len();
        if written > 0 {
            out.push(',');
        }
        let id = t.id.clone();
        let turn = serde_json::to_value(turn_from_row(t)).map_err(SpliceError::from);
        match turn.and_then(|turn| write_json_with(&mut out, &turn, &["items"], items)) {
            Ok(()) => written += 1,
            Err(e) => {
                tracing::error!(turn = %id, error = %e, "could not write a turn; leaving it out");
                out.truncate(mark);
            }
        }
    }
    out.push(']');
    out
}

/// Whether `text` is one JSON array and nothing else (surrounding whitespace aside).
fn is_json_array(text: &str) -> bool {
    text.trim_start().starts_with('[')
        && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn turn_row(id: &str, rolled_back: bool) -> TurnRow {
        TurnRow {
            id: id.into(),
            thread_id: "t".into(),
            position: 0,
            status: crate::store::TurnState::Failed,
            error: Some(json!({"message": "said \"no\"\n"})),
            started_at: Some(1),
            completed_at: Some(2),
            duration_ms: Some(1000),
            usage: None,
            client_request_id: None,
            rolled_back,
        }
    }

    /// What `turns_json` wrote when it built a `Value`: the reference for the spliced text.
    fn via_value(turns: &[(TurnRow, String)]) -> String {
        let turns: Vec<Value> = turns
            .iter()
            .filter(|(t, _)| !t.rolled_back)
            .map(|(t, items)| {
                let mut turn = serde_json::to_value(turn_from_row(t.clone())).unwrap();
                turn["items"] = serde_json::from_str(items).unwrap_or_else(|_| json!([]));
                turn
            })
            .collect();
        Value::Array(turns).to_string()
    }

    #[test]
    fn spliced_turns_are_byte_for_byte_what_the_value_route_wrote() {
        let items = json!([
            {"type": "agentMessage", "id": "a", "text": "héllo \"wörld\"\n\t\\ 🦀 \u{0001} \u{2028}"},
            {"type": "commandExecution", "id": "c", "aggregatedOutput": "x".repeat(100_000),
             "exitCode": 0, "durationMs": 1.5}
        ])
        .to_string();
        let turns = vec![
            (turn_row("t1", false), items.clone()),
            (turn_row("t2", true), items.clone()),
            (turn_row("t3", false), "[]".to_owned()),
        ];
        let text = turns_json(turns.clone());
        assert_eq!(text, via_value(&turns));
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed.as_array().unwrap().len(), 2);
        assert_eq!(
            parsed[0]["items"],
            serde_json::from_str::<Value>(&items).unwrap()
        );
    }

    #[test]
    fn unreadable_items_cost_their_turn_only_and_never_break_the_json() {
        for bad in [
            "[{\"type\": \"agentMessage\", \"te",
            "[1,,2]",
            "[1] [2]",
            "[1]]",
            "{\"not\": \"an array\"}",
            "",
            "[\"raw \u{0001} control\"]",
        ] {
            let turns = vec![
                (turn_row("t1", false), bad.to_owned()),
                (turn_row("t2", false), "[{\"id\":\"x\"}]".to_owned()),
            ];
            let text = turns_json(turns);
            let parsed: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{bad:?} gave broken JSON {text}: {e}"));
            assert_eq!(parsed[0]["items"], json!([]), "{bad:?}");
            assert_eq!(parsed[1]["items"], json!([{"id": "x"}]), "{bad:?}");
        }
    }
}
