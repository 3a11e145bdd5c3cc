//! What the history holds: the records written during a meeting, and what is read back
//! for the home screen.

use std::path::PathBuf;
use std::time::Duration;

/// A meeting's row in the history.
pub type MeetingId = i64;

/// Milliseconds since the Unix epoch, as every time in the history is kept.
pub fn now_ms() -> i64 {
    i64::try_from(videomeet_net::clock_ms()).unwrap_or(i64::MAX)
}

/// Something that happened in the meeting in progress, to be written at once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// We are in: the meeting's row.
    Started {
        /// The title the host gave.
        title: String,
        /// The host's name.
        host_name: String,
        /// The meeting's code.
        code: String,
        /// `host:port`, to join its address again.
        address: String,
        /// We host it.
        hosted: bool,
        /// When we came in.
        at_ms: i64,
    },
    /// Someone is in the meeting (we too).
    PersonJoined {
        /// Their id in the meeting.
        peer_id: u32,
        /// Their name.
        name: String,
        /// When we saw them come.
        at_ms: i64,
    },
    /// Someone left.
    PersonLeft {
        /// Their id in the meeting.
        peer_id: u32,
        /// When.
        at_ms: i64,
    },
    /// Someone goes by another name now.
    Renamed {
        /// Their id in the meeting.
        peer_id: u32,
        /// The new name.
        name: String,
    },
    /// A chat message.
    Chat(ChatLine),
    /// A file offered in the chat, by us or to us.
    FileOffered {
        /// Its number in the meeting.
        seq: u64,
        /// Who sends it.
        sender_name: String,
        /// Its (cleaned) name.
        name: String,
        /// Its size in bytes.
        size: u64,
        /// Sent or received.
        direction: Direction,
    },
    /// A received file is saved at `path`.
    FileSaved {
        /// Its number in the meeting.
        seq: u64,
        /// Where.
        path: PathBuf,
    },
    /// A file transfer's state now ("sending", "done", "cancelled", ...).
    FileState {
        /// Its number in the meeting.
        seq: u64,
        /// The state, as the transfer names it.
        state: String,
    },
    /// A recording of the meeting started, into `path`.
    RecordingStarted {
        /// The recording's file.
        path: PathBuf,
        /// When.
        at_ms: i64,
    },
    /// The recording into `path` stopped.
    RecordingEnded {
        /// The recording's file.
        path: PathBuf,
        /// When.
        at_ms: i64,
    },
    /// The meeting is over for us; `reason` is an [`videomeet_net::meeting::EndReason`]'s code.
    Ended {
        /// When.
        at_ms: i64,
        /// Why, as a code (`left`, `host_ended`, ...).
        reason: String,
    },
}

/// Whether a file went out or came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// We sent it.
    Sent,
    /// We received it.
    Received,
}

impl Direction {
    /// Its name in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Received => "received",
        }
    }

    /// From its name in the database (anything else is taken as received).
    pub fn from_name(name: &str) -> Self {
        if name == Self::Sent.as_str() {
            Self::Sent
        } else {
            Self::Received
        }
    }
}

/// One meeting in the Recent meetings list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeetingSummary {
    /// Its row.
    pub id: MeetingId,
    /// The title the host gave.
    pub title: String,
    /// The host's name.
    pub host_name: String,
    /// The meeting's code.
    pub code: String,
    /// `host:port`.
    pub address: String,
    /// We hosted it.
    pub hosted: bool,
    /// When we came in, ms since the Unix epoch.
    pub started_at_ms: i64,
    /// When it ended for us; `None` when the program stopped before it could say.
    pub ended_at_ms: Option<i64>,
    /// Why it ended (an end reason's code), when known.
    pub end_reason: Option<String>,
    /// The last moment the program was known to be in it.
    pub last_seen_at_ms: i64,
    /// How many people were there (we too), each name once.
    pub people: usize,
}

/// One entry of a meeting's chat: a message, or a file offered there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Said<'a> {
    /// A message.
    Message(&'a ChatLine),
    /// A file offered.
    File(&'a FileLine),
}

impl MeetingDetails {
    /// The chat as it went: messages and files offered, in the host's order.
    pub fn conversation(&self) -> Vec<Said<'_>> {
        let mut said: Vec<(u64, Said<'_>)> = self.chat.iter().map(|line| (line.seq, Said::Message(line))).collect();
        said.extend(self.files.iter().map(|file| (file.seq, Said::File(file))));
        said.sort_by_key(|(seq, _)| *seq);
        said.into_iter().map(|(_, said)| said).collect()
    }
}

impl MeetingSummary {
    /// How long we were in it: to its end, or to when it was last seen.
    pub fn duration(&self) -> Duration {
        let end = self.ended_at_ms.unwrap_or(self.last_seen_at_ms);
        Duration::from_millis(u64::try_from(end.saturating_sub(self.started_at_ms)).unwrap_or(0))
    }
}

/// Everything kept about one meeting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeetingDetails {
    /// As the list shows it.
    pub summary: MeetingSummary,
    /// Who was there, in the order they came.
    pub people: Vec<PersonLine>,
    /// The chat, in order.
    pub chat: Vec<ChatLine>,
    /// Files offered, in order.
    pub files: Vec<FileLine>,
    /// Recordings made.
    pub recordings: Vec<RecordingLine>,
}

/// Someone's time in a meeting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonLine {
    /// Their (last) name.
    pub name: String,
    /// When we saw them come.
    pub joined_at_ms: i64,
    /// When they left; `None` if we never saw it.
    pub left_at_ms: Option<i64>,
}

/// One chat message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatLine {
    /// Its number in the meeting, from 1.
    pub seq: u64,
    /// The sender's id in the meeting.
    pub from_id: u32,
    /// The sender's name.
    pub sender_name: String,
    /// The text.
    pub text: String,
    /// The host's clock when it was sent.
    pub sent_at_ms: i64,
    /// A private message: the name of whom it was for.
    pub private_to: Option<String>,
}

/// One file offered in a meeting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileLine {
    /// Its number in the meeting's chat, shared with the messages.
    pub seq: u64,
    /// Who sent it.
    pub sender_name: String,
    /// Its name.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Sent or received.
    pub direction: Direction,
    /// Where it was saved, if it was.
    pub saved_path: Option<PathBuf>,
    /// The transfer's last state.
    pub state: String,
}

/// One recording made in a meeting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordingLine {
    /// Its file.
    pub path: PathBuf,
    /// When it started.
    pub started_at_ms: i64,
    /// When it stopped, if it did.
    pub ended_at_ms: Option<i64>,
}
