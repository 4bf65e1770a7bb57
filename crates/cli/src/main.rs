//! The `crossauthz` binary: a thin clap front over the service libraries.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};

/// Cross-domain authorization for AI agents and MCP servers.
#[derive(Debug, Parser)]
#[command(name = "crossauthz", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the version and the gRPC contracts this build speaks.
    Version,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Version) | None => {
            println!("crossauthz {}", env!("CARGO_PKG_VERSION"));
            println!("contracts: {}", crossauthz_proto::PACKAGES.join(", "));
            if cli.command.is_none() {
                println!();
                // Printing help only fails if stdout is closed; nothing to report then.
                let _ = <Cli as clap::CommandFactory>::command().print_help();
            }
            std::process::ExitCode::SUCCESS
        }
    }
}
