//! `schema/` is generated from `protocol/` and checked in (ARCHITECTURE.md, principle 1). These
//! tests run the binary's generators into a temporary directory and hold the checked-in copy to
//! them:
//!
//! - every file of `schema/json/`, `schema/typescript/` and `schema/compat/` is byte-identical
//!   to a fresh generation (else: "schema/ is stale: run make schema");
//! - the protocol still publishes everything the snapshot of its version lists (else: bump
//!   `PROTOCOL_VERSION` and add a CHANGELOG entry), and the CHANGELOG has a section for it;
//! - the TypeScript bindings compile with `tsc --strict`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use agentd::schema_gen::compat;
use serde_json::Value;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// Runs `agentd ARGS…` and fails with its stderr if it does not succeed.
fn agentd(args: &[&str]) {
    let bin = agentd_tests::harness::agentd_bin().unwrap();
    let out = Command::new(&bin).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "agentd {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh generation into a temporary directory: `json/`, `typescript/`, and `compat/` seeded
/// with the checked-in snapshots (as `make schema` merges into them).
fn generate(seed_compat: bool) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let compat_dir = tmp.path().join("compat");
    std::fs::create_dir_all(&compat_dir).unwrap();
    if seed_compat {
        for name in files_in(&repo_root().join("schema/compat")) {
            std::fs::copy(
                repo_root().join("schema/compat").join(&name),
                compat_dir.join(&name),
            )
            .unwrap();
        }
    }
    let path = |p: &str| tmp.path().join(p).display().to_string();
    agentd(&[
        "generate-json-schema",
        "--out",
        &path("json"),
        "--compat",
        &path("compat"),
    ]);
    agentd(&["generate-ts", "--out", &path("typescript")]);
    tmp
}

/// File names directly in `dir` (none if it does not exist).
fn files_in(dir: &Path) -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeSet::new();
    };
    entries
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// The first difference between the generated and the checked-in copy of `sub`, if any.
fn first_difference(generated: &Path, checked_in: &Path, sub: &str) -> Option<String> {
    let (fresh_dir, kept_dir) = (generated.join(sub), checked_in.join(sub));
    let fresh = files_in(&fresh_dir);
    let kept = files_in(&kept_dir);
    for name in fresh.union(&kept) {
        let shown = format!("schema/{sub}/{name}");
        match (fresh.contains(name), kept.contains(name)) {
            (true, false) => return Some(format!("{shown} is missing")),
            (false, true) => return Some(format!("{shown} is no longer generated")),
            _ => {}
        }
        let a = std::fs::read(fresh_dir.join(name)).unwrap();
        let b = std::fs::read(kept_dir.join(name)).unwrap();
        if a != b {
            let (a, b) = (String::from_utf8_lossy(&a), String::from_utf8_lossy(&b));
            let line = a
                .lines()
                .zip(b.lines())
                .position(|(x, y)| x != y)
                .unwrap_or_else(|| a.lines().count().min(b.lines().count()))
                + 1;
            return Some(format!(
                "{shown} differs from a fresh generation at line {line}"
            ));
        }
    }
    None
}

#[test]
fn checked_in_schema_is_fresh() {
    let generated = generate(true);
    let schema = repo_root().join("schema");
    for sub in ["json", "typescript", "compat"] {
        if let Some(diff) = first_difference(generated.path(), &schema, sub) {
            panic!("schema/ is stale: run make schema ({diff})");
        }
    }
}

/// The protocol version the generators write, from the fresh `index.json`.
fn protocol_version(generated: &Path) -> String {
    let text = std::fs::read_to_string(generated.join("json/index.json")).unwrap();
    let index: Value = serde_json::from_str(&text).unwrap();
    index["protocolVersion"].as_str().unwrap().to_owned()
}

#[test]
fn a_published_type_or_method_is_not_lost_without_a_version_bump() {
    // Unseeded: the snapshot of exactly what the protocol publishes now.
    let generated = generate(false);
    let version = protocol_version(generated.path());
    let name = compat::snapshot_file_name(&version);
    let read = |path: PathBuf| -> Option<Value> {
        let text = std::fs::read_to_string(path).ok()?;
        Some(serde_json::from_str(&text).unwrap())
    };
    let now = read(generated.path().join("compat").join(&name)).unwrap();
    let Some(published) = read(repo_root().join("schema/compat").join(&name)) else {
        panic!("schema/compat/{name} is missing: run make schema (protocol v{version} is new)");
    };
    let lost = compat::missing(&published, &now);
    assert!(
        lost.is_empty(),
        "protocol v{version} no longer publishes what schema/compat/{name} lists:\n  {}\n\
         Removing a field, enum value, variant, type or method breaks clients: bump \
         PROTOCOL_VERSION (protocol/src/params/initialize.rs), add a CHANGELOG entry \
         (protocol/CHANGELOG.md) and run make schema.",
        lost.join("\n  ")
    );
}

#[test]
fn the_changelog_has_a_section_for_the_protocol_version() {
    let generated = generate(false);
    let version = protocol_version(generated.path());
    let changelog = std::fs::read_to_string(repo_root().join("protocol/CHANGELOG.md")).unwrap();
    let heading = format!("## Protocol v{version}");
    assert!(
        changelog
            .lines()
            .any(|l| l == heading || l.starts_with(&format!("{heading} "))),
        "protocol/CHANGELOG.md has no `{heading}` section"
    );
}

fn has(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn typescript_compiles_with_tsc_strict() {
    if !has("node") || !has("npm") {
        eprintln!("SKIPPED: node/npm not found; schema/typescript was not type-checked");
        return;
    }
    let dir = repo_root().join("schema");
    let tsc = dir.join("node_modules/.bin/tsc");
    if !tsc.exists() {
        // CI installs it (.ci/run); a fresh checkout gets it here, from schema/package-lock.json.
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "npm ci in schema/ failed (TypeScript is needed for this check):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = Command::new(&tsc)
        .args(["-p", "tsconfig.json"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tsc --strict fails on schema/typescript:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
