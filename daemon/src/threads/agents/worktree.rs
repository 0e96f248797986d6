//! A sub-agent's own git worktree: a new branch from the parent's HEAD, under the data
//! directory; reported to the parent (changes, untracked files, commits ahead) and removed on
//! close when there is nothing to review. agentd never commits for a child.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::agent::subagents::WorktreeReport;
use crate::port::WorktreeMeta;

/// A git command that takes longer than this has failed.
const GIT_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes of git output kept (a diff stat of a huge change is cut).
const OUTPUT_CAP: usize = 64 * 1024;

/// Bytes of git's stderr kept for an error message.
const STDERR_CAP: u64 = 4096;

/// Runs git in `dir`; its output, cut at [`OUTPUT_CAP`]. The output is read only that far: a
/// child's worktree can hold millions of untracked files, and `git status` then prints hundreds
/// of megabytes nobody reads.
async fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let (ok, stdout, stderr) = tokio::time::timeout(GIT_TIMEOUT, read_capped(&mut child))
        .await
        .map_err(|_| format!("git {} took longer than {GIT_TIMEOUT:?}", args.join(" ")))?
        .map_err(|e| format!("cannot read git's output: {e}"))?;
    if !ok {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&stderr).trim()
        ));
    }
    let mut text = String::from_utf8_lossy(&stdout).into_owned();
    if text.len() > OUTPUT_CAP {
        text.truncate(text.floor_char_boundary(OUTPUT_CAP));
        text.push_str("\n…");
    }
    Ok(text)
}

/// Reads `child`'s stdout up to one byte past [`OUTPUT_CAP`] (then stops it: the rest is not
/// wanted) and its stderr up to [`STDERR_CAP`]: whether it succeeded, and both.
async fn read_capped(
    child: &mut tokio::process::Child,
) -> std::io::Result<(bool, Vec<u8>, Vec<u8>)> {
    use tokio::io::AsyncReadExt;
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let out = child.stdout.take();
    let err = child.stderr.take();
    let read_out = async {
        match out {
            Some(o) => o.take(OUTPUT_CAP as u64 + 1).read_to_end(&mut stdout).await,
            None => Ok(0),
        }
    };
    // All of stderr is read (a pipe nobody reads would stop git), the first part kept.
    let read_err = async {
        let Some(mut e) = err else { return Ok(0) };
        (&mut e).take(STDERR_CAP).read_to_end(&mut stderr).await?;
        tokio::io::copy(&mut e, &mut tokio::io::sink()).await
    };
    let (o, e) = tokio::join!(read_out, read_err);
    o?;
    e?;
    if stdout.len() > OUTPUT_CAP {
        child.start_kill()?;
        return Ok((true, stdout, stderr));
    }
    let status = child.wait().await?;
    Ok((status.success(), stdout, stderr))
}

/// Creates the worktree for a child working from `cwd`; returns its metadata and the child's
/// working directory inside it (the same place relative to the repository root).
pub async fn create(
    cwd: &Path,
    root: &Path,
    name: &str,
    branch: &str,
) -> Result<(WorktreeMeta, PathBuf), String> {
    let repo = git(cwd, &["rev-parse", "--show-toplevel"])
        .await
        .map_err(|_| {
            "isolation \"worktree\" needs the working directory to be in a git repository"
                .to_owned()
        })?;
    let repo = PathBuf::from(repo.trim());
    let base = git(&repo, &["rev-parse", "HEAD"])
        .await
        .map_err(|e| format!("the repository has no commit to branch from: {e}"))?
        .trim()
        .to_owned();
    std::fs::create_dir_all(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let path = root.join(name);
    let path_text = path.display().to_string();
    git(&repo, &["worktree", "add", "-b", branch, &path_text, &base]).await?;
    let inside = cwd.strip_prefix(&repo).unwrap_or(Path::new(""));
    let meta = WorktreeMeta {
        path: path_text,
        branch: branch.to_owned(),
        repo: repo.display().to_string(),
        base,
        host: Some(crate::paths::host_name()),
    };
    Ok((meta, path.join(inside)))
}

/// What the child has done in its worktree.
pub async fn report(meta: &WorktreeMeta) -> Result<WorktreeReport, String> {
    let path = Path::new(&meta.path);
    let status = git(path, &["status", "--porcelain", "--untracked-files=all"]).await?;
    let changed_files: Vec<String> = status
        .lines()
        .filter_map(|l| l.get(3..).map(str::to_owned))
        .collect();
    // Untracked files count in the stat too: intent-to-add them would change the index, so
    // they are listed in `changed_files` and the stat covers tracked changes.
    let diff_stat = git(path, &["diff", "--stat", "HEAD"])
        .await?
        .trim()
        .to_owned();
    let range = format!("{}..HEAD", meta.base);
    let ahead = git(path, &["rev-list", "--count", &range]).await?;
    Ok(WorktreeReport {
        path: meta.path.clone(),
        branch: meta.branch.clone(),
        changed_files,
        diff_stat,
        commits_ahead: ahead.trim().parse().unwrap_or(0),
        removed: false,
    })
}

/// On close: a worktree with nothing to review is removed with its branch; one with changes or
/// commits is kept (and said so).
pub async fn close(meta: &WorktreeMeta) -> Result<WorktreeReport, String> {
    let mut report = report(meta).await?;
    if report.changed_files.is_empty() && report.commits_ahead == 0 {
        let repo = Path::new(&meta.repo);
        git(repo, &["worktree", "remove", "--force", &meta.path]).await?;
        git(repo, &["branch", "-D", &meta.branch]).await?;
        report.removed = true;
    }
    Ok(report)
}

/// Undoes a worktree that was made for a child that could not be created.
pub async fn discard(meta: &WorktreeMeta) {
    let repo = Path::new(&meta.repo);
    let _ = git(repo, &["worktree", "remove", "--force", &meta.path]).await;
    let _ = git(repo, &["branch", "-D", &meta.branch]).await;
    let _ = git(repo, &["worktree", "prune"]).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A command printing far more than is kept (here `git log` of a 300 KB commit message)
    /// gives the first 64 KiB, cut, and is not read further.
    #[tokio::test]
    async fn long_git_output_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        git(repo, &["init", "-q"]).await.unwrap();
        let message = repo.join("message");
        std::fs::write(&message, "m".repeat(300_000)).unwrap();
        let file = message.display().to_string();
        let commit = [
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--allow-empty",
            "-F",
            &file,
        ];
        git(repo, &commit).await.unwrap();
        let log = git(repo, &["log"]).await.unwrap();
        assert!(log.len() <= OUTPUT_CAP + 8, "{} bytes", log.len());
        assert!(log.ends_with('…'));
    }
}
