//! Where tests find the reference material they check agentd against (Codex's app-server
//! schema and its recorded TUI session, the portable apply_patch scenarios).
//!
//! One rule, used by every crate's tests: `$AGENTD_REFERENCE_DIR` if set, else `shared/reference`
//! beside the workspace (`../shared/reference` from the repository root), which is how CI lays
//! the checkout out. A missing copy fails with a message that says where it was expected.

use std::path::PathBuf;

/// `<reference dir>/<name>`; panics, naming the path and the rule, when it is not there.
pub fn reference_dir(name: &str) -> PathBuf {
    let base = match std::env::var_os("AGENTD_REFERENCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference"),
    };
    let dir = base.join(name);
    assert!(
        dir.is_dir(),
        "the reference copy {name:?} is not at {}: tests expect `shared/reference/{name}` beside \
         the repository (as CI lays it out: ../shared/reference from the repository root), or \
         $AGENTD_REFERENCE_DIR pointing at a copy of shared/reference",
        dir.display()
    );
    dir
}
