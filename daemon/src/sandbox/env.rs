//! The environment a sandboxed command gets: an allow-list, minus anything secret-looking.
//!
//! The daemon already strips secret-looking names from every command's environment; inside the
//! sandbox only variables that programs need to find their tools, locale and caches pass at
//! all. The command also learns it is sandboxed (`AGENTD_SANDBOX=<mode>`, and
//! `AGENTD_SANDBOX_NETWORK_DISABLED=1` without network), so a test suite can skip what needs
//! the network instead of failing.

/// Passed through by exact name.
const ALLOWED: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "COLORTERM",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "PWD",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "LESS",
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR",
    "CI",
    "HOSTNAME",
    "LD_LIBRARY_PATH",
    "PKG_CONFIG_PATH",
    "CC",
    "CXX",
    "AR",
    "CFLAGS",
    "CXXFLAGS",
    "LDFLAGS",
    "MAKEFLAGS",
    "CARGO_HOME",
    "CARGO_TARGET_DIR",
    "CARGO_TERM_COLOR",
    "RUSTUP_HOME",
    "RUSTUP_TOOLCHAIN",
    "RUSTFLAGS",
    "RUST_BACKTRACE",
    "RUST_LOG",
    "GOPATH",
    "GOROOT",
    "GOCACHE",
    "GOMODCACHE",
    "GOFLAGS",
    "GOTOOLCHAIN",
    "JAVA_HOME",
    "NODE_PATH",
    "NVM_DIR",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYENV_ROOT",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
];

/// Passed through by prefix (locale categories).
const ALLOWED_PREFIXES: &[&str] = &["LC_"];

/// Never passed, even when allow-listed: the name looks like it holds a secret.
const SECRET_MARKERS: &[&str] = &["KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL"];

pub(crate) fn is_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_MARKERS.iter().any(|m| upper.contains(m))
}

fn is_allowed(name: &str) -> bool {
    ALLOWED.contains(&name) || ALLOWED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The command's environment from the helper's.
pub(crate) fn command_env(
    vars: impl IntoIterator<Item = (String, String)>,
    mode: &str,
    network: bool,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(k, _)| is_allowed(k) && !is_secret(k))
        .collect();
    env.push(("AGENTD_SANDBOX".to_owned(), mode.to_owned()));
    if !network {
        env.push(("AGENTD_SANDBOX_NETWORK_DISABLED".to_owned(), "1".to_owned()));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_list_and_secrets() {
        let vars = [
            ("PATH", "/bin"),
            ("LC_ALL", "C"),
            ("OPENAI_API_KEY", "sk-1"),
            ("GITHUB_TOKEN", "t"),
            ("RANDOM_THING", "x"),
            ("HOME", "/root"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()));
        let env = command_env(vars, "read-only", false);
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "PATH",
                "LC_ALL",
                "HOME",
                "AGENTD_SANDBOX",
                "AGENTD_SANDBOX_NETWORK_DISABLED"
            ]
        );
        assert!(is_secret("aws_secret_access_key") && !is_secret("PATH"));
    }
}
