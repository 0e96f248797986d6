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

/// An error and its causes on one line, each cause left out when the message before it already
/// says it: many errors here name their source in their own message (`cannot read config file
/// X: No such file…`), and printing the whole chain would say it twice.
pub fn describe(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    let mut previous = out.clone();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !previous.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        previous = text;
    }
    out
}
