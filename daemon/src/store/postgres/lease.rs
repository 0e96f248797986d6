//! Thread leases: which daemon runs a thread's turns, and since which epoch.
//!
//! A lease is a row (owner, host, epoch, expiry on the database's clock). A daemon takes it
//! when nobody holds it or its expiry passed; every taking increments the epoch (even by the
//! same daemon: an actor being unloaded and its successor must never share one), and each
//! actor commits with the epoch it was spawned under, which fences every older one
//! (`events.rs`). The holder renews every lease it holds
//! in one statement; one it finds gone was taken over while it stalled, and it stops writing.
//! A released lease keeps its row (expiry 0) so epochs only ever grow.

use super::{PgStore, SqlContext, StoreError};

/// PostgreSQL's `lock_not_available` (a `lock_timeout` ran out).
const LOCK_NOT_AVAILABLE: &str = "55P03";

/// The database clock in milliseconds, inside a statement.
const DB_NOW_MS: &str = "(extract(epoch FROM clock_timestamp()) * 1000)::BIGINT";

/// What taking a lease returns: the epoch now, and the previous owner, host and epoch.
type Taken = (i64, Option<String>, Option<String>, Option<i64>);

/// Who holds a thread's lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseHolder {
    pub owner: String,
    pub host: String,
    pub epoch: i64,
}

/// What asking for a lease gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// This daemon holds it now; `previous` is the holder it was taken from (expired, or
    /// released), if any other.
    Acquired {
        epoch: i64,
        previous: Option<LeaseHolder>,
    },
    /// Another daemon holds it and its lease has not expired.
    HeldBy(LeaseHolder),
}

impl PgStore {
    /// Takes the thread's lease if it is free, expired, or ours with no epoch of it in use
    /// here: a row left behind by a release that failed (or written by something else) would
    /// otherwise route this daemon's requests for the thread to itself until it expired. A
    /// lease whose epoch is still held (an actor stopping) stays as it is: taking it again
    /// would fence that actor's last commit.
    pub async fn acquire_lease(&self, thread_id: &str) -> Result<LeaseOutcome, StoreError> {
        let reclaim = self.held_epoch(thread_id).is_none();
        let sql = format!(
            "WITH old AS (SELECT owner, host, epoch FROM thread_leases WHERE thread_id = $1) \
             INSERT INTO thread_leases AS l (thread_id, owner, host, epoch, expires_at) \
             VALUES ($1, $2, $3, 1, {DB_NOW_MS} + $4) \
             ON CONFLICT (thread_id) DO UPDATE SET owner = $2, host = $3, \
               epoch = l.epoch + 1, expires_at = {DB_NOW_MS} + $4 \
             WHERE l.expires_at < {DB_NOW_MS} OR (l.owner = $2 AND $5) \
             RETURNING l.epoch, (SELECT owner FROM old), (SELECT host FROM old), \
               (SELECT epoch FROM old)"
        );
        // A holder that stopped in the middle of a commit keeps the row share-locked until the
        // server ends its session: wait a moment, not that long, and count it as held (the
        // caller follows the thread, and a take-over is tried again on the next sweep).
        let mut tx = self.pool.begin().await.ctx("taking a thread's lease")?;
        sqlx::query("SET LOCAL lock_timeout = '500ms'")
            .execute(&mut *tx)
            .await
            .ctx("taking a thread's lease")?;
        let taken: Result<Option<Taken>, sqlx::Error> = sqlx::query_as(&sql)
            .bind(thread_id)
            .bind(&self.node.id)
            .bind(&self.node.host)
            .bind(self.lease_ms)
            .bind(reclaim)
            .fetch_optional(&mut *tx)
            .await;
        let taken = match taken {
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some(LOCK_NOT_AVAILABLE) => {
                None
            }
            Err(e) => return Err(e).ctx("taking a thread's lease"),
            Ok(taken) => {
                tx.commit().await.ctx("taking a thread's lease")?;
                taken
            }
        };
        let Some((epoch, owner, host, old_epoch)) = taken else {
            // Held by a live daemon (this one included: a thread has one actor at a time).
            // Released between the two statements: the caller may ask again.
            let holder = self.lease_holder(thread_id).await?.unwrap_or(LeaseHolder {
                owner: String::new(),
                host: String::new(),
                epoch: 0,
            });
            return Ok(LeaseOutcome::HeldBy(holder));
        };
        if let Ok(mut epochs) = self.epochs.lock() {
            epochs.insert(thread_id.to_owned(), epoch);
        }
        let previous = match (owner, host, old_epoch) {
            (Some(owner), Some(host), Some(epoch)) if owner != self.node.id => {
                Some(LeaseHolder { owner, host, epoch })
            }
            _ => None,
        };
        Ok(LeaseOutcome::Acquired { epoch, previous })
    }

    /// The live holder of a thread's lease, if any.
    pub async fn lease_holder(&self, thread_id: &str) -> Result<Option<LeaseHolder>, StoreError> {
        let sql = format!(
            "SELECT owner, host, epoch FROM thread_leases \
             WHERE thread_id = $1 AND expires_at >= {DB_NOW_MS}"
        );
        let row: Option<(String, String, i64)> = sqlx::query_as(&sql)
            .bind(thread_id)
            .fetch_optional(&self.pool)
            .await
            .ctx("reading a thread's lease")?;
        Ok(row.map(|(owner, host, epoch)| LeaseHolder { owner, host, epoch }))
    }

    /// Extends every lease this daemon holds; returns the threads whose lease it lost (taken
    /// over while it could not renew), which it must stop writing to.
    pub async fn renew_leases(&self) -> Result<Vec<String>, StoreError> {
        let held: Vec<(String, i64)> = match self.epochs.lock() {
            Ok(m) => m.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            Err(_) => return Ok(Vec::new()),
        };
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = held.iter().map(|(id, _)| id.clone()).collect();
        let epochs: Vec<i64> = held.iter().map(|(_, e)| *e).collect();
        let sql = format!(
            "UPDATE thread_leases l SET expires_at = {DB_NOW_MS} + $2 \
             FROM unnest($3::TEXT[], $4::BIGINT[]) AS h(thread_id, epoch) \
             WHERE l.thread_id = h.thread_id AND l.epoch = h.epoch AND l.owner = $1 \
               AND l.expires_at > 0 \
             RETURNING l.thread_id"
        );
        let renewed: Vec<String> = sqlx::query_scalar(&sql)
            .bind(&self.node.id)
            .bind(self.lease_ms)
            .bind(&ids)
            .bind(&epochs)
            .fetch_all(&self.pool)
            .await
            .ctx("renewing thread leases")?;
        let renewed: std::collections::HashSet<String> = renewed.into_iter().collect();
        let lost: Vec<String> = held
            .into_iter()
            .filter(|(id, epoch)| !renewed.contains(id) && self.forget_epoch(id, *epoch))
            .map(|(id, _)| id)
            .collect();
        Ok(lost)
    }

    /// Gives up the lease taken at `epoch` (its actor stopped): another daemon may take it at
    /// once. A later taking (a new actor) is left alone.
    pub async fn release_lease(&self, thread_id: &str, epoch: i64) -> Result<(), StoreError> {
        self.forget_epoch(thread_id, epoch);
        sqlx::query(
            "UPDATE thread_leases SET expires_at = 0 \
             WHERE thread_id = $1 AND owner = $2 AND epoch = $3",
        )
        .bind(thread_id)
        .bind(&self.node.id)
        .bind(epoch)
        .execute(&self.pool)
        .await
        .ctx("releasing a thread's lease")?;
        Ok(())
    }

    /// Threads whose holder stopped renewing (it died or lost the database) in the middle of a
    /// turn: to take over, so the turn ends and everyone hears it. Released leases (expiry 0)
    /// and idle threads are left alone: the next request loads them.
    pub async fn expired_leases(&self) -> Result<Vec<String>, StoreError> {
        let sql = format!(
            "SELECT l.thread_id FROM thread_leases l WHERE l.expires_at > 0 \
             AND l.expires_at < {DB_NOW_MS} AND EXISTS (SELECT 1 FROM turns t \
               WHERE t.thread_id = l.thread_id AND t.status = 'inProgress') \
             ORDER BY l.expires_at LIMIT 64"
        );
        sqlx::query_scalar(&sql)
            .fetch_all(&self.pool)
            .await
            .ctx("finding expired leases")
    }

    /// The epoch of the thread's lease if this daemon holds it.
    pub fn held_epoch(&self, thread_id: &str) -> Option<i64> {
        self.epoch_of(thread_id)
    }

    /// Whether this daemon believes it holds the thread's lease at `epoch`.
    pub fn holds_epoch(&self, thread_id: &str, epoch: i64) -> bool {
        self.epoch_of(thread_id) == Some(epoch)
    }

    /// A commit under `epoch` was refused: the lease moved on. Forgets that epoch and tells
    /// the hub (once per lost lease), which stops the actor and follows the thread instead.
    pub(super) fn forget_epoch_fenced(&self, thread_id: &str, epoch: i64) {
        if self.forget_epoch(thread_id, epoch) {
            let _ = self.fenced.tx.send(thread_id.to_owned());
        }
    }

    /// Threads whose lease this daemon found lost on a commit, for the hub to act on; the
    /// first caller gets them.
    pub fn fenced_threads(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<String>> {
        self.fenced.rx.lock().ok()?.take()
    }

    /// Forgets the lease taken at `epoch` only (not a newer one); true if it was held.
    pub(super) fn forget_epoch(&self, thread_id: &str, epoch: i64) -> bool {
        let Ok(mut epochs) = self.epochs.lock() else {
            return false;
        };
        if epochs.get(thread_id) == Some(&epoch) {
            epochs.remove(thread_id);
            return true;
        }
        false
    }

    /// How long a lease lasts without renewal.
    pub fn lease_length(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.lease_ms as u64)
    }
}
