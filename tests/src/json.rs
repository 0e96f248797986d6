//! Assertions on JSON that tell a key that is present and `null` from one that is missing:
//! indexing a `serde_json::Value` (`v["key"]`) yields `Null` either way, so comparing the result
//! with `Value::Null` cannot say which of the two the daemon sent.

use serde_json::Value;

/// Asserts `v` is an object holding `key` and that its value is `null`: for fields the protocol
/// says are always there, null when there is no value.
#[track_caller]
pub fn assert_null(v: &Value, key: &str) {
    match field_of(v, key) {
        Some(Value::Null) => {}
        Some(other) => panic!("`{key}` is {other}, not null, in {v}"),
        None => panic!("`{key}` is missing (expected present and null) in {v}"),
    }
}

/// Asserts `v` is an object whose `key` is absent or `null`: for optional fields the protocol
/// may leave out (marked `key?` in PROTOCOL.md, not required by Codex's schema).
#[track_caller]
pub fn assert_absent_or_null(v: &Value, key: &str) {
    match field_of(v, key) {
        None | Some(Value::Null) => {}
        Some(other) => panic!("`{key}` is {other}, expected absent or null, in {v}"),
    }
}

/// `v[key]`, failing unless `v` is an object holding `key`: for reading a value that may be null
/// but must be there (a `nextCursor` that ends a pagination loop when null, say).
#[track_caller]
pub fn field<'a>(v: &'a Value, key: &str) -> &'a Value {
    field_of(v, key).unwrap_or_else(|| panic!("`{key}` is missing in {v}"))
}

/// `key` of the object `v`; panics when `v` is not an object.
#[track_caller]
fn field_of<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object()
        .unwrap_or_else(|| panic!("expected an object with `{key}`, got {v}"))
        .get(key)
}
