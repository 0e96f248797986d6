//! A throwaway PostgreSQL server for one test: its own cluster in a temporary directory,
//! listening on a free loopback port, stopped (and its files removed) when dropped.
//!
//! The PostgreSQL store is tested against a real server, not a stand-in, because what differs
//! from SQLite is exactly what the server does: types, locking, full-text search. Debian's
//! `postgresql` package provides the binaries (`.ci/run` installs it); its own cluster is not
//! used. `initdb` refuses to run as root, so when the tests run as root (CI) the server runs as
//! `nobody`, in a directory handed to that user.

use std::fs::OpenOptions;
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use sqlx::{Connection, PgConnection};
use tempfile::TempDir;

const NOT_FOUND: &str = "PostgreSQL server binaries not found: install Debian's postgresql \
                         package (.ci/run does)";

/// The superuser `initdb` creates; loopback connections are trusted, so no password.
const USER: &str = "agentd";

/// Who runs the server when the tests run as root, and that user's group.
const UNPRIVILEGED_USER: &str = "nobody";
const UNPRIVILEGED_GROUP: &str = "nogroup";

/// Server settings for a test: reachable on loopback only, its socket kept in the temporary
/// directory (not /run/postgresql, which may not exist or belong to the package's cluster), no
/// fsync (a test's data need not survive a power cut), and room for many pools at once.
const SETTINGS: &str = "
listen_addresses = '127.0.0.1'
fsync = off
max_connections = 200
";

/// A running PostgreSQL server of one test.
pub struct TestPostgres {
    /// Where `initdb`, `pg_ctl` and `postgres` are.
    bin: PathBuf,
    /// Holds the data directory, the socket and the server log; removed after the server stops
    /// (fields drop after `Drop::drop` ran).
    dir: TempDir,
    port: u16,
}

impl TestPostgres {
    /// Creates a cluster and starts its server (about half a second).
    pub fn start() -> Result<TestPostgres> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new()
            .prefix("agentd-pg")
            .tempdir()
            .context("creating a directory for PostgreSQL")?;
        if running_as_root() {
            give_to_unprivileged_user(dir.path())?;
        }
        let mut server = TestPostgres { bin, dir, port: 0 };
        server.init_cluster()?;
        // Picked just before the server binds it, to keep the window for another taker short.
        server.port = free_port()?;
        server.configure()?;
        server.start_again()?;
        Ok(server)
    }

    /// The default database (`postgres`) as the superuser.
    pub fn url(&self) -> String {
        self.database_url("postgres")
    }

    /// Creates an empty database `name` (letters, digits and `_`) and returns its URL: each
    /// test's store migrates a database of its own.
    pub async fn create_database(&self, name: &str) -> Result<String> {
        if !is_plain_identifier(name) {
            bail!("database name {name:?} is not a plain lowercase identifier");
        }
        let mut conn = PgConnection::connect(&self.url())
            .await
            .with_context(|| format!("connecting to {}", self.url()))?;
        // CREATE DATABASE takes no bind parameters; the name was checked above.
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .with_context(|| format!("creating database {name}"))?;
        let _ = conn.close().await;
        Ok(self.database_url(name))
    }

    /// Stops the server the way an administrator would (`pg_ctl stop -m fast`): sessions are
    /// ended, the data stays. For tests of a database going away and coming back.
    pub fn stop(&self) -> Result<()> {
        self.pg_ctl(&["-m", "fast", "stop"])
    }

    /// Starts the server again on the same data directory and port.
    pub fn start_again(&self) -> Result<()> {
        let log = self.dir.path().join("log");
        let log_arg = log.to_string_lossy().into_owned();
        self.pg_ctl(&["-l", &log_arg, "start"]).map_err(|e| {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            e.context(format!("PostgreSQL server log:\n{tail}"))
        })
    }

    fn database_url(&self, name: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{name}", self.port)
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `initdb`: UTF-8 in the `C.UTF-8` locale (byte-order text, like SQLite, whatever the
    /// caller's `LANG`), trust authentication, no fsync of the new files.
    fn init_cluster(&self) -> Result<()> {
        let mut cmd = self.tool("initdb");
        cmd.arg("-D")
            .arg(self.data_dir())
            .args(["-U", USER, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"])
            .arg("--no-sync");
        run(cmd, "initdb")
    }

    /// Appends this test's settings to `postgresql.conf` (later lines win), so that
    /// [`TestPostgres::start_again`] needs no options.
    fn configure(&self) -> Result<()> {
        let conf = self.data_dir().join("postgresql.conf");
        let socket_dir = self.dir.path().display();
        let settings = format!(
            "{SETTINGS}port = {}\nunix_socket_directories = '{socket_dir}'\n",
            self.port
        );
        OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut f| f.write_all(settings.as_bytes()))
            .with_context(|| format!("writing {}", conf.display()))
    }

    /// Runs `pg_ctl -D DATA -w ARGS` (waiting for the start or stop to finish).
    fn pg_ctl(&self, args: &[&str]) -> Result<()> {
        let mut cmd = self.tool("pg_ctl");
        cmd.arg("-D").arg(self.data_dir()).arg("-w").args(args);
        run(cmd, "pg_ctl")
    }

    /// A command running one of the server's tools, as `nobody` when we are root. It runs in
    /// the temporary directory: `nobody` may not be allowed into the caller's.
    fn tool(&self, name: &str) -> Command {
        let program = self.bin.join(name);
        let mut cmd = if running_as_root() {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", UNPRIVILEGED_USER, "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        };
        cmd.current_dir(self.dir.path());
        cmd
    }
}

impl Drop for TestPostgres {
    /// Stops the server at once (a test's data need no clean shutdown); already stopped is fine.
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "stop"]);
    }
}

/// The directory of `initdb` and `pg_ctl`: `$AGENTD_PG_BIN`, else `pg_config --bindir`, else
/// the newest of Debian's `/usr/lib/postgresql/*/bin`.
fn bin_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("AGENTD_PG_BIN") {
        let dir = PathBuf::from(dir);
        if has_server_tools(&dir) {
            return Ok(dir);
        }
        bail!(
            "{NOT_FOUND} ($AGENTD_PG_BIN is {}, which has no initdb and pg_ctl)",
            dir.display()
        );
    }
    pg_config_bin_dir()
        .filter(|d| has_server_tools(d))
        .or_else(newest_debian_bin_dir)
        .context(NOT_FOUND)
}

/// What `pg_config --bindir` says, when `pg_config` is on PATH. Debian's `libpq-dev` ships a
/// `pg_config` without the server, hence the check for the tools by the caller.
fn pg_config_bin_dir() -> Option<PathBuf> {
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let dir = text.trim();
    (out.status.success() && !dir.is_empty()).then(|| PathBuf::from(dir))
}

/// The highest-numbered `/usr/lib/postgresql/VERSION/bin` holding the server tools (several
/// major versions may be installed side by side).
fn newest_debian_bin_dir() -> Option<PathBuf> {
    std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            has_server_tools(&bin).then_some((version, bin))
        })
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin)
}

fn has_server_tools(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("pg_ctl").is_file()
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Hands the temporary directory to the user the server runs as.
fn give_to_unprivileged_user(dir: &Path) -> Result<()> {
    let mut cmd = Command::new("chown");
    cmd.arg(format!("{UNPRIVILEGED_USER}:{UNPRIVILEGED_GROUP}"))
        .arg(dir);
    run(cmd, "chown")
}

/// A loopback port nobody listens on now. Another process could take it before the server
/// binds it; the window is short, and a taken port fails the start with a clear log.
fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// Runs `cmd` to completion; an error carries its output.
fn run(mut cmd: Command, what: &str) -> Result<()> {
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    if out.status.success() {
        return Ok(());
    }
    bail!(
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn is_plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database created before a stop is there after `start_again`, on the same URL.
    #[tokio::test]
    async fn data_survives_a_stop_and_start() {
        let server = TestPostgres::start().unwrap();
        let url = server.create_database("kept").await.unwrap();
        let mut conn = PgConnection::connect(&url).await.unwrap();
        sqlx::query("CREATE TABLE marks (n INT)")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO marks VALUES (7)")
            .execute(&mut conn)
            .await
            .unwrap();
        drop(conn);

        server.stop().unwrap();
        assert!(PgConnection::connect(&url).await.is_err());
        server.start_again().unwrap();
        let mut conn = PgConnection::connect(&url).await.unwrap();
        let n: i32 = sqlx::query_scalar("SELECT n FROM marks")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, 7);
        assert!(server.create_database("Bad-Name").await.is_err());
    }
}
