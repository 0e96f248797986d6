//! `agentd-tui`: a terminal thin client for agentd. It only speaks the protocol — every piece of
//! state on screen comes from the daemon's results and notifications.

use std::process::ExitCode;

use agentd_tui::{app, cli, run};

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = async {
        let endpoint = cli.endpoint()?;
        let mut app = app::App::new(endpoint.describe(), cli.cwd()?);
        app.open_on_connect = cli.thread.clone();
        run::run(endpoint, app).await
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("agentd-tui: {e:#}");
            ExitCode::FAILURE
        }
    }
}
