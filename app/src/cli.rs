//! Command-line interface.

use clap::{Parser, Subcommand};
use videomeet_media::list_devices;

/// Video meetings on your local network: no accounts, no servers, no browser.
#[derive(Debug, Parser)]
#[command(name = "videomeet", version, about)]
pub struct Args {
    /// Log more (also settable with VIDEOMEET_LOG, e.g. VIDEOMEET_LOG=debug).
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// Without a command, the window opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do instead of opening the window.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List cameras, microphones and speakers, with the ids the other commands take.
    Devices,
}

/// Prints every device and synthetic source with its id.
pub fn print_devices() {
    let list = list_devices();
    println!("Cameras:");
    for camera in &list.cameras {
        println!("  {:<32} {}", camera.id(), camera.label());
    }
    println!("Microphones:");
    for microphone in &list.microphones {
        println!("  {:<32} {}", microphone.id(), microphone.label());
    }
    println!("Speakers:");
    for speaker in &list.speakers {
        println!("  {:<32} {}", speaker.id(), speaker.label());
    }
    for note in &list.notes {
        println!("Note: {note}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Args::command().debug_assert();
        assert!(Args::try_parse_from(["videomeet", "devices"]).is_ok());
        assert!(Args::try_parse_from(["videomeet", "fly"]).is_err());
    }
}
