//! What the owner of a meeting sees: how to start one, the commands it takes and the events
//! it reports.

use std::sync::Arc;

use tokio::sync::mpsc;
use videomeet_media::audio::AudioLevels;
use videomeet_media::screen::ScreenChoice;
use videomeet_media::slot::VideoSlot;
use videomeet_media::video::VideoFormat;
use videomeet_media::{AudioFrame, MicrophoneChoice, SpeakerChoice, VideoChoice};

use crate::address::JoinTarget;
use crate::peer::{PeerConfig, VideoFeed};
use crate::protocol::{KnockId, LeaveReason, MediaState, MeetingInfo, PeerId, PeerInfo};
use crate::signaling::{HostConfig, JoinError, WaitingHook};

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
    /// Told when the host makes us wait until it lets us in.
    pub on_waiting: Option<WaitingHook>,
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
            on_waiting: None,
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
    /// Send a chat message to everyone.
    Chat(String),
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
    /// Host only: lock the meeting (nobody new gets in), or open it again.
    LockMeeting(bool),
    /// Host only: everyone removed or turned away so far may ask to join again.
    AllowBack,
    /// Host only: remove a participant (nobody from their address gets back in).
    Remove(PeerId),
    /// Host only: make guests wait until we let them in, or let them in at once again.
    AskToJoin(bool),
    /// Host only: let a waiting guest in.
    Admit(KnockId),
    /// Host only: turn a waiting guest away.
    Deny(KnockId),
    /// Leave the meeting (ends it for everyone when we host).
    Leave,
}

/// What happens in the meeting.
#[derive(Clone)]
pub enum Event {
    /// We are in: our id, the meeting, the link to share, and our own camera picture.
    Joined {
        /// Our id.
        you: PeerId,
        /// The meeting.
        meeting: MeetingInfo,
        /// `videomeet://...` link others can join with.
        link: String,
        /// Our own captured picture (self view).
        local_video: Arc<VideoSlot>,
        /// How loud our microphone and each participant are, for meters and the active speaker.
        audio_levels: Arc<AudioLevels>,
    },
    /// Someone is in the meeting (sent for everyone already there, too).
    PeerJoined(PeerInfo),
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
    /// Host only: a guest asks to join; answer with [`Command::Admit`] or [`Command::Deny`].
    Knocking {
        /// Which knock.
        knock: KnockId,
        /// The guest's display name.
        name: String,
    },
    /// Host only: a knock needs no answer any more (answered, withdrawn or timed out).
    KnockEnded(KnockId),
    /// Something went wrong that the user should know about; the meeting goes on.
    Problem(String),
    /// The meeting is over for us (we left, the host ended it, or the host is gone).
    Ended,
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
    #[error("{0}")]
    Device(String),
}

/// Sends commands to a running meeting.
#[derive(Clone)]
pub struct MeetingHandle {
    pub(super) commands: mpsc::Sender<Command>,
}

impl MeetingHandle {
    /// A handle whose commands arrive at `commands`, for driving a screen without a meeting
    /// behind it (tests and previews).
    pub fn new(commands: mpsc::Sender<Command>) -> Self {
        Self { commands }
    }

    /// Queues a command; false when the meeting is over or swamped.
    pub fn send(&self, command: Command) -> bool {
        self.commands.try_send(command).is_ok()
    }
}
