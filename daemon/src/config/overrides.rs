//! `-c KEY=VALUE`: one override turned into a one-key TOML table, so it merges and validates
//! exactly like a file layer.
//!
//! The key is read as a TOML dotted key (so `model_providers."my.host".base_url` works) and the
//! value as a TOML value, falling back to a plain string: `-c model=o3` needs no quotes, while
//! `-c model_context_window=200000` is a number and `-c 'x=["a","b"]'` an array.

use toml::{Table, Value};

use super::error::ConfigError;

/// One parsed `-c` argument.
#[derive(Debug, Clone)]
pub struct Override {
    /// The argument as typed (without `-c`), for error messages.
    pub text: String,
    pub table: Table,
}

pub fn parse(text: &str) -> Result<Override, ConfigError> {
    let bad = |message: &str| ConfigError::BadOverride {
        text: text.to_owned(),
        message: message.to_owned(),
    };
    let (key, raw) = text
        .split_once('=')
        .ok_or_else(|| bad("expected KEY=VALUE"))?;
    let key = key.trim();
    if key.is_empty() {
        return Err(bad("expected KEY=VALUE"));
    }
    let path = key_path(key).ok_or_else(|| bad("the key is not a valid (dotted) TOML key"))?;
    let value = parse_value(raw.trim());
    let mut table = Table::new();
    insert_at(&mut table, &path, value);
    Ok(Override {
        text: text.to_owned(),
        table,
    })
}

/// The segments of a dotted key, as TOML reads them (quotes removed).
fn key_path(key: &str) -> Option<Vec<String>> {
    let doc: Table = toml::from_str(&format!("{key} = 0")).ok()?;
    let mut path = Vec::new();
    let mut table = &doc;
    loop {
        let mut entries = table.iter();
        let (segment, value) = entries.next()?;
        if entries.next().is_some() {
            return None;
        }
        path.push(segment.clone());
        match value {
            Value::Table(inner) => table = inner,
            Value::Integer(0) => return Some(path),
            _ => return None,
        }
    }
}

/// A TOML value if `raw` is one, else `raw` itself as a string.
fn parse_value(raw: &str) -> Value {
    match toml::from_str::<Table>(&format!("v = {raw}")) {
        // More than one key means the "value" smuggled in more TOML; treat it as text.
        Ok(mut doc) if doc.len() == 1 => doc
            .remove("v")
            .unwrap_or_else(|| Value::String(raw.to_owned())),
        _ => Value::String(raw.to_owned()),
    }
}

fn insert_at(table: &mut Table, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let mut inner = Table::new();
            insert_at(&mut inner, rest, value);
            table.insert(first.clone(), Value::Table(inner));
        }
    }
}

/// Sorts Codex-style `-c` arguments for a command that accepts Codex's keys (`agentd exec`,
/// `agentd app-server`): the ones agentd knows are kept; one it does not know is returned apart
/// (the caller warns about it rather than failing, since Codex's config has many keys agentd
/// does not); a malformed one or a bad value for a known key is an error naming it. Codex's
/// `openai_base_url` becomes agentd's `model_providers.openai.base_url`.
pub fn sort_codex_overrides(args: &[String]) -> Result<(Vec<String>, Vec<String>), ConfigError> {
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for arg in args {
        let text = match arg.split_once('=') {
            Some((key, value)) if key.trim() == "openai_base_url" => {
                format!("model_providers.openai.base_url={value}")
            }
            _ => arg.clone(),
        };
        let parsed = parse(&text)?;
        match super::file::validate(parsed.table, &format!("-c {text}")) {
            Ok(_) => known.push(text),
            Err(ConfigError::UnknownKey { key, .. }) => unknown.push(key),
            Err(e) => return Err(e),
        }
    }
    Ok((known, unknown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_toml_or_plain_strings() {
        let o = parse("model=o3").unwrap();
        assert_eq!(o.table["model"], Value::String("o3".into()));
        let o = parse("model_context_window = 200000").unwrap();
        assert_eq!(o.table["model_context_window"], Value::Integer(200_000));
        let o = parse("model=\"quoted\"").unwrap();
        assert_eq!(o.table["model"], Value::String("quoted".into()));
        let o = parse("x=\"a\"\ny=1").unwrap();
        assert_eq!(o.table["x"], Value::String("\"a\"\ny=1".into()));
    }

    #[test]
    fn dotted_and_quoted_keys_nest() {
        let o = parse("model_providers.\"my.host\".base_url=http://h/v1").unwrap();
        let url = &o.table["model_providers"]["my.host"]["base_url"];
        assert_eq!(url, &Value::String("http://h/v1".into()));
    }

    #[test]
    fn malformed_overrides_are_refused() {
        for text in ["model", "=x", "a b=1", "a..b=1"] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with(&format!("-c {text}: ")), "{err}");
        }
    }
}
