//! Connecting: the pool, its timeouts, and migrations.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::notify::Wakes;
use super::{NodeId, PgStore, SqlContext, StoreError};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations-postgres");

/// Connections per daemon: actors commit on their own connection each, and replays read.
const POOL_SIZE: u32 = 16;

/// How long a request waits for a free connection (or a database that went away) before it
/// fails as retryable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest one statement may run: a stuck query costs its request, not a connection forever.
const STATEMENT_TIMEOUT_MS: u64 = 30_000;

/// A session stuck inside a transaction (its daemon stopped with SIGSTOP) is ended by the
/// server after this, releasing the lease row it had locked.
const IDLE_IN_TRANSACTION_MS: u64 = 5_000;

/// How to reach the shared database and how long thread leases last.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// `postgres://USER[:PASSWORD]@HOST:PORT/DB`; without a password in it, `PGPASSWORD`.
    pub url: String,
    /// How long a thread lease lasts without renewal: how soon another daemon takes the
    /// threads of one that died.
    pub lease: Duration,
}

impl PgOptions {
    pub fn new(url: impl Into<String>) -> Self {
        PgOptions {
            url: url.into(),
            lease: Duration::from_secs(10),
        }
    }

    /// The URL without its password, for logs and error messages.
    pub fn redacted_url(&self) -> String {
        match reqwest::Url::parse(&self.url) {
            Ok(mut u) => {
                if u.password().is_some() {
                    let _ = u.set_password(Some("***"));
                }
                u.to_string()
            }
            Err(_) => "postgres://(unparsable url)".to_owned(),
        }
    }
}

/// What `agentd doctor` learns about a shared database without changing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Migrations applied (`None`: agentd never ran on it; the first daemon creates the tables).
    pub migrations: Option<i64>,
    /// Migrations this build has.
    pub known_migrations: usize,
    /// Daemons holding a live thread lease now.
    pub live_daemons: i64,
}

impl PgStore {
    /// Connects once, reads the schema version and the live lease holders, and disconnects.
    pub async fn probe(options: &PgOptions, timeout: Duration) -> Result<Probe, StoreError> {
        let connect = connect_options(options)?;
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(timeout)
            .connect_with(connect)
            .await
            .map_err(|source| StoreError::Sql {
                context: "connecting to PostgreSQL",
                source,
            })?;
        let made: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&pool)
            .await
            .ctx("reading the schema version")?;
        let migrations: Option<i64> = if made {
            sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(&pool)
                .await
                .ctx("reading the schema version")?
        } else {
            None
        };
        let live_daemons: i64 = if migrations.is_some() {
            sqlx::query_scalar(
                "SELECT count(DISTINCT owner) FROM thread_leases \
                 WHERE expires_at > (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT",
            )
            .fetch_one(&pool)
            .await
            .ctx("reading thread leases")?
        } else {
            0
        };
        pool.close().await;
        Ok(Probe {
            migrations,
            known_migrations: MIGRATOR.iter().count(),
            live_daemons,
        })
    }

    /// Connects (retrying for a few seconds: the database may be starting with us), then
    /// migrates the schema and starts listening for other daemons' wake-ups.
    pub async fn connect(options: PgOptions) -> Result<PgStore, StoreError> {
        let mut connect = PgConnectOptions::from_str(&options.url).map_err(|e| {
            StoreError::Corrupt(format!(
                "invalid PostgreSQL URL {}: {e}",
                options.redacted_url()
            ))
        })?;
        let has_password = reqwest::Url::parse(&options.url)
            .map(|u| u.password().is_some())
            .unwrap_or(false);
        if !has_password {
            if let Ok(password) = std::env::var("PGPASSWORD") {
                connect = connect.password(&password);
            }
        }
        let connect = connect.application_name("agentd").options([
            ("statement_timeout", STATEMENT_TIMEOUT_MS.to_string()),
            (
                "idle_in_transaction_session_timeout",
                IDLE_IN_TRANSACTION_MS.to_string(),
            ),
        ]);
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .min_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .idle_timeout(Some(Duration::from_secs(300)))
            .connect_with(connect.clone())
            .await
            .map_err(|source| StoreError::Sql {
                context: "connecting to PostgreSQL",
                source,
            })?;
        MIGRATOR.run(&pool).await?;
        let node = Arc::new(NodeId {
            id: uuid::Uuid::now_v7().to_string(),
            host: crate::paths::host_name(),
        });
        let wakes = Wakes::start(connect).await?;
        let lease_ms = options.lease.as_millis().clamp(500, 3_600_000) as i64;
        Ok(PgStore {
            pool,
            node,
            epochs: Arc::new(Mutex::new(HashMap::new())),
            lease_ms,
            wakes,
            fenced: Default::default(),
        })
    }

    /// The database's clock in milliseconds: leases are timed by one clock for every daemon.
    pub(super) async fn db_now_ms(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT")
            .fetch_one(&self.pool)
            .await
            .ctx("reading the database clock")
    }
}

/// The connection settings of every agentd connection: the URL, `PGPASSWORD` when the URL has
/// no password, and the server-side timeouts.
fn connect_options(options: &PgOptions) -> Result<PgConnectOptions, StoreError> {
    let mut connect = PgConnectOptions::from_str(&options.url).map_err(|e| {
        StoreError::Corrupt(format!(
            "invalid PostgreSQL URL {}: {e}",
            options.redacted_url()
        ))
    })?;
    let has_password = reqwest::Url::parse(&options.url)
        .map(|u| u.password().is_some())
        .unwrap_or(false);
    if !has_password {
        if let Ok(password) = std::env::var("PGPASSWORD") {
            connect = connect.password(&password);
        }
    }
    Ok(connect.application_name("agentd").options([
        ("statement_timeout", STATEMENT_TIMEOUT_MS.to_string()),
        (
            "idle_in_transaction_session_timeout",
            IDLE_IN_TRANSACTION_MS.to_string(),
        ),
    ]))
}
