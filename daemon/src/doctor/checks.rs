//! The checks, in the order they are printed.

use std::path::Path;
use std::time::Duration;

use super::{Check, DoctorArgs, Status};
use crate::config::{Config, LoadedConfig, ProviderConfig};
use crate::model::help::HOW_TO_GET_A_MODEL;
use crate::model::ModelClient;
use crate::server::ServeOptions;
use crate::store::{DataDirLock, Store, StoreError};

pub async fn all(args: &DoctorArgs) -> Vec<Check> {
    let opts = ServeOptions {
        data_dir: args.data_dir.clone(),
        config_file: args.config_file.clone(),
        config_overrides: args.config_overrides.clone(),
        profile: args.profile.clone(),
        ..ServeOptions::default()
    };
    let mut out = Vec::new();
    let loaded = match opts.load_config() {
        Ok(loaded) => {
            out.push(config_found(&loaded));
            Some(loaded)
        }
        Err(e) => {
            out.push(Check::new(
                "config",
                Status::Fail,
                crate::errors::describe(&e),
                Some("fix the file or the -c key named above".into()),
            ));
            None
        }
    };
    match opts.data_dir() {
        Ok(dir) => {
            out.push(data_dir(&dir).await);
            out.push(token_file(&dir));
        }
        Err(e) => out.push(Check::new(
            "data directory",
            Status::Fail,
            e.to_string(),
            None,
        )),
    }
    if let Some(url) = loaded.as_ref().and_then(|l| l.config.store.clone()) {
        out.push(shared_store(url, Duration::from_secs(args.timeout_secs)).await);
    }
    out.push(sandbox().await);
    if let Some(loaded) = &loaded {
        out.extend(providers(&loaded.config, Duration::from_secs(args.timeout_secs)).await);
    }
    if let Some(loaded) = &loaded {
        out.extend(mcp_servers(&loaded.config).await);
    }
    let projects = loaded.as_ref().map(|l| &l.config.projects);
    out.push(instructions(projects.cloned().unwrap_or_default()));
    out.push(port(&args.listen).await);
    out
}

/// Each enabled MCP server started, its tools listed, stopped again (all at once). One that
/// fails is a warning (turns run without it), or a failure when it is `required`.
async fn mcp_servers(config: &Config) -> Vec<Check> {
    let enabled: Vec<_> = config.mcp_servers.values().filter(|s| s.enabled).collect();
    let probes = enabled
        .iter()
        .map(|s| crate::mcp::probe(s, &config.default_cwd));
    let results = futures_util::future::join_all(probes).await;
    enabled
        .iter()
        .zip(results)
        .map(|(server, result)| {
            let name = format!("MCP server {}", server.name);
            match result {
                Ok((tools, info)) => {
                    let info = info.map(|i| format!(" ({i})")).unwrap_or_default();
                    Check::ok(name, format!("started{info}; {tools} tools offered"))
                }
                Err(why) => Check::new(
                    name,
                    if server.required {
                        Status::Fail
                    } else {
                        Status::Warn
                    },
                    why,
                    Some(format!(
                        "check [mcp_servers.{}] in the config file; turns run without it{}",
                        server.name,
                        if server.required {
                            " only once `required` is false"
                        } else {
                            ""
                        }
                    )),
                ),
            }
        })
        .collect()
}

fn config_found(loaded: &LoadedConfig) -> Check {
    let file = match &loaded.file {
        Some(path) => format!("{} is valid", path.display()),
        None => "no config file (defaults apply)".to_owned(),
    };
    Check::ok(
        "config",
        format!(
            "{file}; model {} on provider {}",
            loaded.config.model, loaded.config.model_provider
        ),
    )
}

async fn data_dir(dir: &Path) -> Check {
    const NAME: &str = "data directory";
    if let Err(e) = std::fs::create_dir_all(dir) {
        return Check::new(
            NAME,
            Status::Fail,
            format!("cannot create {}: {e}", dir.display()),
            Some("choose another with --data-dir, or fix the permissions".into()),
        );
    }
    let probe = dir.join(".doctor-write-test");
    if let Err(e) = std::fs::write(&probe, b"x") {
        return Check::new(
            NAME,
            Status::Fail,
            format!("{} is not writable: {e}", dir.display()),
            Some("fix its permissions or choose another with --data-dir".into()),
        );
    }
    let _ = std::fs::remove_file(&probe);
    let db = dir.join("agentd.db");
    match DataDirLock::acquire(dir) {
        Err(StoreError::Locked(_)) => Check::ok(
            NAME,
            format!("{}: a running daemon serves it", dir.display()),
        ),
        Err(e) => Check::new(NAME, Status::Fail, e.to_string(), None),
        Ok(_lock) if !db.exists() => Check::ok(
            NAME,
            format!(
                "{} (no database yet; made at the first start)",
                dir.display()
            ),
        ),
        Ok(_lock) => match Store::check_file(&db).await {
            Ok(()) => Check::ok(NAME, format!("{} (database healthy)", dir.display())),
            Err(e) => Check::new(
                NAME,
                Status::Fail,
                format!("{}: {e}", db.display()),
                Some("move the damaged file aside; agentd starts a new one".into()),
            ),
        },
    }
}

/// The PostgreSQL database several daemons share (`store` in the config): reachable, its
/// schema as this build expects, how many daemons hold threads on it now. Read only.
async fn shared_store(url: String, timeout: Duration) -> Check {
    const NAME: &str = "shared store";
    let options = crate::store::postgres::PgOptions::new(url);
    let shown = options.redacted_url();
    match crate::store::postgres::PgStore::probe(&options, timeout).await {
        Err(e) => Check::new(
            NAME,
            Status::Fail,
            format!("{shown}: {e}"),
            Some(
                "start the database, or fix `store` (the password may come from PGPASSWORD)".into(),
            ),
        ),
        Ok(p) => match p.migrations {
            None => Check::ok(
                NAME,
                format!("{shown}: reachable (tables made at the first start)"),
            ),
            Some(n) if n as usize > p.known_migrations => Check::new(
                NAME,
                Status::Fail,
                format!(
                    "{shown}: schema version {n} is newer than this agentd ({})",
                    p.known_migrations
                ),
                Some("upgrade this agentd to the version the other daemons run".into()),
            ),
            Some(n) => Check::ok(
                NAME,
                format!(
                    "{shown}: reachable, schema version {n}, {} daemon(s) holding threads now",
                    p.live_daemons
                ),
            ),
        },
    }
}

fn token_file(dir: &Path) -> Check {
    let path = crate::auth::startup::runtime_token_path(dir);
    let state = if path.exists() {
        "present: a WebSocket daemon wrote its one-time token there"
    } else {
        "none now: a WebSocket daemon writes its one-time token there when it starts"
    };
    Check::ok("token file", format!("{} ({state})", path.display()))
}

async fn sandbox() -> Check {
    let helper = std::env::current_exe().unwrap_or_else(|_| "/proc/self/exe".into());
    let level = crate::sandbox::probe::run(&helper).await;
    if let Some(reason) = &level.unavailable {
        return Check::new(
            "sandbox",
            Status::Warn,
            format!("not available on this kernel: {reason}"),
            Some(
                "commands that need confinement will be refused; allow unprivileged user \
                 namespaces (sysctl kernel.unprivileged_userns_clone=1, or \
                 kernel.apparmor_restrict_unprivileged_userns=0) to get it"
                    .into(),
            ),
        );
    }
    let mut detail = level.describe();
    if level.report.landlock_abi == 0 {
        detail.push_str(" (no Landlock: the kernel lacks it or it is not enabled)");
    }
    Check::ok("sandbox", detail)
}

/// The active provider (a turn needs it) and every other provider the config defines.
async fn providers(config: &Config, timeout: Duration) -> Vec<Check> {
    let builtin = crate::config::built_in_providers();
    let mut out = Vec::new();
    for (id, provider) in &config.providers {
        let active = *id == config.model_provider;
        let custom = builtin.get(id) != Some(provider);
        if active || custom {
            out.push(provider_check(provider, active, timeout).await);
        }
    }
    if !config.providers.contains_key(&config.model_provider) {
        out.push(Check::new(
            format!("provider {}", config.model_provider),
            Status::Fail,
            "model_provider names no provider",
            Some(
                "define it under [model_providers] or pick openai, ollama, lmstudio, llamacpp"
                    .into(),
            ),
        ));
    }
    out
}

/// A tiny request (`GET {base_url}/models`, no retries); never prints a key.
async fn provider_check(provider: &ProviderConfig, active: bool, timeout: Duration) -> Check {
    let name = format!("provider {}", provider.id);
    let failed = if active { Status::Fail } else { Status::Warn };
    let mut settings: crate::model::ProviderSettings = provider.into();
    settings.request_max_retries = 0;
    let client = match ModelClient::new(settings) {
        Ok(c) => c,
        Err(e) => return Check::new(name, failed, e.to_string(), None),
    };
    match tokio::time::timeout(timeout, client.list_models()).await {
        Ok(Ok(models)) => Check::ok(
            name,
            format!("{} answers ({} models)", provider.base_url, models.len()),
        ),
        Ok(Err(e)) => {
            let text = e.to_string();
            let detail = text.lines().next().unwrap_or(&text).to_owned();
            Check::new(name, failed, detail, Some(HOW_TO_GET_A_MODEL.into()))
        }
        Err(_) => Check::new(
            name,
            failed,
            format!(
                "{} did not answer within {} s",
                provider.base_url,
                timeout.as_secs()
            ),
            Some(HOW_TO_GET_A_MODEL.into()),
        ),
    }
}

fn instructions(projects: crate::config::Projects) -> Check {
    let cwd = std::env::current_dir().unwrap_or_else(|_| "/".into());
    let files = crate::agent::instruction_files(&cwd, &projects);
    if files.is_empty() {
        return Check::ok(
            "instructions",
            format!("no AGENTS.md or CLAUDE.md applies to {}", cwd.display()),
        );
    }
    let list: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
    Check::ok(
        "instructions",
        format!("for {}: {}", cwd.display(), list.join(", ")),
    )
}

/// Whether `make run` (or `serve --listen ADDR`) could listen: free, or an agentd already does.
async fn port(listen: &str) -> Check {
    let Ok(crate::server::Listen::WebSocket { addr, .. }) = listen.parse() else {
        return Check::ok(
            "port",
            format!("{listen}: not a WebSocket address; nothing to check"),
        );
    };
    match tokio::net::TcpListener::bind(&addr).await {
        Ok(_) => Check::ok("port", format!("{addr} is free")),
        Err(e) => {
            if agentd_answers(&addr).await {
                return Check::ok("port", format!("{addr}: an agentd already listens there"));
            }
            Check::new(
                "port",
                Status::Warn,
                format!("{addr} is taken by something else: {e}"),
                Some("start agentd on another port: make run PORT=7778".into()),
            )
        }
    }
}

/// `GET /healthz` answered `ok`: the listener is an agentd.
async fn agentd_answers(addr: &str) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(Ok(mut s)) =
        tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr)).await
    else {
        return false;
    };
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(request.as_bytes()).await.is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), s.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    text.starts_with("HTTP/1.1 200") && text.ends_with("ok\n")
}
