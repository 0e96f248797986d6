//! `agentd token create|list|revoke`: manage `tokens.toml` beside the config file in use.
//!
//! Takes the same `--config` and `--data-dir` as `serve`, so that the file it edits is the one a
//! daemon started with the same flags reads. A running daemon notices the change by itself:
//! new tokens work at once, and revoking one closes its live connections.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::tokens::TokenFile;
use super::Scope;

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
    /// The config file whose directory holds `tokens.toml` (default:
    /// `$XDG_CONFIG_HOME/agentd/`).
    #[arg(
        long = "config-file",
        alias = "config",
        value_name = "PATH",
        global = true
    )]
    pub config: Option<PathBuf>,
    /// Where the database lives; only used as the config directory when neither
    /// `$XDG_CONFIG_HOME` nor `$HOME` is set, as `serve` does.
    #[arg(long, env = "AGENTD_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum TokenCommand {
    /// Make a token, print it once on stdout, store only its hash.
    Create {
        /// What the token allows: observe (read, list, subscribe), control (also turns and
        /// approvals) or admin (everything).
        #[arg(long)]
        scope: Scope,
        /// A name to list and revoke it by.
        #[arg(long)]
        name: String,
    },
    /// List the tokens: name, scope, creation time (never the tokens).
    List,
    /// Remove a token; a running daemon closes its connections.
    Revoke {
        /// The token's name.
        name: String,
    },
    /// Print where a WebSocket daemon writes its one-time token (for clients that read it):
    /// `$XDG_RUNTIME_DIR/agentd/token`, or `token` in the data directory when
    /// `$XDG_RUNTIME_DIR` is not set.
    Path,
}

impl clap::ValueEnum for Scope {
    fn value_variants<'a>() -> &'a [Self] {
        &[Scope::Observe, Scope::Control, Scope::Admin]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

/// The tokens file the flags point at: beside `--config`, else in the config directory.
pub fn token_file(
    config: Option<&PathBuf>,
    data_dir: Option<&PathBuf>,
) -> anyhow::Result<TokenFile> {
    let dir = match config {
        Some(path) => std::path::absolute(path)?
            .parent()
            .map(|p| p.to_path_buf())
            .unwrap_or_else(|| PathBuf::from("/")),
        None => match crate::paths::default_config_dir() {
            Ok(dir) => dir,
            Err(e) => match data_dir {
                Some(d) => d.clone(),
                None => return Err(e),
            },
        },
    };
    Ok(TokenFile::in_dir(&dir))
}

pub fn run(args: TokenArgs) -> anyhow::Result<()> {
    if let TokenCommand::Path = args.command {
        let data_dir = match &args.data_dir {
            Some(d) => d.clone(),
            None => crate::paths::default_data_dir()?,
        };
        println!(
            "{}",
            super::startup::runtime_token_path(&data_dir).display()
        );
        return Ok(());
    }
    let file = token_file(args.config.as_ref(), args.data_dir.as_ref())?;
    match args.command {
        TokenCommand::Path => {}
        TokenCommand::Create { scope, name } => {
            let token = file.create(&name, scope)?;
            eprintln!(
                "created token {name:?} ({scope}) in {}; it is shown only this once:",
                file.path().display()
            );
            println!("{token}");
        }
        TokenCommand::List => {
            let entries = file.read()?;
            if entries.is_empty() {
                eprintln!("no tokens in {}", file.path().display());
            }
            for e in entries {
                println!("{}\t{}\t{}", e.name, e.scope, e.created_at);
            }
        }
        TokenCommand::Revoke { name } => {
            file.revoke(&name)?;
            eprintln!("revoked token {name:?}");
        }
    }
    Ok(())
}
