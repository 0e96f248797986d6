//! Loading from real files in a temporary config dir, the way `agentd serve` does.

mod errors;
mod layering;
mod reporting;

use std::path::{Path, PathBuf};

use super::*;

struct Dir {
    temp: tempfile::TempDir,
}

impl Dir {
    fn new() -> Self {
        Dir {
            temp: tempfile::tempdir().unwrap(),
        }
    }

    /// A config dir holding `config.toml` with `text`.
    fn with_file(text: &str) -> Self {
        let d = Dir::new();
        std::fs::write(d.file(), text).unwrap();
        d
    }

    fn path(&self) -> &Path {
        self.temp.path()
    }

    fn file(&self) -> PathBuf {
        self.path().join("config.toml")
    }

    fn opts(&self) -> LoadOptions {
        LoadOptions {
            config_dir: self.path().to_owned(),
            ..LoadOptions::default()
        }
    }

    fn load(&self) -> Result<LoadedConfig, ConfigError> {
        Config::load(&self.opts())
    }

    fn load_with(
        &self,
        overrides: &[&str],
        profile: Option<&str>,
    ) -> Result<LoadedConfig, ConfigError> {
        Config::load(&LoadOptions {
            overrides: overrides.iter().map(|s| s.to_string()).collect(),
            profile: profile.map(str::to_owned),
            ..self.opts()
        })
    }
}

fn origin(l: &LoadedConfig, key: &str) -> String {
    l.origins
        .get(key)
        .unwrap_or_else(|| panic!("no origin for {key}: {:?}", l.origins))
        .to_string()
}
