//! What can go wrong while loading the config. Every message says *where* (the file, or the
//! `-c` override as typed) and, when one key is at fault, *which* key, because the person
//! reading it is about to open that file or retype that flag.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read (a missing `--config` file, a permission problem, …).
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The text is not TOML. `message` carries the line and column from the parser.
    #[error("{origin}: {message}")]
    Syntax { origin: String, message: String },
    /// A key the schema does not have (often a typo).
    #[error("{origin}: unknown key `{key}`")]
    UnknownKey { origin: String, key: String },
    /// A known key with a value of the wrong type, out of range or otherwise unusable.
    #[error("{origin}: key `{key}`: {message}")]
    BadValue {
        origin: String,
        key: String,
        message: String,
    },
    /// A `-c` argument that is not `KEY=VALUE` or tries something only the file may do.
    #[error("-c {text}: {message}")]
    BadOverride { text: String, message: String },
    /// `--profile NAME` (or `profile = "NAME"`) names no `[profiles.NAME]` table.
    #[error("unknown profile `{name}`: {detail}")]
    UnknownProfile { name: String, detail: String },
}
