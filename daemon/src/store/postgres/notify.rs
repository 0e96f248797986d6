//! Wake-ups between daemons: one `LISTEN` connection per daemon, re-broadcast in-process.
//!
//! A notification only says "look again": the rows are the truth. PostgreSQL drops
//! notifications sent while a listener is reconnecting, so a reconnect (and a receiver that
//! fell behind the in-process broadcast) is reported as [`Wake::Resync`], after which every
//! waiter re-reads from what it last saw. Waiters also re-read on a timer of their own.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener};
use sqlx::{PgConnection, PgPool};
use tokio::sync::broadcast;

use super::{SqlContext, StoreError};

/// The one channel every daemon listens on.
pub(super) const CHANNEL: &str = "agentd";

/// Wakes buffered per receiver before it counts as behind (and gets a `Resync`).
const WAKE_BUFFER: usize = 1024;

/// What another daemon (or this one) wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    /// A thread's events were committed up to `seq`.
    Events { thread_id: String, seq: u64 },
    /// A command was forwarded to daemon `target`.
    Command { target: String },
    /// Forwarded command `id` was answered.
    Answer { id: i64 },
    /// A thread's pending approvals changed.
    Approvals { thread_id: String },
    /// Notifications may have been lost: re-read everything.
    Resync,
}

impl Wake {
    fn parse(payload: &str) -> Option<Wake> {
        let (kind, rest) = payload.split_once(' ')?;
        Some(match kind {
            "e" => {
                let (thread_id, seq) = rest.rsplit_once(' ')?;
                Wake::Events {
                    thread_id: thread_id.to_owned(),
                    seq: seq.parse().ok()?,
                }
            }
            "c" => Wake::Command {
                target: rest.to_owned(),
            },
            "a" => Wake::Answer {
                id: rest.parse().ok()?,
            },
            "p" => Wake::Approvals {
                thread_id: rest.to_owned(),
            },
            _ => return None,
        })
    }
}

/// A subscription to wake-ups.
pub type WakeReceiver = broadcast::Receiver<Wake>;

/// The listening task and its in-process broadcast.
#[derive(Debug, Clone)]
pub(super) struct Wakes {
    tx: broadcast::Sender<Wake>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Wakes {
    pub(super) async fn start(options: PgConnectOptions) -> Result<Wakes, StoreError> {
        let pool = PgPool::connect_lazy_with(options);
        let listener = subscribe(&pool).await.ctx("listening for other daemons")?;
        let (tx, _) = broadcast::channel(WAKE_BUFFER);
        let task = tokio::spawn(listen(pool, listener, tx.clone()));
        Ok(Wakes {
            tx,
            task: Arc::new(task),
        })
    }

    pub(super) fn subscribe(&self) -> WakeReceiver {
        self.tx.subscribe()
    }

    pub(super) fn stop(&self) {
        self.task.abort();
    }
}

/// The longest pause between two attempts to reach a database that is away.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

async fn listen(pool: PgPool, mut listener: PgListener, tx: broadcast::Sender<Wake>) {
    loop {
        match listener.try_recv().await {
            Ok(Some(n)) => {
                if let Some(wake) = Wake::parse(n.payload()) {
                    let _ = tx.send(wake);
                }
            }
            // The connection was lost and `try_recv` has already reconnected and listens again.
            Ok(None) => {
                tracing::warn!("the database connection for wake-ups was lost; listening again");
                let _ = tx.send(Wake::Resync);
            }
            // The reconnect failed (the database is away), or the connection broke in a way
            // the listener keeps: start over on a new one.
            Err(e) => {
                tracing::warn!(error = %e, "waiting for the database to come back");
                drop(listener);
                listener = listen_again(&pool).await;
                let _ = tx.send(Wake::Resync);
            }
        }
    }
}

/// A new listener, once the database answers (with backoff). Only then is anyone told to
/// re-read: a re-read done before `LISTEN` is back would miss what is written between the two
/// until the waiter's own timer (the listener's next use would reconnect too, but silently).
async fn listen_again(pool: &PgPool) -> PgListener {
    let mut backoff = Duration::from_millis(250);
    loop {
        match subscribe(pool).await {
            Ok(listener) => return listener,
            Err(e) => {
                tracing::debug!(error = %e, "the database is still away");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// A listener on [`CHANNEL`].
async fn subscribe(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Sends a wake-up inside the caller's transaction (delivered when it commits).
pub(super) async fn notify_events(
    conn: &mut PgConnection,
    thread_id: &str,
    seq: u64,
) -> Result<(), StoreError> {
    notify(conn, &format!("e {thread_id} {seq}")).await
}

pub(super) async fn notify(conn: &mut PgConnection, payload: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(payload)
        .execute(conn)
        .await
        .ctx("waking other daemons")?;
    Ok(())
}

impl super::PgStore {
    /// Wake-ups from now on (this daemon's own writes included).
    pub fn wakes(&self) -> WakeReceiver {
        self.wakes.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::Wake;

    #[test]
    fn payloads_parse_and_junk_is_ignored() {
        assert_eq!(
            Wake::parse("e 019a-b 42"),
            Some(Wake::Events {
                thread_id: "019a-b".into(),
                seq: 42
            })
        );
        assert_eq!(Wake::parse("a 7"), Some(Wake::Answer { id: 7 }));
        assert_eq!(Wake::parse("e x notanumber"), None);
        assert_eq!(Wake::parse("z 1"), None);
        assert_eq!(Wake::parse(""), None);
    }
}
