//! Video Meet: video meetings on your local network, with no accounts and no servers.
// No console window opens with the program on Windows (see `windows_console`).
#![cfg_attr(windows, windows_subsystem = "windows")]

mod bench;
mod cli;
mod folders;
mod headless;
mod history;
mod hosting;
mod icon;
mod keep_awake;
mod logfile;
mod single_instance;
mod stop;
mod tray;
mod ui;
mod update;
#[cfg(windows)]
mod windows_console;

use clap::Parser;

/// When the program started, for the start-up time the window reports.
static STARTED: std::sync::LazyLock<std::time::Instant> = std::sync::LazyLock::new(std::time::Instant::now);

fn main() -> anyhow::Result<()> {
    std::sync::LazyLock::force(&STARTED);
    #[cfg(windows)]
    windows_console::attach_to_parent();
    let args = cli::Args::parse();
    let last_crash = init_logging(args.verbose);
    match args.command {
        None => {
            let target = args.link.as_deref().map(cli::meeting_link).transpose()?;
            let handovers = match single_instance::claim(args.link.as_deref()) {
                single_instance::Launch::First(handovers) => handovers,
                single_instance::Launch::HandedOver => {
                    eprintln!("Video Meet is already open: its window has come to the front.");
                    return Ok(());
                }
            };
            let opening = match target {
                // A clicked link: its meeting's setup screen, with the user's own settings.
                Some(target) => ui::Opening::Link(target),
                None => ui::Opening::Home,
            };
            ui::run(opening, Some(handovers), *STARTED, last_crash)
        }
        Some(cli::Command::Devices) => {
            cli::print_devices();
            Ok(())
        }
        Some(cli::Command::List { wait }) => cli::print_meetings(wait),
        Some(cli::Command::Bench(args)) => bench::run(&args),
        Some(cli::Command::Host {
            headless,
            title,
            passcode,
            port,
            no_announce,
            allowed_origins,
            ask_to_join,
            mesh,
            all_voices,
            max_file_mb,
            no_guest_recording,
            media,
        }) => {
            let mut host = hosting::host_config(&title, &media.name);
            host.passcode = passcode;
            host.port = port;
            host.allowed_origins = allowed_origins;
            host.ask_to_join = ask_to_join;
            host.forwarding = !mesh;
            if all_voices {
                host.loudest_sounds = None;
            }
            host.max_file_bytes = max_file_mb.saturating_mul(1_048_576);
            host.no_guest_recording = no_guest_recording;
            let config = media.meeting_config(!no_announce)?;
            let role = videomeet_net::meeting::Role::Host(host);
            if headless {
                run_headless(role, config, &media)
            } else {
                ui::run(
                    ui::Opening::Meeting(Box::new(ui::Start { role, config, title })),
                    None,
                    *STARTED,
                    last_crash,
                )
            }
        }
        Some(cli::Command::Join {
            headless,
            address,
            passcode,
            media,
        }) => {
            let target = videomeet_net::JoinTarget::parse(&address)?;
            let config = media.meeting_config(false)?;
            let title = target.authority();
            let role = videomeet_net::meeting::Role::Join { target, passcode };
            if headless {
                run_headless(role, config, &media)
            } else {
                ui::run(
                    ui::Opening::Meeting(Box::new(ui::Start { role, config, title })),
                    None,
                    *STARTED,
                    last_crash,
                )
            }
        }
    }
}

/// Runs a meeting without a window, as `media` says.
fn run_headless(
    role: videomeet_net::meeting::Role,
    config: videomeet_net::meeting::MeetingConfig,
    media: &cli::MediaArgs,
) -> anyhow::Result<()> {
    headless::run(
        role,
        config,
        media.duration()?,
        media.first_commands()?,
        media.view,
        media.history,
    )
}

/// Logs to stderr and to the rotating log file; a panic leaves a crash report, and one left
/// by an earlier run is pointed out.
/// Logs to stderr and the log file; returns the crash report of the last run, if there is
/// one not pointed out before.
fn init_logging(verbose: bool) -> Option<std::path::PathBuf> {
    use tracing_subscriber::prelude::*;
    let default = if verbose {
        "debug"
    } else {
        "info,wgpu=warn,naga=warn,eframe=warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("VIDEOMEET_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let folder = folders::data_dir().map(|data| data.join("logs"));
    let file = folder
        .as_deref()
        .and_then(|folder| match logfile::RotatingLog::open(folder) {
            Ok(log) => Some(log),
            Err(error) => {
                eprintln!("could not open the log file in {}: {error}", folder.display());
                None
            }
        });
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(file.map(|log| tracing_subscriber::fmt::layer().with_ansi(false).with_writer(log)))
        .init();
    let folder = folder?;
    let report = logfile::unreported_crash(&folder);
    if let Some(report) = &report {
        tracing::warn!("Video Meet crashed last time; the report is in {}", report.display());
    }
    logfile::install_crash_reports(folder);
    report
}
