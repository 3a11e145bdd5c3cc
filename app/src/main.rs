//! Video Meet: video meetings on your local network, with no accounts and no servers.

mod cli;
mod headless;
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
        Some(cli::Command::List { wait }) => cli::print_meetings(wait),
        Some(cli::Command::Host {
            headless,
            title,
            passcode,
            port,
            no_announce,
            media,
        }) => {
            require_headless(headless)?;
            let mut host = videomeet_net::signaling::HostConfig::new(&title, &media.name);
            host.passcode = passcode;
            host.port = port;
            let config = media.meeting_config(!no_announce)?;
            headless::run(
                videomeet_net::meeting::Role::Host(host),
                config,
                media.duration()?,
                media.chat.clone(),
            )
        }
        Some(cli::Command::Join {
            headless,
            address,
            passcode,
            media,
        }) => {
            require_headless(headless)?;
            let target = videomeet_net::JoinTarget::parse(&address)?;
            let config = media.meeting_config(false)?;
            headless::run(
                videomeet_net::meeting::Role::Join { target, passcode },
                config,
                media.duration()?,
                media.chat.clone(),
            )
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

/// Hosting and joining from the command line run without a window for now: the window's
/// meeting screen opens from its home screen.
fn require_headless(headless: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        headless,
        "from the command line, meetings run with --headless (events as JSON lines); start `videomeet` without arguments for the window"
    );
    Ok(())
}
