//! The signaling protocol: JSON messages over WebSocket, one tagged enum per direction.
//!
//! `PROTOCOL.md` beside this crate describes it for people writing other clients; this
//! module is the definition. Every message is a JSON object with a `"type"` field.

use serde::{Deserialize, Serialize};

/// Version of the protocol spoken by this build; the first message carries it.
pub const PROTOCOL_VERSION: u32 = 1;

/// Limits the host enforces from the first message on.
pub mod limits {
    use std::time::Duration;

    /// Largest message accepted, in bytes (an SDP offer is 3-10 KB).
    pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
    /// Sustained messages per second per connection.
    pub const MESSAGES_PER_SECOND: u32 = 50;
    /// Messages a connection may send in a burst above the sustained rate.
    pub const MESSAGE_BURST: u32 = 200;
    /// Time a new connection has to send a valid `hello`.
    pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
    /// Simultaneous connections from one IP address.
    pub const CONNECTIONS_PER_ADDRESS: usize = 8;
    /// Simultaneous connections in all, admitted or not.
    pub const MAX_CONNECTIONS: usize = 64;
    /// Participants in one meeting, the host included.
    pub const MAX_PARTICIPANTS: usize = 16;
    /// Longest display name, in characters.
    pub const MAX_NAME_CHARS: usize = 64;
    /// Longest chat message, in characters.
    pub const MAX_CHAT_CHARS: usize = 4_000;
    /// Chat messages one participant may send at once; further ones are refused with `error`
    /// until the allowance refills. Sized so that everyone's allowances together fit every
    /// participant's queue on the host.
    pub const CHAT_BURST: u32 = 10;
    /// Chat messages per second one participant may send, sustained.
    pub const CHATS_PER_SECOND: u32 = 2;
    /// Longest meeting title, in characters.
    pub const MAX_TITLE_CHARS: usize = 100;
    /// Longest session token, in characters.
    pub const MAX_SESSION_CHARS: usize = 64;
    /// Guests waiting for the host to let them in at once; further ones are turned away.
    pub const MAX_WAITING: usize = 16;
    /// Guests from one address waiting to be let in at once.
    pub const WAITING_PER_ADDRESS: usize = 2;
    /// How long a guest may wait for the host to let them in.
    pub const KNOCK_TIMEOUT: Duration = Duration::from_secs(600);
    /// Silence from a guest after which the host counts its connection as gone. A guest
    /// whose program dies closes (or resets) its connection at once; silence is a network
    /// that dropped out, which TCP rides out, delivering what was held up, when it comes
    /// back in time. Meanwhile the others see that guest's tile as reconnecting (its media
    /// stops too).
    pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
    /// Silence from the host after which a guest gives up on the meeting: a host's network
    /// dropping out for 10 s is ridden out, a host machine that died is noticed within 15 s
    /// (a host program that dies closes its connections at once).
    pub const HOST_SILENCE_LIMIT: Duration = Duration::from_secs(15);
    /// How often a client pings.
    pub const PING_INTERVAL: Duration = Duration::from_secs(2);
}

/// The reactions a participant may send: shown over the sender's picture for a few seconds.
/// Only these, so that a reaction cannot carry text.
pub const REACTIONS: [&str; 6] = ["👍", "👏", "😂", "❤", "🎉", "😮"];

/// A participant's id within one meeting, given by the host.
pub type PeerId = u32;

/// A guest waiting to be let in, numbered by the host.
pub type KnockId = u64;

/// Which media a participant is sending.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaState {
    /// Microphone on.
    pub mic: bool,
    /// Camera on.
    pub camera: bool,
    /// Sharing the screen.
    pub screen: bool,
    /// A raised hand: its place in the order hands went up (1 first), as the host numbers
    /// them; absent while the hand is down. A client raising its hand sends any number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hand: Option<u64>,
    /// The size of the camera's picture at its largest, `[width, height]`, when known: a
    /// forwarding host picks the layer that fits each viewer from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera_size: Option<[u32; 2]>,
    /// Recording the meeting: everyone sees it. A guest may record only while the host
    /// allows guests to ([`MeetingInfo::no_guest_recording`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recording: bool,
}

/// One of the three things a participant sends, named as in [`MediaState`]: what a host or
/// co-host turns off (`turn_off`) or asks to have turned on (`ask_to_turn_on`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaDevice {
    /// The microphone.
    Mic,
    /// The camera.
    Camera,
    /// The screen share.
    Screen,
}

impl MediaState {
    /// Whether `device` is on.
    pub fn is_on(&self, device: MediaDevice) -> bool {
        match device {
            MediaDevice::Mic => self.mic,
            MediaDevice::Camera => self.camera,
            MediaDevice::Screen => self.screen,
        }
    }
}

/// What everyone knows about the meeting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingInfo {
    /// Short code that names the meeting in links (8 characters).
    pub code: String,
    /// Title the host gave.
    pub title: String,
    /// The host's display name.
    pub host_name: String,
    /// True when joining needs a passcode.
    pub passcode_required: bool,
    /// When the meeting started, host clock, ms since the Unix epoch (so everyone's meeting
    /// time counts from the same moment). Absent from hosts that did not send it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at_ms: Option<u64>,
    /// The host forwards everyone's media: a guest has one media connection, to the host,
    /// and the host's offers say which m-line carries whose feed. Absent (false): every
    /// participant connects to every other one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forwarding: bool,
    /// The largest file the host lets anyone offer, in bytes. Absent: files are not taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_bytes: Option<u64>,
    /// Only the host and co-hosts may record the meeting (the host's choice). Absent:
    /// anyone may.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_guest_recording: bool,
}

/// What one m-line of a forwarding host's offer carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardedFeed {
    /// The m-line's `a=mid`.
    pub mid: String,
    /// Whose media it is.
    pub from: PeerId,
    /// Which of their feeds.
    pub kind: FeedKind,
}

/// One size of a camera sent in layers (simulcast): the picture as captured, or halved, or
/// quartered in each direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    /// As captured.
    Full,
    /// Half the width and height.
    Half,
    /// A quarter of the width and height.
    Quarter,
}

impl From<videomeet_media::video::Layer> for Layer {
    fn from(layer: videomeet_media::video::Layer) -> Self {
        match layer {
            videomeet_media::video::Layer::Full => Self::Full,
            videomeet_media::video::Layer::Half => Self::Half,
            videomeet_media::video::Layer::Quarter => Self::Quarter,
        }
    }
}

impl From<Layer> for videomeet_media::video::Layer {
    fn from(layer: Layer) -> Self {
        match layer {
            Layer::Full => Self::Full,
            Layer::Half => Self::Half,
            Layer::Quarter => Self::Quarter,
        }
    }
}

/// How large a viewer draws one participant's camera, in pixels; `0x0` when not at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewSize {
    /// Whose camera.
    pub id: PeerId,
    /// Width it is drawn at.
    pub width: u32,
    /// Height it is drawn at.
    pub height: u32,
}

/// One of a participant's three feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedKind {
    /// Their sound.
    Audio,
    /// Their camera.
    Camera,
    /// Their shared screen.
    Screen,
}

/// One participant as the others see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// Id within the meeting.
    pub id: PeerId,
    /// Display name.
    pub name: String,
    /// What they are sending.
    pub media: MediaState,
    /// True for the host.
    pub is_host: bool,
    /// True for a guest in a web browser (the host knows it from the `Origin` its page
    /// sent, which no page can leave out).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub browser: bool,
    /// True for a co-host: the host made them one, and they may moderate with it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cohost: bool,
}

/// WebRTC negotiation between two participants, relayed by the host.
///
/// `sdp` and `candidate` use the browser's shapes, so a browser client can pass them to
/// `RTCPeerConnection` as they are.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Signal {
    /// An SDP offer.
    Offer {
        /// The session description.
        sdp: String,
        /// From a forwarding host only: the m-lines that carry other participants' feeds
        /// (the rest carry the host's own, as in any offer).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        feeds: Vec<ForwardedFeed>,
    },
    /// An SDP answer.
    Answer {
        /// The session description.
        sdp: String,
    },
    /// To a forwarding host: the largest size this client draws each participant's camera
    /// at, so that the host forwards the layer that fits (and nothing for a camera not
    /// drawn). A participant not listed is drawn at full size. Each replaces the last.
    View {
        /// One per participant.
        sizes: Vec<ViewSize>,
    },
    /// From a forwarding host: the layers of its camera this client should send (on its
    /// camera m-line and the two layer m-lines after its audio); none when nobody draws it.
    Layers {
        /// Wanted now.
        camera: Vec<Layer>,
    },
    /// A trickled ICE candidate (`RTCIceCandidateInit`).
    Candidate {
        /// The candidate line, `candidate:...`.
        candidate: String,
        /// Media section id.
        #[serde(rename = "sdpMid", default, skip_serializing_if = "Option::is_none")]
        sdp_mid: Option<String>,
        /// Media section index.
        #[serde(rename = "sdpMLineIndex", default, skip_serializing_if = "Option::is_none")]
        sdp_mline_index: Option<u16>,
    },
}

/// Messages a client sends to the host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// First message: who is joining. Nothing else is accepted before it.
    Hello {
        /// The client's protocol version.
        version: u32,
        /// Display name.
        name: String,
        /// The passcode, when the meeting has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        passcode: Option<String>,
        /// The meeting code from a link; when given it must match.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        /// The host's own secret, which makes this participant the host.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        host_token: Option<String>,
        /// A random token the client keeps while it runs: once the host has denied or
        /// removed it, a hello carrying it is turned away.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        /// Media state at joining.
        #[serde(default)]
        media: MediaState,
        /// Coming back into a meeting that moved to a new host: the ticket the old host's
        /// room gave out with `host_moved`, and the id to keep. Admits without passcode or
        /// waiting.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rejoin: Option<Rejoin>,
    },
    /// Negotiation for one other participant.
    Signal {
        /// The participant it is for.
        to: PeerId,
        /// The offer, answer or candidate.
        signal: Signal,
    },
    /// A reaction (one of [`REACTIONS`]) for everyone to see over our picture.
    React {
        /// Which.
        emoji: String,
    },
    /// A chat message to everyone, or to one participant privately.
    Chat {
        /// The text.
        text: String,
        /// Only for this participant (and back to the sender); everyone when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<PeerId>,
    },
    /// A file offered to everyone, or to one participant (see [`crate::files`]).
    OfferFile {
        /// The sender's number for it, given back in `file_offered` to tell its offers apart.
        token: u64,
        /// Its name (the host and receivers make it safe).
        name: String,
        /// Its size in bytes.
        size: u64,
        /// Only for this participant; everyone when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<PeerId>,
    },
    /// A new display name for the sender, cleaned and told apart from the others' as a
    /// joining guest's is.
    Rename {
        /// The name wanted.
        name: String,
    },
    /// The sender's microphone, camera or screen changed.
    MediaState {
        /// The new state.
        media: MediaState,
    },
    /// Keep-alive; the host answers with `pong`.
    Ping {
        /// Echoed back.
        nonce: u64,
    },
    /// Answer to the host's `ping`.
    Pong {
        /// The host's nonce.
        nonce: u64,
    },
    /// Host or co-host: turn a participant's device off (they cannot be turned on by
    /// anyone but themselves).
    TurnOff {
        /// Whose; everyone but the sender and the host when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<PeerId>,
        /// Which.
        device: MediaDevice,
    },
    /// Host or co-host: ask a participant to turn their microphone or camera on.
    AskToTurnOn {
        /// Whom.
        id: PeerId,
        /// Which (not the screen).
        device: MediaDevice,
    },
    /// Host only: make a participant a co-host, or no longer one.
    MakeCohost {
        /// Whom.
        id: PeerId,
        /// True to make them one.
        cohost: bool,
    },
    /// Host or co-host: remove a participant; nobody from their address gets back in.
    Remove {
        /// Whom.
        id: PeerId,
    },
    /// Host only: everyone removed or turned away so far may ask to join again.
    AllowBack,
    /// Host or co-host: put a participant's raised hand down.
    LowerHand {
        /// Whose.
        id: PeerId,
    },
    /// Host or co-host: lock the meeting (nobody new gets in) or open it again.
    LockMeeting {
        /// True to lock.
        locked: bool,
    },
    /// Host only: make guests wait until the host lets them in (`true`), or let them in at
    /// once again.
    AskToJoin {
        /// True to make them wait.
        required: bool,
    },
    /// Host or co-host: let a waiting guest in.
    Admit {
        /// Which one.
        knock: KnockId,
    },
    /// Host or co-host: turn a waiting guest away; their session stays out.
    Deny {
        /// Which one.
        knock: KnockId,
    },
    /// Host only: whether several participants may share their screens at once (one at a
    /// time by default).
    AllowManySharers {
        /// True to allow several.
        allowed: bool,
    },
    /// Host only: guests may record the meeting, or only the host and co-hosts may.
    AllowGuestRecording {
        /// Guests may record.
        allowed: bool,
    },
    /// Host only: leave, handing the meeting over to participant `to` (a program, not a
    /// browser), who is sent `take_over`.
    HandOver {
        /// Who hosts next.
        to: PeerId,
    },
    /// From the participant sent `take_over`: its own room now listens on `port`, and
    /// everyone is to come over (`host_moved`).
    HostReady {
        /// The port of the new host's room.
        port: u16,
    },
    /// Leaving the meeting on purpose.
    Leave,
}

/// A `hello` coming back into a meeting that moved to a new host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejoin {
    /// The ticket from `host_moved` (or `take_over`).
    pub ticket: String,
    /// The id the participant had, kept in the moved meeting.
    pub id: PeerId,
}

/// What the next host needs to go on with the meeting: sent to it alone in `take_over`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Takeover {
    /// Admits everyone coming over (see [`Rejoin`]).
    pub ticket: String,
    /// The meeting as it is (its code stays, so links keep their code).
    pub meeting: MeetingInfo,
    /// The passcode, when the meeting has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passcode: Option<String>,
    /// Nobody new gets in.
    #[serde(default)]
    pub locked: bool,
    /// Guests wait until let in.
    #[serde(default)]
    pub ask_to_join: bool,
    /// Several may share their screens at once.
    #[serde(default)]
    pub many_sharers: bool,
    /// Everyone in the meeting now, who keep their ids.
    pub ids: Vec<PeerId>,
    /// The co-hosts, who stay co-hosts.
    #[serde(default)]
    pub cohosts: Vec<PeerId>,
    /// The last number given in the meeting's chat: the next host goes on from it, so
    /// messages and files keep one order across the move.
    #[serde(default)]
    pub chat_seq: u64,
}

/// Why the host turned a client away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DenyReason {
    /// Missing or wrong passcode.
    WrongPasscode,
    /// The client speaks another protocol version.
    VersionMismatch,
    /// The link's code names another meeting.
    WrongMeeting,
    /// The meeting has its maximum number of participants.
    MeetingFull,
    /// The first message was not a valid `hello`.
    BadHello,
    /// Too many connections from this address, or in all.
    TooManyConnections,
    /// No `hello` in time.
    HandshakeTimeout,
    /// Too many wrong passcodes from this address lately: wait, then try again.
    TooManyTries,
    /// The host has locked the meeting: nobody new gets in.
    Locked,
    /// The host removed someone from this address; it stays out of this meeting.
    Removed,
    /// The host did not let this guest in (or no longer answers its knock).
    NotAdmitted,
    /// A web page from an origin the host does not trust (another site, or a name that
    /// could point anywhere): refused so that no page a participant opens can join.
    ForbiddenOrigin,
}

/// Why a participant left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaveReason {
    /// They left on purpose.
    Left,
    /// Their connection dropped or went silent.
    ConnectionLost,
    /// They broke the protocol's rules (size, rate, format).
    Misbehaved,
    /// The host removed them.
    Removed,
}

/// Messages the host sends to a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Admitted: your id, the meeting, who is already here.
    Welcome {
        /// The host's protocol version.
        version: u32,
        /// Your id.
        you: PeerId,
        /// The meeting.
        meeting: MeetingInfo,
        /// Everyone already in the meeting (not you).
        peers: Vec<PeerInfo>,
    },
    /// The host asks guests to wait until it lets them in; `welcome` or `denied` follows.
    Waiting {
        /// A sentence for the user.
        message: String,
    },
    /// Host and co-hosts only: a guest asks to join (passcode already checked).
    Knocking {
        /// Answer with `admit` or `deny` naming it.
        knock: KnockId,
        /// The guest's display name.
        name: String,
    },
    /// Host and co-hosts only: a knock needs no answer any more (admitted, denied, gone or
    /// timed out), or not from this co-host, who is no longer one.
    KnockEnded {
        /// Which one.
        knock: KnockId,
    },
    /// Host and co-hosts only: so many wrong passcodes came in that the meeting now slows
    /// guessing as a whole (at most once a minute).
    PasscodeGuessing,
    /// Not admitted; the connection closes after this.
    Denied {
        /// Why.
        reason: DenyReason,
        /// A sentence for the user.
        message: String,
        /// The host's protocol version.
        version: u32,
    },
    /// Someone joined. Newcomers make the offers.
    PeerJoined {
        /// Who.
        peer: PeerInfo,
    },
    /// Someone left.
    PeerLeft {
        /// Who.
        id: PeerId,
        /// Why.
        reason: LeaveReason,
    },
    /// Negotiation from another participant.
    Signal {
        /// Who sent it.
        from: PeerId,
        /// The offer, answer or candidate.
        signal: Signal,
    },
    /// A participant reacted (sent to everyone, the sender too).
    Reaction {
        /// Who.
        from: PeerId,
        /// One of [`REACTIONS`].
        emoji: String,
    },
    /// A chat message, stamped and numbered by the host so everyone sees the same order.
    Chat {
        /// Sender's id.
        from: PeerId,
        /// Sender's name at the time.
        name: String,
        /// The text.
        text: String,
        /// Host's clock, milliseconds since the Unix epoch.
        sent_at_ms: u64,
        /// Position in the meeting's chat, from 1.
        seq: u64,
        /// A private message: the participant it was for (the sender and they alone get
        /// it); absent for a message to everyone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<PeerId>,
    },
    /// A file was offered, numbered among the chat messages (the sender gets it too). A
    /// receiver asks for it by opening a data channel (see [`crate::files`]).
    FileOffered {
        /// The sender's id.
        from: PeerId,
        /// The sender's name at the time.
        name: String,
        /// The sender's number for it (see `offer_file`).
        token: u64,
        /// The file's name, made safe.
        file: String,
        /// Its size in bytes.
        size: u64,
        /// Host's clock, milliseconds since the Unix epoch.
        sent_at_ms: u64,
        /// Its position in the meeting's chat.
        seq: u64,
        /// Offered to this participant alone (the sender and they get it).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<PeerId>,
    },
    /// A participant's name changed (yours too: the name the host gave you).
    Renamed {
        /// Who.
        id: PeerId,
        /// Their name now.
        name: String,
    },
    /// The meeting was locked or unlocked: told to the host and co-hosts (who may change
    /// it) whenever it changes, and to a new co-host at once.
    Locked {
        /// Nobody new may join.
        locked: bool,
    },
    /// A participant became a co-host, or is no longer one.
    Cohost {
        /// Who.
        id: PeerId,
        /// A co-host now.
        cohost: bool,
    },
    /// A host or co-host turned your device off; turn it off at once (and say so in
    /// `media_state`).
    TurnedOff {
        /// Which.
        device: MediaDevice,
        /// Who did.
        by: PeerId,
    },
    /// A host or co-host asks you to turn your microphone or camera on: ask your user.
    AskedToTurnOn {
        /// Which.
        device: MediaDevice,
        /// Who asks.
        by: PeerId,
    },
    /// A participant's media state changed.
    MediaState {
        /// Who.
        id: PeerId,
        /// The new state.
        media: MediaState,
    },
    /// Keep-alive from the host.
    Ping {
        /// Echo it in `pong`.
        nonce: u64,
    },
    /// Answer to a client's `ping`.
    Pong {
        /// The client's nonce.
        nonce: u64,
    },
    /// Your screen share was refused: someone else is sharing and the host allows one sharer
    /// at a time. Your `media_state` was taken with `screen` off.
    ShareRefused {
        /// Who is sharing.
        sharer: PeerId,
        /// Their name.
        name: String,
    },
    /// The host allowed guests to record the meeting, or no longer does (then every guest
    /// recording has stopped).
    GuestRecording {
        /// Guests may record.
        allowed: bool,
    },
    /// Your recording was refused or stopped: the host does not let guests record. Your
    /// `media_state` was taken with `recording` off.
    RecordingRefused {
        /// A sentence for the user.
        message: String,
    },
    /// A message was refused; the connection stays open unless the error says otherwise.
    Error {
        /// A sentence for the developer or user.
        message: String,
    },
    /// The host removed you; the connection closes after this.
    Removed,
    /// The host ended the meeting; the connection closes after this.
    Ended,
    /// The host is leaving and asks you to host the meeting from now on: start a room with
    /// this, then say `host_ready`.
    TakeOver(Box<Takeover>),
    /// The meeting moved to a new host (`to`), whose room listens at `host`:`port`: join it
    /// there with `rejoin` (this ticket, your id). Programs only; a browser guest's page is
    /// served by the host that left.
    HostMoved {
        /// The new host's id.
        to: PeerId,
        /// Its address, as the old host saw it.
        host: String,
        /// Its room's port.
        port: u16,
        /// For `rejoin`.
        ticket: String,
    },
}

impl ServerMessage {
    /// Encodes for the wire.
    pub fn to_json(&self) -> String {
        // Serialising these plain data types cannot fail: no maps with non-string keys,
        // no custom serialisers.
        serde_json::to_string(self).unwrap_or_else(|_| String::from(r#"{"type":"error","message":"internal"}"#))
    }
}

impl ClientMessage {
    /// Encodes for the wire.
    pub fn to_json(&self) -> String {
        // As above: plain data, cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| String::from(r#"{"type":"leave"}"#))
    }
}

#[cfg(test)]
#[path = "protocol_tests.rs"]
mod tests;
