//! The async runtime a daemon process runs on, and how blocking work steps off it.
//!
//! One worker thread by default. A streamed delta crosses four tasks (the model connection,
//! the turn, the thread's actor, the client connection's writer); on a multi-threaded runtime
//! tokio hands every second one to another worker, and each such hop is a thread wake-up —
//! that, not the work, was most of what agentd added to a delta's latency
//! (`docs/decisions/019-inline-sqlite-commits.md`). What runs long goes through [`blocking`]
//! (or `spawn_blocking`) so the one worker keeps serving every other thread; SQLite reads run
//! on sqlx's own threads. `AGENTD_WORKER_THREADS` (or `serve --worker-threads`) sets more
//! workers for a daemon whose clients outgrow one core; `0` means one per core.

use std::time::Duration;

/// The variable that sets the worker threads of every agentd runtime.
pub const WORKER_THREADS_ENV: &str = "AGENTD_WORKER_THREADS";

/// A runtime with `workers` worker threads (`None`: [`WORKER_THREADS_ENV`], else 1; `0`: one
/// per core).
pub fn build(workers: Option<usize>) -> anyhow::Result<tokio::runtime::Runtime> {
    let workers = match workers {
        Some(n) => n,
        None => from_env()?,
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if workers > 0 {
        builder.worker_threads(workers);
    }
    builder.build().map_err(anyhow::Error::from)
}

/// [`WORKER_THREADS_ENV`] as a count; 1 when unset.
fn from_env() -> anyhow::Result<usize> {
    match std::env::var(WORKER_THREADS_ENV) {
        Err(_) => Ok(1),
        Ok(text) => parse_workers(&text),
    }
}

/// A worker count as written by a person: a whole number up to 1024.
pub fn parse_workers(text: &str) -> anyhow::Result<usize> {
    match text.trim().parse::<usize>() {
        Ok(n) if n <= 1024 => Ok(n),
        _ => anyhow::bail!(
            "{WORKER_THREADS_ENV} must be a number of worker threads from 0 (one per core) to \
             1024, not {text:?}"
        ),
    }
}

/// Runs `f`, which may take a while (a large commit, a patch over big files), without holding
/// up the other tasks of its worker thread: on a multi-threaded runtime the worker's other
/// tasks move to another thread meanwhile (`block_in_place`); elsewhere (a test's
/// single-threaded runtime, no runtime) `f` just runs.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

/// Stops `runtime` without waiting for a blocking stdin read that may never end.
pub fn shut_down(runtime: tokio::runtime::Runtime) {
    runtime.shutdown_timeout(Duration::from_millis(200));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_counts_are_numbers_within_reason() {
        assert_eq!(parse_workers("1").unwrap(), 1);
        assert_eq!(parse_workers(" 0 ").unwrap(), 0);
        assert_eq!(parse_workers("16").unwrap(), 16);
        for bad in ["", "-1", "two", "1025", "99999999999999999999999"] {
            let err = parse_workers(bad).unwrap_err().to_string();
            assert!(err.contains(WORKER_THREADS_ENV), "{bad:?}: {err}");
        }
    }

    /// A blocking call inside a one-worker runtime does not stop another task of that
    /// runtime: the worker's tasks move on while it runs.
    #[test]
    fn a_blocking_call_leaves_the_only_worker_to_the_others() {
        let runtime = build(Some(1)).unwrap();
        runtime.block_on(async {
            let (tx, rx) = std::sync::mpsc::channel();
            let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
            // Runs only once the blocking call below has begun.
            let other = tokio::spawn(async move {
                let _ = started_rx.await;
                let _ = tx.send(());
            });
            tokio::spawn(async move {
                let _ = started_tx.send(());
                blocking(|| rx.recv_timeout(Duration::from_secs(5)))
            })
            .await
            .unwrap()
            .expect("the other task never ran while this one blocked");
            other.await.unwrap();
        });
        shut_down(runtime);
    }
}
