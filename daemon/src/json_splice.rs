//! Writing JSON with a piece of ready-made JSON text spliced in, without parsing that text.
//!
//! Shared by the answer builder (`rpc::dispatch`) and the turns writer (`threads::convert`): a
//! thread's stored items are already wire JSON, and splicing them in as text instead of going
//! through a `Value` halved `thread/read` and `thread/resume` (docs/benchmarks.md, "History").

/// Why [`write_json_with`] could not write.
#[derive(Debug, thiserror::Error)]
pub enum SpliceError {
    #[error("no member {0:?} to put the JSON text in")]
    NoMember(String),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// Appends `value` as compact JSON — byte for byte what `serde_json::to_string` writes — except
/// that the member at `path` (which must exist) is replaced by `json`, copied as it is.
///
/// This is how an answer carries megabytes of stored JSON without parsing it: the caller
/// guarantees `json` is one valid JSON value (checked text from the store, or `serde_json`'s
/// own output), so the result is valid JSON too.
pub fn write_json_with(
    out: &mut String,
    value: &serde_json::Value,
    path: &[&str],
    json: &str,
) -> Result<(), SpliceError> {
    let Some((first, rest)) = path.split_first() else {
        out.push_str(json);
        return Ok(());
    };
    let serde_json::Value::Object(map) = value else {
        return Err(SpliceError::NoMember((*first).to_owned()));
    };
    if !map.contains_key(*first) {
        return Err(SpliceError::NoMember((*first).to_owned()));
    }
    out.push('{');
    for (n, (key, member)) in map.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::to_string(key)?);
        out.push(':');
        if key == first {
            write_json_with(out, member, rest, json)?;
        } else {
            out.push_str(&serde_json::to_string(member)?);
        }
    }
    out.push('}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    #[test]
    fn write_json_with_matches_serde_json_and_needs_the_member() {
        let value =
            json!({"z": 1, "thread": {"é\"": "q\"\n", "turns": [], "a": null}, "b": [1.5, true]});
        let mut out = String::new();
        write_json_with(
            &mut out,
            &value,
            &["thread", "turns"],
            "[{\"x\":\"\\u00e9\"}]",
        )
        .unwrap();
        let mut want = value.clone();
        want["thread"]["turns"] = json!([{"x": "é"}]);
        let want_text = {
            let mut w = value.to_string();
            w = w.replace("\"turns\":[]", "\"turns\":[{\"x\":\"\\u00e9\"}]");
            w
        };
        assert_eq!(out, want_text);
        assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), want);

        let mut out = String::new();
        assert!(matches!(
            write_json_with(&mut out, &value, &["thread", "missing"], "1"),
            Err(SpliceError::NoMember(m)) if m == "missing"
        ));
        assert!(write_json_with(&mut String::new(), &json!([1]), &["a"], "1").is_err());
    }
}
