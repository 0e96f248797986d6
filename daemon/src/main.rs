//! The `agentd` binary: parse arguments, set up logging, hand over to the library.

use clap::Parser;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = agentd::cli::Cli::parse();
    match agentd::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("agentd: {}", agentd::cli::describe_error(&e));
            std::process::ExitCode::FAILURE
        }
    }
}
