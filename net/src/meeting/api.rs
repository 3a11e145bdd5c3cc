//! What the owner of a meeting sees: how to start one, the commands it takes and the events
//! it reports.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use videomeet_media::audio::{AudioLevels, Cue};
use videomeet_media::screen::ScreenChoice;
use videomeet_media::slot::VideoSlot;
use videomeet_media::video::VideoFormat;
use videomeet_media::{AudioFrame, MicrophoneChoice, SpeakerChoice, VideoChoice};

use crate::address::JoinTarget;
pub use crate::files::receive::SaveTo;
pub use crate::files::{Outcome, Progress};
use crate::peer::{PeerConfig, VideoFeed};
use crate::protocol::{KnockId, LeaveReason, MediaDevice, MediaState, MeetingInfo, PeerId, PeerInfo, ViewSize};
use crate::signaling::{HostConfig, JoinError};

/// A file someone offered (we too).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FileOffer {
    /// Its number among the chat messages; commands name the file by it.
    pub seq: u64,
    /// Who offers it.
    pub from: PeerId,
    /// Their name at the time.
    pub sender: String,
    /// The file's name, made safe.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Host clock, ms since the Unix epoch.
    pub sent_at_ms: u64,
    /// Offered to one participant alone (us, or the one we offered it to).
    pub to: Option<PeerId>,
}

/// Called when there is something new to show; the UI passes "request a repaint".
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// Host a new meeting, or join one.
#[derive(Clone, Debug)]
pub enum Role {
    /// Run the meeting here.
    Host(HostConfig),
    /// Join the meeting at `target`.
    Join {
        /// Where.
        target: JoinTarget,
        /// The passcode, if needed.
        passcode: Option<String>,
    },
}

/// The participant's own choices.
#[derive(Clone, Debug)]
pub struct MeetingConfig {
    /// Display name.
    pub name: String,
    /// Camera or test pattern.
    pub camera: VideoChoice,
    /// Size and rate to capture at.
    pub video_format: VideoFormat,
    /// Send video from the start.
    pub camera_on: bool,
    /// Microphone or test tone.
    pub microphone: MicrophoneChoice,
    /// Send sound from the start.
    pub mic_on: bool,
    /// Where the others are heard.
    pub speaker: SpeakerChoice,
    /// Take the speaker's echo and noise out of a real microphone's sound (off for music, or
    /// for a microphone that does this itself).
    pub voice_processing: bool,
    /// Receives every mixed 20 ms of what we hear (for measurements; `None` normally).
    pub audio_tap: Option<std::sync::mpsc::SyncSender<AudioFrame>>,
    /// Network settings for media.
    pub peer: PeerConfig,
    /// Announce a hosted meeting with mDNS.
    pub announce: bool,
    /// Our session token; keep one for the program's whole run, so a host that turned us
    /// away keeps us out. `None` takes a new one.
    pub session: Option<String>,
    /// The address to join from, on a machine with several; the system's choice when `None`.
    pub local_ip: Option<std::net::IpAddr>,
}

impl MeetingConfig {
    /// What we send as we come in: microphone and camera as chosen, no screen, no hand.
    pub fn media_at_start(&self) -> MediaState {
        MediaState {
            mic: self.mic_on,
            camera: self.camera_on,
            screen: false,
            hand: None,
            camera_size: Some([self.video_format.width, self.video_format.height]),
            recording: false,
        }
    }
}

impl Default for MeetingConfig {
    /// "Guest" with the synthetic devices (test pattern at 640x360, 440 Hz tone, no
    /// speaker), both on, nothing announced: where tests and benchmarks start. The window and
    /// the command line set every field from the user's choices.
    fn default() -> Self {
        Self {
            name: "Guest".into(),
            camera: VideoChoice::TestPattern,
            video_format: VideoFormat::P360,
            camera_on: true,
            microphone: MicrophoneChoice::TestTone {
                freq_hz: videomeet_media::devices::DEFAULT_TONE_HZ,
            },
            mic_on: true,
            speaker: SpeakerChoice::Mute,
            voice_processing: true,
            audio_tap: None,
            peer: PeerConfig::default(),
            announce: false,
            session: None,
            local_ip: None,
        }
    }
}

/// What the owner of a meeting can ask of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Turn the microphone on or off.
    SetMic(bool),
    /// Turn the camera on or off.
    SetCamera(bool),
    /// How large we draw each other participant's camera now (`0x0`: not at all), so that
    /// a forwarding host sends each at the size that fits. Participants not listed are
    /// drawn at full size.
    View(Vec<ViewSize>),
    /// Send a chat message to everyone.
    Chat(String),
    /// Send a chat message to one participant alone.
    PrivateChat {
        /// Whom.
        to: PeerId,
        /// The text.
        text: String,
    },
    /// Offer the file at this path to everyone, or to one participant; it moves to each
    /// receiver who asks for it ([`Command::SaveFile`]).
    SendFile {
        /// The file.
        path: std::path::PathBuf,
        /// Only for this participant.
        to: Option<PeerId>,
    },
    /// Take a file offered to us ([`Event::FileOffered`], by its number) and save it there.
    SaveFile {
        /// The offer's number.
        seq: u64,
        /// Where.
        to: SaveTo,
    },
    /// Stop a file moving: one receiver's transfer, or (`peer: None`) all of that file's,
    /// ours to everyone included. Whatever was received of it is removed.
    CancelFile {
        /// The offer's number.
        seq: u64,
        /// The other side of the transfer; every one when `None`.
        peer: Option<PeerId>,
    },
    /// Go by another name; the host may number it to tell it apart ([`Event::Renamed`]
    /// tells the name given).
    Rename(String),
    /// Play a short sound through our speaker, in the meeting's own mix (so that the echo
    /// canceller takes it out of what our microphone hears).
    PlayCue(Cue),
    /// Capture from another camera (the old one keeps going if the new one fails).
    UseCamera(VideoChoice),
    /// Capture from another microphone.
    UseMicrophone(MicrophoneChoice),
    /// Echo cancellation and noise suppression on or off (see [`MeetingConfig::voice_processing`]).
    UseVoiceProcessing(bool),
    /// Play to another speaker.
    UseSpeaker(SpeakerChoice),
    /// Share a display or window (instead of what is shared now, if anything).
    ShareScreen(ScreenChoice),
    /// Stop sharing the screen.
    StopSharing,
    /// Host only: let several participants share their screens at once.
    AllowManySharers(bool),
    /// Host or co-host: lock the meeting (nobody new gets in), or open it again.
    LockMeeting(bool),
    /// Host only: everyone removed or turned away so far may ask to join again.
    AllowBack,
    /// Show a reaction (one of [`crate::protocol::REACTIONS`]) over our picture for everyone.
    React(String),
    /// Raise our hand (everyone sees it, in the order hands went up) or put it down.
    RaiseHand(bool),
    /// Host or co-host: put a participant's raised hand down.
    LowerHand(PeerId),
    /// Host or co-host: remove a participant (nobody from their address gets back in).
    Remove(PeerId),
    /// Host or co-host: turn a participant's microphone, camera or share off, or everyone's
    /// but ours and the host's (`id` `None`).
    TurnOff {
        /// Whose; everyone's when `None`.
        id: Option<PeerId>,
        /// Which.
        device: MediaDevice,
    },
    /// Host or co-host: ask a participant to turn their microphone or camera on (nobody
    /// can turn it on for them).
    AskToTurnOn {
        /// Whom.
        id: PeerId,
        /// Which.
        device: MediaDevice,
    },
    /// Host only: make a participant a co-host, or no longer one.
    MakeCohost {
        /// Whom.
        id: PeerId,
        /// A co-host from now on.
        cohost: bool,
    },
    /// Host only: make guests wait until we let them in, or let them in at once again.
    AskToJoin(bool),
    /// Host or co-host: let a waiting guest in.
    Admit(KnockId),
    /// Host or co-host: turn a waiting guest away.
    Deny(KnockId),
    /// Record the meeting into a new file (MP4); everyone sees that we do.
    StartRecording {
        /// The file to make.
        path: std::path::PathBuf,
        /// Each person's sound in a file of its own beside it, too (for editing and
        /// transcripts).
        voice_files: bool,
    },
    /// Stop recording; the file is closed before [`Event::RecordingEnded`].
    StopRecording,
    /// Host only: guests may record the meeting, or only the host and co-hosts may.
    AllowGuestRecording(bool),
    /// Host only: leave, handing the meeting over to a co-host (else the program that came
    /// first), so that it goes on; [`Event::Ended`] with [`EndReason::HandedOver`] follows
    /// once everyone has been told where it went.
    HandOver,
    /// Leave the meeting (ends it for everyone when we host).
    Leave,
}

/// The host's guest page: where a browser joins the meeting, and how a careful guest
/// recognises the certificate it is served with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebPage {
    /// `https://ADDRESS:PORT/CODE`.
    pub link: String,
    /// The certificate's SHA-256 fingerprint, as browsers show it.
    pub fingerprint: String,
}

/// What happens in the meeting.
#[derive(Clone)]
pub enum Event {
    /// The host makes us wait until it lets us in, with the host's words. [`Command::Leave`]
    /// withdraws the request.
    Waiting(String),
    /// We are in: our id, the meeting, the link to share, and our own camera picture.
    Joined {
        /// Our id.
        you: PeerId,
        /// The meeting.
        meeting: MeetingInfo,
        /// `videomeet://...` link others can join with.
        link: String,
        /// Hosting: the page browsers join from.
        web_page: Option<WebPage>,
        /// Our own captured picture (self view).
        local_video: Arc<VideoSlot>,
        /// How loud our microphone and each participant are, for meters and the active speaker.
        audio_levels: Arc<AudioLevels>,
    },
    /// Someone is in the meeting (sent for everyone already there, too).
    PeerJoined(PeerInfo),
    /// The meeting moved to a new host (ours, when `host` is us): the host who left handed
    /// it over, and we followed it there. Its new link, and for the host its new page.
    HostChanged {
        /// The host now.
        host: PeerId,
        /// The meeting as the new host has it.
        meeting: MeetingInfo,
        /// `videomeet://...` link others can join with now.
        link: String,
        /// Hosting now: the page browsers join from.
        web_page: Option<WebPage>,
        /// Hosting now: the passcode guests give, to tell them again.
        passcode: Option<String>,
    },
    /// Someone left.
    PeerLeft {
        /// Who.
        id: PeerId,
        /// Why.
        reason: LeaveReason,
    },
    /// A participant's camera or screen video is arriving; draw from the slot. A screen is
    /// shown while their [`MediaState`] says `screen`.
    Video {
        /// Whose.
        id: PeerId,
        /// Camera or screen.
        feed: VideoFeed,
        /// Their newest decoded frame.
        slot: Arc<VideoSlot>,
    },
    /// Our own screen share started (with the name of what is shared) or stopped.
    Sharing(Option<String>),
    /// The media connection to a participant is up, with its safety code: the same twelve
    /// digits on both sides unless someone sits in between (see [`crate::safety`]).
    SafetyCode {
        /// Whose connection.
        id: PeerId,
        /// "123 456 789 012".
        code: String,
    },
    /// A chat message.
    Chat {
        /// Sender id.
        from: PeerId,
        /// Sender name.
        name: String,
        /// Text.
        text: String,
        /// Host clock, ms since the Unix epoch.
        sent_at_ms: u64,
        /// Its position in the meeting's chat, numbered by the host together with the files
        /// offered there, from 1.
        seq: u64,
        /// A private message: whom it was for (us, or the one we wrote to).
        to: Option<PeerId>,
    },
    /// A file was offered (by us too), in its place among the chat messages.
    FileOffered(FileOffer),
    /// How far one transfer is (at most four times a second).
    FileProgress {
        /// The offer's number.
        seq: u64,
        /// The other side: the receiver when we send, the sender when we receive.
        peer: PeerId,
        /// We send it.
        sending: bool,
        /// Bytes, total and speed.
        progress: Progress,
    },
    /// One transfer ended.
    FileEnded {
        /// The offer's number.
        seq: u64,
        /// The other side.
        peer: PeerId,
        /// We sent it.
        sending: bool,
        /// How.
        outcome: Outcome,
    },
    /// A participant's name changed (ours too: the name the host gave us).
    Renamed {
        /// Who.
        id: PeerId,
        /// Their name now.
        name: String,
    },
    /// Hosting or a co-host: the meeting was locked (true) or unlocked, by us or another.
    Locked(bool),
    /// A participant (we too) became a co-host, or is no longer one.
    Cohost {
        /// Who.
        id: PeerId,
        /// A co-host now.
        cohost: bool,
    },
    /// A host or co-host turned our device off; it is off already (the [`Event::MediaState`]
    /// about us says so).
    TurnedOff {
        /// Which.
        device: MediaDevice,
        /// Who did.
        by: PeerId,
    },
    /// A host or co-host asks us to turn our microphone or camera on: ask the user.
    AskedToTurnOn {
        /// Which.
        device: MediaDevice,
        /// Who asks.
        by: PeerId,
    },
    /// A participant reacted (ourselves too): show `emoji` over their picture for a moment.
    Reaction {
        /// Who.
        from: PeerId,
        /// One of [`crate::protocol::REACTIONS`].
        emoji: String,
    },
    /// A participant's microphone, camera or screen changed.
    MediaState {
        /// Who.
        id: PeerId,
        /// Now.
        media: MediaState,
    },
    /// A step of setting up the media connection to a participant is done (for join-time
    /// figures).
    Connection {
        /// With whom.
        id: PeerId,
        /// Which step.
        step: ConnectionStep,
    },
    /// Once a second: figures for each other participant.
    Stats(Vec<PeerStats>),
    /// The media connection to a participant broke and is being restored (`true`), or is
    /// back (`false`); their tile says so meanwhile.
    Reconnecting {
        /// Who.
        id: PeerId,
        /// Reconnecting now.
        reconnecting: bool,
    },
    /// Host or co-host: a guest asks to join; answer with [`Command::Admit`] or
    /// [`Command::Deny`].
    Knocking {
        /// Which knock.
        knock: KnockId,
        /// The guest's display name.
        name: String,
    },
    /// Host or co-host: a knock needs no answer any more (answered, withdrawn or timed out,
    /// or we are no longer a co-host).
    KnockEnded(KnockId),
    /// We record the meeting into this file from now on.
    RecordingStarted {
        /// The file.
        path: std::path::PathBuf,
    },
    /// Our recording ended (we stopped it, the meeting ended, or writing failed, then with
    /// the reason); its file is closed and plays to its end.
    RecordingEnded(videomeet_media::record::Finished),
    /// The host lets guests record (true), or only the host and co-hosts (false).
    GuestRecording(bool),
    /// Something went wrong that the user should know about; the meeting goes on.
    Problem(Problem),
    /// The meeting is over for us, or never started; nothing follows.
    Ended(EndReason),
}

/// Why the meeting is over for us.
#[derive(Clone, Debug)]
pub enum EndReason {
    /// We left (or, hosting, ended it).
    Left,
    /// The host ended the meeting.
    HostEnded,
    /// The host removed us.
    Removed,
    /// The connection to the host broke.
    HostLost,
    /// We hosted, left, and handed the meeting over to `to`, who hosts it now.
    HandedOver {
        /// The new host's name.
        to: String,
    },
    /// It never started: hosting, joining or opening our devices failed.
    NotStarted(Arc<MeetingError>),
}

impl EndReason {
    /// A name for programs: `left`, `host_ended`, `removed`, `host_lost` or `not_started`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Left => "left",
            Self::HostEnded => "host_ended",
            Self::Removed => "removed",
            Self::HostLost => "host_lost",
            Self::HandedOver { .. } => "handed_over",
            Self::NotStarted(_) => "not_started",
        }
    }
}

impl std::fmt::Display for EndReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Left => f.write_str("You left the meeting."),
            Self::HostEnded => f.write_str("The meeting has ended."),
            Self::Removed => f.write_str("The host removed you from the meeting."),
            Self::HostLost => f.write_str("The connection to the host was lost."),
            Self::HandedOver { to } => write!(f, "You left the meeting; {to} hosts it now."),
            Self::NotStarted(error) => write!(f, "{error}"),
        }
    }
}

/// One of our own devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    /// The camera.
    Camera,
    /// The microphone.
    Microphone,
    /// The speaker.
    Speaker,
    /// A shared display or window.
    Screen,
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Camera => "camera",
            Self::Microphone => "microphone",
            Self::Speaker => "speaker",
            Self::Screen => "screen",
        })
    }
}

/// Something that went wrong, which the user should know about; the meeting goes on.
/// People read its text; programs look at the variant (`kind` in JSON).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Problem {
    /// A device could not be opened or switched to; the one in use (if any) goes on.
    #[error("{}", failed_text(*.device, .name, .reason))]
    DeviceFailed {
        /// Which kind.
        device: Device,
        /// The device, or the display or window, as listed.
        name: String,
        /// Why.
        reason: String,
    },
    /// A device in use stopped on its own (unplugged, taken by another program, the shared
    /// window closed); the others hear or see nothing of it until another is chosen.
    #[error("{}", lost_text(*.device, .name, .reason))]
    DeviceLost {
        /// Which kind.
        device: Device,
        /// What was shared, for a screen; empty otherwise.
        name: String,
        /// Why.
        reason: String,
    },
    /// The host refused our share: someone else shares and only one may.
    #[error("{sharer} is sharing their screen; one person can share at a time")]
    ShareRefused {
        /// Who shares.
        sharer: String,
    },
    /// The media connection with a participant could not be set up or used.
    #[error("could not connect media with participant {id}: {reason}")]
    MediaConnection {
        /// With whom.
        id: PeerId,
        /// Why.
        reason: String,
    },
    /// A participant's video cannot be decoded here.
    #[error("cannot decode video from participant {id}: {reason}")]
    Decoder {
        /// Whose.
        id: PeerId,
        /// Why.
        reason: String,
    },
    /// The meeting could not be announced on the local network (it can still be joined by
    /// its link).
    #[error("{reason}")]
    NotAnnounced {
        /// Why.
        reason: String,
    },
    /// Hosting: many wrong passcodes are being tried.
    #[error(
        "Many wrong passcodes are being tried. Each further try now waits its turn; lock the meeting to keep everyone new out."
    )]
    PasscodeGuessing,
    /// A file could not be offered or taken.
    #[error("{message}")]
    File {
        /// What and why.
        message: String,
    },
    /// The host did not pass on something we sent (a chat message too long or too fast, a
    /// file too large), and said why.
    #[error("{message}")]
    Refused {
        /// The host's words.
        message: String,
    },
    /// A recording could not start, or the host stopped it.
    #[error("{message}")]
    Recording {
        /// What and why.
        message: String,
    },
    /// The request needs a running meeting, and it has ended.
    #[error("the meeting has ended")]
    Ended,
}

fn failed_text(device: Device, name: &str, reason: &str) -> String {
    match device {
        Device::Screen => format!("could not share \"{name}\": {reason}"),
        other => format!("could not use the {other} {name}: {reason}"),
    }
}

fn lost_text(device: Device, name: &str, reason: &str) -> String {
    match device {
        Device::Screen => format!("Sharing \"{name}\" stopped: {reason}"),
        other => format!("{reason}. Choose another {other} in Devices."),
    }
}

/// Steps of setting up a media connection, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStep {
    /// ICE found a working path.
    Ice,
    /// DTLS secured it: media can flow.
    Dtls,
}

/// Connection and video figures for one other participant over the last second.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct PeerStats {
    /// Who.
    pub id: PeerId,
    /// Round-trip time, when measured.
    pub rtt_ms: Option<f64>,
    /// What we send them.
    pub send_kbps: f64,
    /// What congestion control estimates the path to them carries.
    pub estimate_kbps: f64,
    /// What we receive from them.
    pub receive_kbps: f64,
    /// Share of their packets lost, in percent.
    pub loss_pct: f64,
    /// Interarrival jitter of their streams.
    pub jitter_ms: f64,
    /// Frames of their video decoded per second.
    pub fps: f64,
    /// Their picture width.
    pub width: u32,
    /// Their picture height.
    pub height: u32,
    /// Average time to decode one of their frames.
    pub decode_ms: f64,
    /// Share of their sound's 20 ms frames that concealment had to invent, in percent.
    pub audio_concealed_pct: f64,
}

/// Why a meeting could not start.
#[derive(Debug, thiserror::Error)]
pub enum MeetingError {
    /// The signaling server could not listen.
    #[error("could not host: {0}")]
    Host(std::io::Error),
    /// Joining failed.
    #[error(transparent)]
    Join(#[from] JoinError),
    /// A camera, microphone or speaker could not be opened.
    #[error(transparent)]
    Device(#[from] Problem),
}

/// A command on its way to the meeting, with where its outcome goes when asked for.
#[derive(Debug)]
pub struct Request {
    /// What is asked.
    pub command: Command,
    /// Told whether it worked; without it, a failure is reported as [`Event::Problem`].
    pub reply: Option<oneshot::Sender<Result<(), Problem>>>,
}

/// Sends commands to a meeting.
#[derive(Clone)]
pub struct MeetingHandle {
    pub(super) commands: mpsc::Sender<Request>,
}

impl MeetingHandle {
    /// A handle whose requests arrive at `commands`, for driving a screen without a meeting
    /// behind it (tests and previews).
    pub fn new(commands: mpsc::Sender<Request>) -> Self {
        Self { commands }
    }

    /// Queues a command; false when the meeting is over or swamped. If it fails, the
    /// meeting reports an [`Event::Problem`].
    pub fn send(&self, command: Command) -> bool {
        self.commands.try_send(Request { command, reply: None }).is_ok()
    }

    /// Carries out a command and says whether it worked, for the requests that can fail
    /// (switching devices, sharing a screen, turning the camera on again).
    pub async fn ask(&self, command: Command) -> Result<(), Problem> {
        let (reply, outcome) = oneshot::channel();
        let request = Request {
            command,
            reply: Some(reply),
        };
        self.commands.send(request).await.map_err(|_| Problem::Ended)?;
        outcome.await.map_err(|_| Problem::Ended)?
    }
}
