//! The layer rule of docs/ARCHITECTURE.md, checked: a module may use modules of lower layers
//! only. A `crate::x` path in a module of a layer at or below `x`'s fails `make test` here,
//! naming the file and the import.

/// Layers from the bottom; a module sees only modules of lower layers (and its own subtree).
const LAYERS: &[&[&str]] = &[
    &[
        "clock",
        "paths",
        "errors",
        "heap",
        "json_splice",
        "runtime",
        "schema_gen",
    ],
    &["config", "store"],
    &["model", "sandbox", "auth"],
    &["port"],
    &["tools", "memory"],
    &["mcp"],
    &["agent"],
    &["threads"],
    &["daemon"],
    &["rpc"],
    &["transport"],
    &["server"],
    &["client"],
    &["exec", "doctor", "mcp_server", "acp"],
    &["cli", "fuzzing"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|layer| layer.contains(&module))
}

/// Every top-level module `source` names as `crate::<module>`.
fn imports(source: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.push(name);
        }
        rest = after;
    }
    out
}

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap_or(&file);
        let top = rel
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or("")
            .trim_end_matches(".rs")
            .to_owned();
        let Some(own) = layer_of(&top) else {
            assert!(
                ["lib", "main", "layers"].contains(&top.as_str()),
                "{} is a top-level module missing from LAYERS",
                rel.display()
            );
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for import in imports(&text) {
            if import == top {
                continue;
            }
            match layer_of(&import) {
                Some(theirs) if theirs < own => {}
                Some(_) => violations.push(format!("{} uses crate::{import}", rel.display())),
                None => violations.push(format!(
                    "{} uses crate::{import}, which is in no layer",
                    rel.display()
                )),
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports against the layers (docs/ARCHITECTURE.md):\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_import_scanner_sees_paths_anywhere() {
    assert_eq!(
        imports("use crate::store::X;\nlet y = crate::clock::now_ms(); // crate::threads"),
        vec!["store", "clock", "threads"]
    );
}
