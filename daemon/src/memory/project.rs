//! A thread's project: the git repository its cwd is in, else the cwd. Memory is scoped to
//! it, so one project's history never reaches another project's turns.

use std::path::Path;

pub fn project_of(cwd: &Path) -> String {
    crate::paths::repo_root(cwd).display().to_string()
}

/// A file-name-safe form of a project path, for the exported summaries.
pub fn file_stem(project: &str) -> String {
    let mut stem: String = project
        .trim_matches('/')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() {
        stem.push_str("root");
    }
    stem.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_root_is_the_project() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("repo/src/deep");
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::create_dir_all(dir.path().join("repo/.git")).unwrap();
        assert_eq!(
            project_of(&sub),
            dir.path().join("repo").display().to_string()
        );
        let plain = dir.path().join("plain");
        std::fs::create_dir_all(&plain).unwrap();
        assert_eq!(project_of(&plain), plain.display().to_string());
    }

    #[test]
    fn stems_are_file_names() {
        assert_eq!(file_stem("/home/me/my project"), "home_me_my_project");
        assert_eq!(file_stem("/"), "root");
    }
}
