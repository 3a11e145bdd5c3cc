//! Video Meet: video meetings on your local network, with no accounts and no servers.

mod cli;
mod ui;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let args = cli::Args::parse();
    init_logging(args.verbose);
    match args.command {
        None => ui::run(),
        Some(cli::Command::Devices) => {
            cli::print_devices();
            Ok(())
        }
    }
}

fn init_logging(verbose: bool) {
    let default = if verbose {
        "debug"
    } else {
        "info,wgpu=warn,naga=warn,eframe=warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("VIDEOMEET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
