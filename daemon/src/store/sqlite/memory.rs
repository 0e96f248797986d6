//! The memory pipeline's rows: per-thread jobs with an owner and a lease (a job whose daemon
//! died is taken over once its lease runs out), the memories they extract, and each project's
//! consolidated summary, leased the same way so several daemons never merge it twice at once.

use super::threads::THREAD_COLUMNS;
use sqlx::sqlite::SqliteRow;
use sqlx::Row;

use super::{CandidateQuery, MemoryCandidate, MemoryRow, SummaryRow};
use super::{SqlContext, SqliteStore, StoreError};

impl SqliteStore {
    /// Threads with a completed turn, not ephemeral, not a sub-agent, changed since their last
    /// extraction, idle long enough, whose job is free (no owner, or a lapsed lease) and not out
    /// of attempts on this content.
    pub async fn memory_candidates(
        &self,
        q: &CandidateQuery,
    ) -> Result<Vec<MemoryCandidate>, StoreError> {
        let idle_before = q
            .now
            .saturating_sub(q.min_idle_secs.min(i64::MAX as u64) as i64);
        // `t`: each thread with its progress as read (`threads.rs`).
        let sql = format!(
            // Materialised: each thread's two log seeks run once, not per reference below.
            "WITH t AS MATERIALIZED (SELECT {THREAD_COLUMNS} FROM threads) \
             SELECT t.id, t.cwd, t.last_seq FROM t \
             LEFT JOIN memory_jobs j ON j.thread_id = t.id \
             WHERE t.ephemeral = 0 AND t.parent_id IS NULL AND t.updated_at <= ?1 \
             AND EXISTS (SELECT 1 FROM turns u WHERE u.thread_id = t.id \
                         AND u.status = 'completed' AND u.rolled_back = 0) \
             AND NOT EXISTS (SELECT 1 FROM turns u WHERE u.thread_id = t.id \
                             AND u.status = 'inProgress') \
             AND (j.thread_id IS NULL OR ( \
                  j.extracted_seq < t.last_seq \
                  AND (j.owner IS NULL OR j.lease_until < ?2) \
                  AND (j.failed_seq < t.last_seq OR j.attempts < ?3))) \
             ORDER BY t.updated_at DESC LIMIT ?4"
        );
        let rows = sqlx::query(&sql)
            .bind(idle_before)
            .bind(q.now)
            .bind(i64::from(q.max_retries))
            .bind(i64::from(q.limit))
            .fetch_all(&self.reader)
            .await
            .ctx("finding threads to remember")?;
        rows.iter()
            .map(|r| {
                Ok(MemoryCandidate {
                    thread_id: r.try_get(0).ctx("decoding a memory candidate")?,
                    cwd: r.try_get(1).ctx("decoding a memory candidate")?,
                    last_seq: r.try_get::<i64, _>(2).ctx("decoding a memory candidate")? as u64,
                })
            })
            .collect()
    }

    /// Takes the thread's job for `owner` until `lease_until`; `false` when another owner
    /// holds a live lease. Attempts count from 1 again when the thread changed since the last
    /// failure.
    pub async fn claim_memory_job(
        &self,
        c: &MemoryCandidate,
        project: &str,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO memory_jobs (thread_id, project, owner, lease_until, attempts, updated_at) \
             VALUES (?1, ?2, ?3, ?4, 1, ?5) \
             ON CONFLICT (thread_id) DO UPDATE SET project = ?2, owner = ?3, lease_until = ?4, \
               attempts = CASE WHEN failed_seq < ?6 THEN 1 ELSE attempts + 1 END, updated_at = ?5 \
             WHERE memory_jobs.owner IS NULL OR memory_jobs.lease_until < ?5",
        )
        .bind(&c.thread_id)
        .bind(project)
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .bind(c.last_seq as i64)
        .execute(&mut *self.writer.sqlx().await?)
        .await
        .ctx("claiming a memory job")?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores what a job extracted and frees it; `false` if the job was no longer ours (its
    /// lease lapsed and another daemon took it).
    pub async fn finish_memory_job(
        &self,
        owner: &str,
        seq: u64,
        memory: &MemoryRow,
    ) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin("beginning a memory save").await?;
        let ours = sqlx::query(
            "UPDATE memory_jobs SET owner = NULL, lease_until = NULL, attempts = 0, \
             extracted_seq = ?1, last_error = NULL, updated_at = ?2 \
             WHERE thread_id = ?3 AND owner = ?4",
        )
        .bind(seq as i64)
        .bind(memory.updated_at)
        .bind(&memory.thread_id)
        .bind(owner)
        .execute(&mut *tx)
        .await
        .ctx("finishing a memory job")?
        .rows_affected()
            == 1;
        if ours {
            sqlx::query(
                "INSERT INTO memories (thread_id, project, raw_memory, summary, slug, created_at, \
                 updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) \
                 ON CONFLICT (thread_id) DO UPDATE SET project = ?2, raw_memory = ?3, \
                 summary = ?4, slug = ?5, updated_at = ?6",
            )
            .bind(&memory.thread_id)
            .bind(&memory.project)
            .bind(&memory.raw_memory)
            .bind(&memory.summary)
            .bind(&memory.slug)
            .bind(memory.updated_at)
            .execute(&mut *tx)
            .await
            .ctx("saving a memory")?;
        }
        tx.commit().await.ctx("committing a memory")?;
        Ok(ours)
    }

    /// Frees a job that failed, recording why (shown by `memory/read`).
    pub async fn fail_memory_job(
        &self,
        thread_id: &str,
        owner: &str,
        seq: u64,
        error: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE memory_jobs SET owner = NULL, lease_until = NULL, failed_seq = ?1, \
             last_error = ?2, updated_at = ?3 WHERE thread_id = ?4 AND owner = ?5",
        )
        .bind(seq as i64)
        .bind(error)
        .bind(now)
        .bind(thread_id)
        .bind(owner)
        .execute(&mut *self.writer.sqlx().await?)
        .await
        .ctx("recording a failed memory job")?;
        Ok(())
    }

    /// A project's memories, newest first (every project's when `None`).
    pub async fn memories(&self, project: Option<&str>) -> Result<Vec<MemoryRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT thread_id, project, raw_memory, summary, slug, created_at, updated_at \
             FROM memories WHERE ?1 IS NULL OR project = ?1 ORDER BY updated_at DESC, thread_id",
        )
        .bind(project)
        .fetch_all(&self.reader)
        .await
        .ctx("reading memories")?;
        rows.iter().map(memory_from_row).collect()
    }

    /// Forgets memories not refreshed since `before`.
    pub async fn age_out_memories(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM memories WHERE updated_at < ?")
            .bind(before)
            .execute(&mut *self.writer.sqlx().await?)
            .await
            .ctx("ageing out memories")?;
        Ok(done.rows_affected())
    }

    pub async fn memory_summary(&self, project: &str) -> Result<Option<SummaryRow>, StoreError> {
        let row = sqlx::query(
            "SELECT project, summary, merged_until, last_error, updated_at \
             FROM memory_summaries WHERE project = ?",
        )
        .bind(project)
        .fetch_optional(&self.reader)
        .await
        .ctx("reading a memory summary")?;
        row.as_ref().map(summary_from_row).transpose()
    }

    pub async fn memory_summaries(&self) -> Result<Vec<SummaryRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT project, summary, merged_until, last_error, updated_at \
             FROM memory_summaries ORDER BY project",
        )
        .fetch_all(&self.reader)
        .await
        .ctx("reading memory summaries")?;
        rows.iter().map(summary_from_row).collect()
    }

    /// Projects with memories newer than what their summary merged.
    pub async fn projects_to_consolidate(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT m.project FROM memories m \
             LEFT JOIN memory_summaries s ON s.project = m.project \
             WHERE s.project IS NULL OR m.updated_at > s.merged_until ORDER BY m.project",
        )
        .fetch_all(&self.reader)
        .await
        .ctx("finding projects to consolidate")?;
        rows.iter()
            .map(|r| r.try_get(0).ctx("decoding a project"))
            .collect()
    }

    /// Takes a project's consolidation for `owner`; `false` when another daemon holds it.
    pub async fn claim_summary(
        &self,
        project: &str,
        owner: &str,
        now: i64,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO memory_summaries (project, owner, lease_until, updated_at) \
             VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (project) DO UPDATE SET owner = ?2, lease_until = ?3 \
             WHERE memory_summaries.owner IS NULL OR memory_summaries.lease_until < ?4",
        )
        .bind(project)
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .execute(&mut *self.writer.sqlx().await?)
        .await
        .ctx("claiming a consolidation")?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends a consolidation: the new summary (or the error, keeping the old summary).
    pub async fn finish_summary(
        &self,
        project: &str,
        owner: &str,
        outcome: Result<(&str, i64), &str>,
        now: i64,
    ) -> Result<(), StoreError> {
        let q = match outcome {
            Ok((summary, merged_until)) => sqlx::query(
                "UPDATE memory_summaries SET summary = ?1, merged_until = ?2, last_error = NULL, \
                 owner = NULL, lease_until = NULL, updated_at = ?3 WHERE project = ?4 AND owner = ?5",
            )
            .bind(summary)
            .bind(merged_until)
            .bind(now),
            Err(error) => sqlx::query(
                "UPDATE memory_summaries SET last_error = ?1, owner = NULL, lease_until = NULL \
                 WHERE project = ?2 AND owner = ?3",
            )
            .bind(error),
        };
        q.bind(project)
            .bind(owner)
            .execute(&mut *self.writer.sqlx().await?)
            .await
            .ctx("saving a memory summary")?;
        Ok(())
    }

    /// The last errors of extraction jobs (newest first), for `memory/read`.
    pub async fn memory_job_errors(
        &self,
        project: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT thread_id, last_error FROM memory_jobs WHERE last_error IS NOT NULL \
             AND (?1 IS NULL OR project = ?1) ORDER BY updated_at DESC LIMIT 20",
        )
        .bind(project)
        .fetch_all(&self.reader)
        .await
        .ctx("reading memory job errors")?;
        rows.iter()
            .map(|r| {
                let thread: String = r.try_get(0).ctx("decoding a memory job")?;
                let error: String = r.try_get(1).ctx("decoding a memory job")?;
                Ok(format!("thread {thread}: {error}"))
            })
            .collect()
    }

    /// Forgets a project's memories, jobs and summary (every project's when `None`).
    pub async fn reset_memory(&self, project: Option<&str>) -> Result<(), StoreError> {
        let mut tx = self.writer.begin("beginning a memory reset").await?;
        for table in ["memories", "memory_jobs", "memory_summaries"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE ?1 IS NULL OR project = ?1"
            ))
            .bind(project)
            .execute(&mut *tx)
            .await
            .ctx("resetting memory")?;
        }
        tx.commit().await.ctx("committing a memory reset")
    }
}

fn memory_from_row(r: &SqliteRow) -> Result<MemoryRow, StoreError> {
    const CTX: &str = "decoding a memory";
    Ok(MemoryRow {
        thread_id: r.try_get(0).ctx(CTX)?,
        project: r.try_get(1).ctx(CTX)?,
        raw_memory: r.try_get(2).ctx(CTX)?,
        summary: r.try_get(3).ctx(CTX)?,
        slug: r.try_get(4).ctx(CTX)?,
        created_at: r.try_get(5).ctx(CTX)?,
        updated_at: r.try_get(6).ctx(CTX)?,
    })
}

fn summary_from_row(r: &SqliteRow) -> Result<SummaryRow, StoreError> {
    const CTX: &str = "decoding a memory summary";
    Ok(SummaryRow {
        project: r.try_get(0).ctx(CTX)?,
        summary: r.try_get(1).ctx(CTX)?,
        merged_until: r.try_get(2).ctx(CTX)?,
        last_error: r.try_get(3).ctx(CTX)?,
        updated_at: r.try_get(4).ctx(CTX)?,
    })
}
