//! Ids for internal errors. A client is told that something failed and an id; the log has the
//! same id beside the whole error (store or driver text, paths), which is for the operator, not
//! for whoever is on the other end of a socket.

/// A fresh id to put in the log and in the answer: `E` and 8 hex digits.
pub fn incident_id() -> String {
    format!("E{:08x}", fastrand::u32(..))
}

/// Logs `error` under a fresh id and returns the id.
pub fn log_id(error: &dyn std::fmt::Display) -> String {
    let id = incident_id();
    tracing::error!(error_id = %id, error = %error, "internal error");
    id
}
