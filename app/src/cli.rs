//! Command-line interface.

use anyhow::Context;
use clap::{Parser, Subcommand};
use videomeet_media::list_devices;
use videomeet_media::screen::{ScreenChoice, ScreenError, ScreenKind, list_screens};
use videomeet_net::meeting::Command as MeetingCommand;

/// Video meetings on your local network: no accounts, no servers, no browser.
#[derive(Debug, Parser)]
#[command(name = "videomeet", version, about, args_conflicts_with_subcommands = true)]
pub struct Args {
    /// Log more (also settable with VIDEOMEET_LOG, e.g. VIDEOMEET_LOG=debug).
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// A meeting link (videomeet://HOST:PORT/CODE) to open: the window starts on that
    /// meeting's setup screen, as when a link is clicked.
    #[arg(value_name = "LINK")]
    pub link: Option<String>,

    /// Without a command, the window opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The meeting a `videomeet://` link given alone on the command line names. Anything else
/// there is most likely a mistyped command, and is refused as one.
pub fn meeting_link(link: &str) -> anyhow::Result<videomeet_net::JoinTarget> {
    anyhow::ensure!(
        link.starts_with("videomeet://"),
        "\"{link}\" is neither a command nor a meeting link (videomeet://HOST:PORT/CODE); see videomeet --help"
    );
    videomeet_net::JoinTarget::parse(link).with_context(|| format!("\"{link}\" is not a meeting link"))
}

/// What to do instead of opening the window.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List cameras, microphones and speakers, with the ids the other commands take.
    Devices,
    /// Host a meeting: the window opens in it (with --headless: no window, events as JSON lines).
    Host {
        /// Run without a window.
        #[arg(long)]
        headless: bool,
        /// Meeting title.
        #[arg(long, default_value = "Meeting")]
        title: String,
        /// Passcode guests must give.
        #[arg(long)]
        passcode: Option<String>,
        /// Signaling port (another free one is used when it is taken).
        #[arg(long, default_value_t = videomeet_net::DEFAULT_PORT)]
        port: u16,
        /// Do not announce the meeting on the local network.
        #[arg(long)]
        no_announce: bool,
        /// Let web pages from this origin (`https://host:port`) join; may be repeated.
        /// Without it, only programs (which send no origin) are let in.
        #[arg(long = "allow-origin", value_name = "ORIGIN")]
        allowed_origins: Vec<String>,
        /// Guests wait until the host lets them in (headless: answer each `knocking` event
        /// with an `admit` or `deny` command on stdin).
        #[arg(long)]
        ask_to_join: bool,
        /// Every participant sends to and receives from every other one (a full mesh),
        /// instead of through the host, which forwards everyone's media.
        #[arg(long)]
        mesh: bool,
        /// Pass on the sound of everyone who talks, however many talk at once; by default,
        /// while more than three do, each participant gets the loudest three.
        #[arg(long)]
        all_voices: bool,
        /// The largest file anyone may offer, in megabytes (0: none); 2048 by default.
        #[arg(long, value_name = "MB", default_value_t = videomeet_net::signaling::MAX_FILE_BYTES / 1_048_576)]
        max_file_mb: u64,
        /// Only the host and co-hosts may record the meeting (guests who try are refused).
        #[arg(long)]
        no_guest_recording: bool,
        #[command(flatten)]
        media: MediaArgs,
    },
    /// List the meetings announced on the local network, one JSON line each.
    ///
    /// Listens for `--wait` seconds and prints a line as soon as something changes: a
    /// meeting's fields (title, host_name, code, passcode_required, participants, recording, version,
    /// link) with `"event": "found"` when it shows up, `"changed"` when its fields change
    /// (the participant count), and `"gone"` when it ends while listening (its host left, or
    /// stopped answering). The meetings there at the end are the ones found and not gone.
    List {
        /// Seconds to listen for announcements (and for meetings that end).
        #[arg(long, default_value_t = 3.0)]
        wait: f64,
    },
    /// Join a meeting: the window opens in it (with --headless: no window, events as JSON lines).
    Join {
        /// Run without a window.
        #[arg(long)]
        headless: bool,
        /// host:port or a videomeet:// link.
        address: String,
        /// Passcode, when the meeting has one.
        #[arg(long)]
        passcode: Option<String>,
        #[command(flatten)]
        media: MediaArgs,
    },
    /// Measure calls between headless processes on this machine (latency, join time, CPU,
    /// memory, beside Chromium); writes bench.json and bench.md.
    Bench(crate::bench::BenchArgs),
}

/// Who we are and what we send, for `host` and `join`.
#[derive(Debug, clap::Args)]
pub struct MediaArgs {
    /// Display name.
    #[arg(long, default_value = "Guest")]
    pub name: String,
    /// Camera id from `videomeet devices`.
    #[arg(long, default_value = "test-pattern")]
    pub camera: String,
    /// Microphone id from `videomeet devices`.
    #[arg(long, default_value = "test-tone:440")]
    pub mic: String,
    /// Speaker id from `videomeet devices` ("mute" decodes and mixes without playing).
    #[arg(long, default_value = "mute")]
    pub speaker: String,
    /// Picture size, WIDTHxHEIGHT.
    #[arg(long, default_value = "1280x720")]
    pub size: String,
    /// Frames per second.
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    /// Start with the camera off.
    #[arg(long)]
    pub camera_off: bool,
    /// Start with the microphone off.
    #[arg(long)]
    pub mic_off: bool,
    /// Send a real microphone as it is heard, without echo cancellation and noise
    /// suppression (for music, or a microphone that does this itself).
    #[arg(long)]
    pub no_voice_processing: bool,
    /// A STUN or TURN server (`stun:host:port`, `turn:host:port`) for networks beyond the
    /// LAN; may be repeated. Without one, only LAN addresses are used.
    #[arg(long = "ice-server", value_name = "URL")]
    pub ice_servers: Vec<String>,
    /// Simulate a bad network for the media this participant sends, reproducibly:
    /// `loss=10%,delay=40ms,jitter=10ms,reorder=2%,rate=500kbps,seed=7` (any of them).
    #[arg(long, value_name = "CONDITIONS")]
    pub impair: Option<videomeet_net::impair::Impairment>,
    /// Leave after this many seconds.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Send this chat message once joined.
    #[arg(long)]
    pub chat: Option<String>,
    /// Draw the others as a gallery (each at most 480x270) or as a speaker view (the first
    /// other participant, the host for a guest, at full size; the rest as 160x90
    /// thumbnails), so that a forwarding host sends each camera at the size that fits.
    /// Without it, every camera comes whole.
    #[arg(long, value_enum)]
    pub view: Option<ViewLayout>,
    /// Connect to the meeting from this address of ours, on a machine with several (by
    /// default the system chooses).
    #[arg(long, value_name = "ADDRESS")]
    pub local_ip: Option<std::net::IpAddr>,
    /// Share a screen once joined: `display` (the first), `display:N`, or `window:TITLE`
    /// (the whole title or a part only one window has); see `videomeet devices`.
    #[arg(long, value_name = "SCREEN")]
    pub share: Option<String>,
    /// Offer this file to everyone once joined.
    #[arg(long, value_name = "PATH")]
    pub send_file: Option<std::path::PathBuf>,
    /// Record the meeting into this new MP4 file once joined (everyone is shown that you
    /// record); `stop_recording` on stdin, or leaving, closes it.
    #[arg(long, value_name = "PATH")]
    pub record: Option<std::path::PathBuf>,
    /// With --record: each person's sound in a file of its own beside the recording too
    /// (`NAME - Grace.m4a`), for editing and transcripts.
    #[arg(long, requires = "record")]
    pub record_voices: bool,
    /// Headless: keep this meeting in the history of meetings (the data folder's
    /// history.sqlite3), as the window does.
    #[arg(long)]
    pub history: bool,
}

/// How a headless participant draws the others (see `--view`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewLayout {
    /// Everyone as a tile of at most 480x270.
    Gallery,
    /// One at full size, the rest as 160x90 thumbnails.
    Speaker,
}

impl ViewLayout {
    /// The sizes this layout draws `others` at (in the order they came; the first is the
    /// speaker).
    pub fn sizes(self, others: &[videomeet_net::protocol::PeerId]) -> Vec<videomeet_net::protocol::ViewSize> {
        others
            .iter()
            .enumerate()
            .map(|(place, id)| {
                let (width, height) = match (self, place) {
                    (Self::Gallery, _) => (480, 270),
                    (Self::Speaker, 0) => (1920, 1080),
                    (Self::Speaker, _) => (160, 90),
                };
                videomeet_net::protocol::ViewSize { id: *id, width, height }
            })
            .collect()
    }
}

impl MediaArgs {
    /// What to do once joined: the chat message to send and the screen to share.
    pub fn first_commands(&self) -> anyhow::Result<Vec<MeetingCommand>> {
        let mut commands: Vec<MeetingCommand> = self.chat.iter().cloned().map(MeetingCommand::Chat).collect();
        if let Some(spec) = &self.share {
            commands.push(MeetingCommand::ShareScreen(find_screen(spec)?));
        }
        if let Some(path) = &self.send_file {
            commands.push(MeetingCommand::SendFile {
                path: path.clone(),
                to: None,
            });
        }
        if let Some(path) = &self.record {
            commands.push(MeetingCommand::StartRecording {
                path: path.clone(),
                voice_files: self.record_voices,
            });
        }
        Ok(commands)
    }

    /// The meeting settings these flags describe, or what is wrong with them.
    pub fn meeting_config(&self, announce: bool) -> anyhow::Result<videomeet_net::meeting::MeetingConfig> {
        let camera = videomeet_media::VideoChoice::from_id(&self.camera)
            .with_context(|| format!("unknown camera \"{}\"; see `videomeet devices`", self.camera))?;
        let microphone = videomeet_media::MicrophoneChoice::from_id(&self.mic)
            .with_context(|| format!("unknown microphone \"{}\"; see `videomeet devices`", self.mic))?;
        let speaker = videomeet_media::SpeakerChoice::from_id(&self.speaker)
            .with_context(|| format!("unknown speaker \"{}\"; see `videomeet devices`", self.speaker))?;
        let (width, height) = self
            .size
            .split_once('x')
            .and_then(|(w, h)| Some((w.parse::<u32>().ok()?, h.parse::<u32>().ok()?)))
            .filter(|&(w, h)| (16..=3840).contains(&w) && (16..=2160).contains(&h))
            .with_context(|| format!("\"{}\" is not a picture size like 1280x720", self.size))?;
        anyhow::ensure!((1..=60).contains(&self.fps), "the frame rate must be 1 to 60");
        for url in &self.ice_servers {
            anyhow::ensure!(
                url.starts_with("stun:") || url.starts_with("turn:"),
                "\"{url}\" is not a stun: or turn: server URL"
            );
        }
        Ok(videomeet_net::meeting::MeetingConfig {
            name: self.name.clone(),
            camera,
            video_format: videomeet_media::video::VideoFormat::new(width, height, self.fps),
            camera_on: !self.camera_off,
            microphone,
            mic_on: !self.mic_off,
            speaker,
            voice_processing: !self.no_voice_processing,
            audio_tap: None,
            peer: videomeet_net::peer::PeerConfig {
                ice_servers: self.ice_servers.clone(),
                impairment: self
                    .impair
                    .map(|impairment| std::sync::Arc::new(videomeet_net::impair::ImpairedRuntime::new(impairment))),
                ..videomeet_net::peer::PeerConfig::default()
            },
            announce,
            session: None,
            local_ip: self.local_ip,
        })
    }

    /// How long to stay, if limited.
    pub fn duration(&self) -> anyhow::Result<Option<std::time::Duration>> {
        self.duration
            .map(|seconds| {
                std::time::Duration::try_from_secs_f64(seconds)
                    .map_err(|_| anyhow::anyhow!("--duration must be a positive number of seconds"))
            })
            .transpose()
    }
}

/// The display or window a `--share` value names. Where the desktop's own dialog picks
/// (Wayland), `display` and `window` ask it, and the source shared last is shared again
/// without asking when the desktop allows.
pub fn find_screen(spec: &str) -> anyhow::Result<ScreenChoice> {
    if videomeet_media::screen::desktop_picks() {
        anyhow::ensure!(
            spec == "display" || spec == "window",
            "on this desktop its own dialog picks what to share: give --share display (or window)"
        );
        let last = videomeet_media::screen::last_shared();
        return Ok(videomeet_media::screen::ask_desktop(last.as_ref())?);
    }
    let screens = list_screens()?;
    let of_kind = |kind| screens.iter().filter(move |s: &&ScreenChoice| s.kind == kind);
    let found = match spec.split_once(':') {
        None if spec == "display" => of_kind(ScreenKind::Display).next(),
        Some(("display", number)) => {
            let number: usize = number
                .parse()
                .ok()
                .filter(|n| *n >= 1)
                .with_context(|| format!("\"{number}\" is not a display number (1, 2, ...)"))?;
            of_kind(ScreenKind::Display).nth(number - 1)
        }
        Some(("window", title)) => {
            let exact = of_kind(ScreenKind::Window).find(|s| s.name == title);
            let partial: Vec<_> = of_kind(ScreenKind::Window).filter(|s| s.name.contains(title)).collect();
            match (exact, partial.as_slice()) {
                (Some(window), _) => Some(window),
                (None, [window]) => Some(*window),
                (None, []) => None,
                (None, many) => anyhow::bail!(
                    "{} windows have \"{title}\" in their titles; give more of the title",
                    many.len()
                ),
            }
        }
        _ => anyhow::bail!("\"{spec}\" is not display, display:N or window:TITLE"),
    };
    found
        .cloned()
        .with_context(|| format!("there is no screen \"{spec}\"; see `videomeet devices`"))
}

/// Prints every device and synthetic source with its id.
pub fn print_devices() {
    use std::fmt::Write;
    let list = list_devices();
    let mut text = String::from("Cameras:\n");
    for camera in &list.cameras {
        let _ = writeln!(text, "  {:<32} {}", camera.id(), camera.label());
    }
    text.push_str("Microphones:\n");
    for microphone in &list.microphones {
        let _ = writeln!(text, "  {:<32} {}", microphone.id(), microphone.label());
    }
    text.push_str("Speakers:\n");
    for speaker in &list.speakers {
        let _ = writeln!(text, "  {:<32} {}", speaker.id(), speaker.label());
    }
    for note in &list.notes {
        let _ = writeln!(text, "Note: {note}");
    }
    text.push_str("Screens (for --share):\n");
    match list_screens() {
        Ok(screens) => {
            let mut displays = 0;
            for screen in screens {
                let id = match screen.kind {
                    ScreenKind::Display => {
                        displays += 1;
                        format!("display:{displays}")
                    }
                    ScreenKind::Window => format!("window:{}", screen.name),
                };
                let _ = writeln!(text, "  {id:<32} {}", screen.name);
            }
        }
        Err(ScreenError::DesktopPicks) => {
            let _ = writeln!(
                text,
                "  {:<32} the desktop's own dialog picks a display or window",
                "display"
            );
        }
        Err(error) => {
            let _ = writeln!(text, "Note: {error}");
        }
    }
    say(&text);
}

/// Writes `text` to standard output; false once nobody reads it any more (a pipe closed
/// early, as in `videomeet devices | head -1`), which ends the listing quietly rather than
/// as a crash.
fn say(text: &str) -> bool {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => true,
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => false,
        Err(error) => {
            tracing::warn!(%error, "could not print");
            false
        }
    }
}

/// How long `list` waits for news at most before it looks again; listed meetings are asked
/// on the way, every few seconds, whether they are still there.
const LIST_STEP: std::time::Duration = std::time::Duration::from_millis(250);

/// Listens for `wait_secs` and prints, as they happen, the meetings that show up, change or
/// go (see `videomeet list --help`).
pub fn print_meetings(wait_secs: f64) -> anyhow::Result<()> {
    let wait = std::time::Duration::try_from_secs_f64(wait_secs)
        .map_err(|_| anyhow::anyhow!("--wait must be a positive number of seconds"))?;
    let mut browser = videomeet_net::discovery::Browser::start()?;
    let until = std::time::Instant::now() + wait;
    // What was last printed for each meeting listed, by announcement name.
    let mut shown = std::collections::BTreeMap::new();
    loop {
        browser.refresh();
        let listed: std::collections::BTreeMap<String, serde_json::Value> = browser
            .meetings()
            .map(|meeting| (meeting.id.clone(), meeting_line(meeting)))
            .collect();
        let news = shown
            .iter()
            .filter(|(id, _)| !listed.contains_key(*id))
            .map(|(_, line)| ("gone", line))
            .chain(listed.iter().filter_map(|(id, line)| match shown.get(id) {
                None => Some(("found", line)),
                Some(before) if before != line => Some(("changed", line)),
                Some(_) => None,
            }));
        for (event, line) in news {
            if !print_meeting(event, line) {
                return Ok(());
            }
        }
        shown = listed;
        let Some(left) = until.checked_duration_since(std::time::Instant::now()) else {
            return Ok(());
        };
        browser.wait_for_change(left.min(LIST_STEP));
    }
}

/// The fields `list` prints for `meeting`.
fn meeting_line(meeting: &videomeet_net::discovery::DiscoveredMeeting) -> serde_json::Value {
    serde_json::json!({
        "title": meeting.title,
        "host_name": meeting.host_name,
        "code": meeting.code,
        "passcode_required": meeting.passcode_required,
        "participants": meeting.participants,
        "recording": meeting.recording,
        "version": meeting.version,
        "link": meeting.join_target().map(|target| target.to_string()),
    })
}

/// One line of `list`: what happened to the meeting, and its fields; false once nobody
/// reads them any more.
fn print_meeting(event: &str, fields: &serde_json::Value) -> bool {
    let mut line = fields.clone();
    line["event"] = event.into();
    say(&format!("{line}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Args::command().debug_assert();
        assert!(Args::try_parse_from(["videomeet", "devices"]).is_ok());
        // A word that is no command is taken for a link, and refused as one.
        let fly = Args::try_parse_from(["videomeet", "fly"]).expect("parsed");
        let error = meeting_link(fly.link.as_deref().expect("a link"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("neither a command nor a meeting link"), "{error}");
        // A clicked link, alone: the window opens on its meeting.
        let clicked = Args::try_parse_from(["videomeet", "videomeet://192.168.1.20:47800/ABCD2345"]).expect("a link");
        assert!(clicked.command.is_none());
        let target = meeting_link(clicked.link.as_deref().expect("a link")).expect("a meeting");
        assert_eq!(
            (target.host.as_str(), target.port, target.code.as_deref()),
            ("192.168.1.20", 47800, Some("ABCD2345"))
        );
        assert!(Args::try_parse_from(["videomeet", "videomeet://h:1/ABCD2345", "devices"]).is_err());
        assert!(Args::try_parse_from(["videomeet", "join", "10.0.0.2:47800", "--headless", "--name", "Ada"]).is_ok());
        assert!(Args::try_parse_from(["videomeet", "list", "--wait", "1"]).is_ok());
    }

    #[test]
    fn bad_media_flags_are_explained() {
        let parse = |extra: &[&str]| {
            let mut args = vec!["videomeet", "join", "h:1", "--headless"];
            args.extend_from_slice(extra);
            match Args::try_parse_from(args).unwrap().command {
                Some(Command::Join { media, .. }) => media.meeting_config(false).map(|_| ()),
                _ => unreachable!("parsed as join"),
            }
        };
        assert!(parse(&[]).is_ok());
        for (flags, expected) in [
            (&["--camera", "webcam9"][..], "unknown camera"),
            (&["--mic", "loud"][..], "unknown microphone"),
            (&["--speaker", "hifi"][..], "unknown speaker"),
            (&["--size", "huge"][..], "picture size"),
            (&["--size", "99999x2"][..], "picture size"),
            (&["--fps", "0"][..], "frame rate"),
            (&["--ice-server", "http://x"][..], "stun: or turn:"),
        ] {
            let error = parse(flags).unwrap_err().to_string();
            assert!(error.contains(expected), "{flags:?}: {error}");
        }
    }

    #[test]
    fn impair_takes_network_conditions_and_explains_bad_ones() {
        let args = [
            "videomeet",
            "join",
            "h:1",
            "--headless",
            "--impair",
            "loss=10%,delay=40ms,seed=7",
        ];
        let Some(Command::Join { media, .. }) = Args::try_parse_from(args).expect("parses").command else {
            unreachable!("parsed as join")
        };
        let impairment = media.impair.expect("taken");
        assert_eq!((impairment.loss, impairment.seed), (0.1, 7));
        assert!(media.meeting_config(false).expect("valid").peer.impairment.is_some());
        let error = Args::try_parse_from(["videomeet", "host", "--impair", "loss=lots"])
            .expect_err("refused")
            .to_string();
        assert!(error.contains("cannot read the network impairment"), "{error}");
    }

    #[test]
    fn bad_screen_names_are_explained() {
        if std::env::var_os("DISPLAY").is_none() {
            let error = find_screen("display").unwrap_err().to_string();
            assert!(error.contains("not available"), "{error}");
            return;
        }
        for (spec, expected) in [
            ("screen", "is not display, display:N or window:TITLE"),
            ("display:0", "not a display number"),
            ("display:x", "not a display number"),
            ("display:99", "there is no screen"),
            ("window:no such window anywhere", "there is no screen"),
        ] {
            let error = find_screen(spec).unwrap_err().to_string();
            assert!(error.contains(expected), "{spec}: {error}");
        }
        assert_eq!(find_screen("display:1").unwrap(), find_screen("display").unwrap());
    }
}
