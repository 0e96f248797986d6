//! Rows daemons use to work on each other's threads: requests forwarded to a thread's holder
//! (answered in the same row), and the holder's questions still waiting for a client.

use super::notify::notify;
use super::{PgStore, SqlContext, StoreError};

/// Resolved questions older than this are deleted by the next sweep.
const KEEP_ANSWERED_SECS: i64 = 60;

/// Forwarded commands older than this are deleted by the next sweep, answered or not: nobody
/// waits longer for one (`threads::forward_patience` plus a margin).
const KEEP_COMMANDS_SECS: i64 = 600;

/// Commands one daemon claims at a time (the rest wait for the next round).
const CLAIM_BATCH: i64 = 64;

/// The most questions of one thread read at a time: a turn asks one at a time, and answered
/// ones stay only until the sweep.
pub const QUESTIONS_READ: usize = 64;

/// The most bytes of a question's params read (a larger one is read as `null`): a command
/// line or a patch to approve, far below this.
const QUESTION_BYTES: i64 = 4 << 20;

/// The columns of a `pending_approvals` row as read.
type ApprovalColumns = (i64, String, String, String, Option<String>, Option<String>);

/// A request another daemon received for a thread this daemon holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedCommand {
    pub id: i64,
    pub thread_id: String,
    pub origin: String,
    pub method: String,
    /// The request's params, as JSON text.
    pub params: String,
}

/// A question the holder of a thread asked its clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingApproval {
    pub thread_id: String,
    pub approval_id: i64,
    pub owner: String,
    pub method: String,
    /// The request's params, as JSON text.
    pub params: String,
    /// Once answered (or withdrawn): the decision, as JSON text, and who decided.
    pub resolution: Option<(String, String)>,
}

impl PgStore {
    /// Queues a request for the daemon `target` and wakes it; returns the command's id.
    pub async fn forward_command(
        &self,
        thread_id: &str,
        target: &str,
        method: &str,
        params: &str,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await.ctx("forwarding a request")?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO thread_commands (thread_id, target, origin, method, params, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(thread_id)
        .bind(target)
        .bind(&self.node.id)
        .bind(method)
        .bind(params)
        .bind(crate::clock::unix_now())
        .fetch_one(&mut *tx)
        .await
        .ctx("forwarding a request")?;
        notify(&mut tx, &format!("c {target}")).await?;
        tx.commit().await.ctx("forwarding a request")?;
        Ok(id)
    }

    /// Claims up to `at_most` of the commands waiting for this daemon (each is claimed once).
    pub async fn claim_commands(
        &self,
        at_most: usize,
    ) -> Result<Vec<ForwardedCommand>, StoreError> {
        let rows: Vec<(i64, String, String, String, String)> = sqlx::query_as(
            "UPDATE thread_commands SET claimed_at = $2 WHERE id IN ( \
               SELECT id FROM thread_commands \
               WHERE target = $1 AND answer IS NULL AND claimed_at IS NULL \
               ORDER BY id LIMIT $3) \
             RETURNING id, thread_id, origin, method, params",
        )
        .bind(&self.node.id)
        .bind(crate::clock::unix_now())
        .bind(CLAIM_BATCH.min(at_most as i64))
        .fetch_all(&self.pool)
        .await
        .ctx("reading forwarded requests")?;
        let mut commands: Vec<ForwardedCommand> = rows
            .into_iter()
            .map(|(id, thread_id, origin, method, params)| ForwardedCommand {
                id,
                thread_id,
                origin,
                method,
                params,
            })
            .collect();
        commands.sort_by_key(|c| c.id);
        Ok(commands)
    }

    /// Stores a forwarded command's JSON-RPC answer and wakes the daemon waiting for it.
    pub async fn answer_command(&self, id: i64, answer: &str) -> Result<(), StoreError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .ctx("answering a forwarded request")?;
        sqlx::query("UPDATE thread_commands SET answer = $2, answered_at = $3 WHERE id = $1")
            .bind(id)
            .bind(answer)
            .bind(crate::clock::unix_now())
            .execute(&mut *tx)
            .await
            .ctx("answering a forwarded request")?;
        notify(&mut tx, &format!("a {id}")).await?;
        tx.commit().await.ctx("answering a forwarded request")?;
        Ok(())
    }

    /// The answer to a forwarded command, once there is one.
    pub async fn command_answer(&self, id: i64) -> Result<Option<String>, StoreError> {
        let answer: Option<Option<String>> =
            sqlx::query_scalar("SELECT answer FROM thread_commands WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .ctx("reading a forwarded request's answer")?;
        Ok(answer.flatten())
    }

    /// Withdraws a command nobody claimed (its target died): `true` if it was still unclaimed,
    /// so the caller may run it elsewhere without it ever running twice.
    pub async fn withdraw_command(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM thread_commands WHERE id = $1 AND claimed_at IS NULL")
            .bind(id)
            .execute(&self.pool)
            .await
            .ctx("withdrawing a forwarded request")?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a command whose answer its origin has read.
    pub async fn forget_command(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM thread_commands WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .ctx("forgetting a forwarded request")?;
        Ok(())
    }

    /// Deletes commands and resolved questions old enough that nobody waits for them (their
    /// daemons died, or gave up).
    pub async fn sweep_commands(&self) -> Result<(), StoreError> {
        let now = crate::clock::unix_now();
        let before = now - KEEP_ANSWERED_SECS;
        sqlx::query("DELETE FROM thread_commands WHERE created_at < $1")
            .bind(now - KEEP_COMMANDS_SECS)
            .execute(&self.pool)
            .await
            .ctx("sweeping forwarded requests")?;
        sqlx::query("DELETE FROM pending_approvals WHERE resolved_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await
            .ctx("sweeping resolved questions")?;
        Ok(())
    }

    /// Records a question of a thread this daemon holds, for clients of every daemon.
    pub async fn put_approval(&self, a: &PendingApproval) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.ctx("storing a question")?;
        // Only while this daemon holds the thread: a write retried through an outage must not
        // land after another daemon took the thread over and cleared its questions.
        sqlx::query(
            "INSERT INTO pending_approvals (thread_id, approval_id, owner, method, params, \
             created_at) SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS \
             (SELECT 1 FROM thread_leases WHERE thread_id = $1 AND owner = $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&a.thread_id)
        .bind(a.approval_id)
        .bind(&a.owner)
        .bind(&a.method)
        .bind(&a.params)
        .bind(crate::clock::unix_now())
        .execute(&mut *tx)
        .await
        .ctx("storing a question")?;
        notify(&mut tx, &format!("p {}", a.thread_id)).await?;
        tx.commit().await.ctx("storing a question")?;
        Ok(())
    }

    /// Marks a question resolved, keeping the row a while so every daemon can tell the
    /// clients it asked. Inserts it when the resolution overtook the question's own write.
    pub async fn resolve_approval(
        &self,
        a: &PendingApproval,
        decision: &str,
        by: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.ctx("resolving a question")?;
        sqlx::query(
            "INSERT INTO pending_approvals (thread_id, approval_id, owner, method, params, \
             created_at, decision, resolved_by, resolved_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $6) ON CONFLICT (thread_id, approval_id) \
             DO UPDATE SET decision = $7, resolved_by = $8, resolved_at = $6",
        )
        .bind(&a.thread_id)
        .bind(a.approval_id)
        .bind(&a.owner)
        .bind(&a.method)
        .bind(&a.params)
        .bind(crate::clock::unix_now())
        .bind(decision)
        .bind(by)
        .execute(&mut *tx)
        .await
        .ctx("resolving a question")?;
        notify(&mut tx, &format!("p {}", a.thread_id)).await?;
        tx.commit().await.ctx("resolving a question")?;
        Ok(())
    }

    /// A thread's questions, open and recently resolved, oldest first.
    pub async fn approvals_of(&self, thread_id: &str) -> Result<Vec<PendingApproval>, StoreError> {
        // The newest rows only, and no params larger than a question could be: the table is
        // outside input to the daemon reading it (`QUESTIONS_READ`, `QUESTION_BYTES`).
        let rows: Vec<ApprovalColumns> = sqlx::query_as(
            "SELECT approval_id, owner, method, \
               CASE WHEN octet_length(params) <= $3 THEN params ELSE 'null' END, \
               decision, resolved_by FROM ( \
                 SELECT * FROM pending_approvals WHERE thread_id = $1 \
                 ORDER BY approval_id DESC LIMIT $2) newest \
             ORDER BY approval_id",
        )
        .bind(thread_id)
        .bind(QUESTIONS_READ as i64)
        .bind(QUESTION_BYTES)
        .fetch_all(&self.pool)
        .await
        .ctx("reading pending questions")?;
        Ok(rows
            .into_iter()
            .map(
                |(approval_id, owner, method, params, decision, by)| PendingApproval {
                    thread_id: thread_id.to_owned(),
                    approval_id,
                    owner,
                    method,
                    params,
                    resolution: decision.zip(by),
                },
            )
            .collect())
    }

    /// Forgets questions of a thread asked by an earlier holder (taken over: its turn ended).
    pub async fn clear_approvals(&self, thread_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM pending_approvals WHERE thread_id = $1 AND owner <> $2")
            .bind(thread_id)
            .bind(&self.node.id)
            .execute(&self.pool)
            .await
            .ctx("clearing pending questions")?;
        Ok(())
    }
}
