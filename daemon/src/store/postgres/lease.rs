//! Thread leases: which daemon runs a thread's turns, and since which epoch.
//!
//! A lease is a row (owner, host, epoch, expiry on the database's clock). A daemon takes it
//! when nobody holds it or its expiry passed; taking it from another owner increments the epoch,
//! which fences the old owner's commits (`events.rs`). The holder renews every lease it holds
//! in one statement; one it finds gone was taken over while it stalled, and it stops writing.
//! A released lease keeps its row (expiry 0) so epochs only ever grow.

use super::{PgStore, SqlContext, StoreError};

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
    /// Takes the thread's lease if it is free, expired, or already ours.
    pub async fn acquire_lease(&self, thread_id: &str) -> Result<LeaseOutcome, StoreError> {
        let sql = format!(
            "WITH old AS (SELECT owner, host, epoch FROM thread_leases WHERE thread_id = $1) \
             INSERT INTO thread_leases AS l (thread_id, owner, host, epoch, expires_at) \
             VALUES ($1, $2, $3, 1, {DB_NOW_MS} + $4) \
             ON CONFLICT (thread_id) DO UPDATE SET owner = $2, host = $3, \
               epoch = CASE WHEN l.owner = $2 AND l.expires_at > 0 THEN l.epoch ELSE l.epoch + 1 END, \
               expires_at = {DB_NOW_MS} + $4 \
             WHERE l.owner = $2 OR l.expires_at < {DB_NOW_MS} \
             RETURNING l.epoch, (SELECT owner FROM old), (SELECT host FROM old), \
               (SELECT epoch FROM old)"
        );
        let taken: Option<Taken> = sqlx::query_as(&sql)
            .bind(thread_id)
            .bind(&self.node.id)
            .bind(&self.node.host)
            .bind(self.lease_ms)
            .fetch_optional(&self.pool)
            .await
            .ctx("taking a thread's lease")?;
        let Some((epoch, owner, host, old_epoch)) = taken else {
            return Ok(match self.lease_holder(thread_id).await? {
                Some(holder) => LeaseOutcome::HeldBy(holder),
                // Released between the two statements: ask again.
                None => Box::pin(self.acquire_lease(thread_id)).await?,
            });
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
        let lost: Vec<String> = ids.into_iter().filter(|id| !renewed.contains(id)).collect();
        for id in &lost {
            self.forget_lease(id);
        }
        Ok(lost)
    }

    /// Gives a thread's lease up (the thread was unloaded): another daemon may take it at once.
    pub async fn release_lease(&self, thread_id: &str) -> Result<(), StoreError> {
        let Some(epoch) = self.epoch_of(thread_id) else {
            return Ok(());
        };
        self.forget_lease(thread_id);
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

    /// Threads whose holder stopped renewing (it died or lost the database): candidates to
    /// take over. Released leases (expiry 0) are not: their threads were left idle.
    pub async fn expired_leases(&self) -> Result<Vec<String>, StoreError> {
        let sql = format!(
            "SELECT thread_id FROM thread_leases WHERE expires_at > 0 \
             AND expires_at < {DB_NOW_MS} ORDER BY expires_at LIMIT 256"
        );
        sqlx::query_scalar(&sql)
            .fetch_all(&self.pool)
            .await
            .ctx("finding expired leases")
    }

    /// Whether this daemon believes it holds the thread's lease.
    pub fn holds_lease(&self, thread_id: &str) -> bool {
        self.epoch_of(thread_id).is_some()
    }

    pub(super) fn forget_lease(&self, thread_id: &str) {
        if let Ok(mut epochs) = self.epochs.lock() {
            epochs.remove(thread_id);
        }
    }

    /// How long a lease lasts without renewal.
    pub fn lease_length(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.lease_ms as u64)
    }
}
