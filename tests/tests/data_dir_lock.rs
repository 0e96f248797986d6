//! One daemon per data directory, and a database that is not agentd's is refused, never
//! overwritten (ARCHITECTURE.md, "one writer").

use agentd_tests::{Agentd, Options};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_daemon_on_the_same_data_dir_is_refused() {
    let first = Agentd::start(Options::default()).await.unwrap();
    let mut c = first.client("c").await.unwrap();
    let id = c.start_thread(json!({})).await.unwrap();

    let (status, stderr) = Agentd::start_failing(Options::default().data_dir(&first.data_dir))
        .await
        .unwrap();
    assert!(!status.success(), "second daemon exited with {status}");
    assert!(
        stderr.contains("already using the data directory"),
        "unclear message: {stderr}"
    );
    assert!(
        stderr.contains(&first.data_dir.display().to_string()),
        "the message does not name the directory: {stderr}"
    );

    // The first one is untouched and still serving.
    let r = c.call("thread/list", json!({})).await.unwrap();
    assert_eq!(r["data"][0]["id"], id);
    let mut fresh = first.client("fresh").await.unwrap();
    fresh
        .call("thread/read", json!({"threadId": id}))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_is_released_when_the_daemon_stops_cleanly_or_not() {
    let first = Agentd::start(Options::default()).await.unwrap();
    first.client("c").await.unwrap();
    let (status, dir, _keep) = first.terminate().await.unwrap();
    assert!(status.success(), "{status}");
    let second = Agentd::start(Options::default().data_dir(&dir))
        .await
        .unwrap();
    // SIGKILL leaves no chance to clean up; the kernel still drops the lock.
    let (dir2, _keep2) = second.kill().await.unwrap();
    assert_eq!(dir2, dir);
    let third = Agentd::start(Options::default().data_dir(&dir))
        .await
        .unwrap();
    let mut c = third.client("c").await.unwrap();
    c.call("thread/list", json!({})).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_database_is_refused_and_left_byte_identical() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let db = data.join("agentd.db");
    let junk: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&db, &junk).unwrap();

    let (status, stderr) = Agentd::start_failing(Options::default().data_dir(&data))
        .await
        .unwrap();
    assert!(!status.success(), "agentd exited with {status}");
    assert!(stderr.contains("corrupt"), "unclear message: {stderr}");
    assert!(
        stderr.contains(&db.display().to_string()),
        "the message does not name the file: {stderr}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), junk, "the file was modified");
}
