//! Turns a meeting's events into history records, as they come: the meeting when we are
//! in, people as they come, go and change names, the chat in order, and the end.

use std::collections::HashMap;
use std::path::PathBuf;

use videomeet_net::JoinTarget;
use videomeet_net::meeting::{EndReason, Event, Outcome};
use videomeet_net::protocol::PeerId;

use super::records::{ChatLine, Direction, Record, now_ms};
use super::{History, Session};

/// Records one meeting. Feed it every event the meeting reports, in order; records before
/// we are in (a meeting that never started) are left out.
pub struct Recorder {
    history: History,
    session: Session,
    my_name: String,
    hosting: bool,
    /// Our id, once we are in.
    you: Option<PeerId>,
    /// The name of everyone in the meeting now, us too.
    names: HashMap<PeerId, String>,
    ended: bool,
}

impl Recorder {
    /// A recorder for the meeting we join or host (`hosting`) as `my_name`.
    pub fn new(history: &History, my_name: &str, hosting: bool) -> Self {
        Self {
            history: history.clone(),
            session: history.new_session(),
            my_name: my_name.to_owned(),
            hosting,
            you: None,
            names: HashMap::new(),
            ended: false,
        }
    }

    fn write(&self, record: Record) {
        if self.you.is_some() && !self.ended {
            self.history.send(super::worker::Request::Record {
                session: self.session,
                record,
            });
        }
    }

    /// Takes in one event of the meeting.
    pub fn on_event(&mut self, event: &Event) {
        let joining = matches!(event, Event::Joined { .. });
        if self.ended || (self.you.is_none() && !joining) {
            return;
        }
        match event {
            Event::Joined { you, meeting, link, .. } if self.you.is_none() => {
                self.you = Some(*you);
                let at_ms = now_ms();
                // The link names the address others joined at; our own is the best we know.
                let address = JoinTarget::parse(link).map_or_else(|_| link.clone(), |target| target.authority());
                self.write(Record::Started {
                    title: meeting.title.clone(),
                    host_name: meeting.host_name.clone(),
                    code: meeting.code.clone(),
                    address,
                    hosted: self.hosting,
                    at_ms,
                });
                let name = self.my_name.clone();
                self.came(*you, &name, at_ms);
            }
            Event::PeerJoined(info) => match self.names.get(&info.id) {
                Some(name) if *name != info.name => self.renamed(info.id, &info.name),
                Some(_) => {}
                None => self.came(info.id, &info.name, now_ms()),
            },
            Event::PeerLeft { id, .. } => self.left(*id),
            Event::Renamed { id, name } => self.renamed(*id, name),
            Event::Chat {
                from,
                name,
                text,
                sent_at_ms,
                seq,
                to,
            } => {
                let private_to = to.map(|id| self.name_of(id));
                self.write(Record::Chat(ChatLine {
                    seq: *seq,
                    from_id: *from,
                    sender_name: name.clone(),
                    text: text.clone(),
                    sent_at_ms: i64::try_from(*sent_at_ms).unwrap_or(i64::MAX),
                    private_to,
                }));
            }
            Event::FileOffered(offer) => {
                let sent = Some(offer.from) == self.you;
                self.file_offered(offer.seq, &offer.sender, &offer.name, offer.size, sent);
            }
            Event::FileEnded { seq, outcome, .. } => match outcome {
                Outcome::Saved(path) => self.file_saved(*seq, path.clone()),
                Outcome::Delivered => self.file_state(*seq, "delivered"),
                Outcome::Cancelled { .. } => self.file_state(*seq, "cancelled"),
                Outcome::Failed(_) => self.file_state(*seq, "failed"),
            },
            Event::RecordingStarted { path } => self.recording_started(path.clone()),
            Event::RecordingEnded(finished) => self.recording_ended(finished.path.clone()),
            Event::Ended(reason) => self.end(reason),
            _ => {}
        }
    }

    fn came(&mut self, peer_id: PeerId, name: &str, at_ms: i64) {
        self.names.insert(peer_id, name.to_owned());
        self.write(Record::PersonJoined {
            peer_id,
            name: name.to_owned(),
            at_ms,
        });
    }

    fn left(&mut self, peer_id: PeerId) {
        if self.names.remove(&peer_id).is_some() {
            self.write(Record::PersonLeft {
                peer_id,
                at_ms: now_ms(),
            });
        }
    }

    fn renamed(&mut self, peer_id: PeerId, name: &str) {
        if let Some(known) = self.names.get_mut(&peer_id) {
            name.clone_into(known);
            self.write(Record::Renamed {
                peer_id,
                name: name.to_owned(),
            });
        }
    }

    fn end(&mut self, reason: &EndReason) {
        self.write(Record::Ended {
            at_ms: now_ms(),
            reason: reason.code().to_owned(),
        });
        self.ended = true;
    }

    /// The name of participant `id`, as far as we know it.
    fn name_of(&self, id: PeerId) -> String {
        self.names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("participant {id}"))
    }

    /// A file was offered in the chat: numbered `seq` in this meeting, by `sender_name`;
    /// `sent` when we sent it.
    pub fn file_offered(&mut self, seq: u64, sender_name: &str, name: &str, size: u64, sent: bool) {
        self.write(Record::FileOffered {
            seq,
            sender_name: sender_name.to_owned(),
            name: name.to_owned(),
            size,
            direction: if sent { Direction::Sent } else { Direction::Received },
        });
    }

    /// File `seq` was saved at `path`.
    pub fn file_saved(&mut self, seq: u64, path: PathBuf) {
        self.write(Record::FileSaved { seq, path });
    }

    /// File `seq`'s transfer is now in `state` ("done", "cancelled", ...).
    pub fn file_state(&mut self, seq: u64, state: &str) {
        self.write(Record::FileState {
            seq,
            state: state.to_owned(),
        });
    }

    /// We started recording the meeting into `path`.
    pub fn recording_started(&mut self, path: PathBuf) {
        self.write(Record::RecordingStarted { path, at_ms: now_ms() });
    }

    /// The recording into `path` stopped.
    pub fn recording_ended(&mut self, path: PathBuf) {
        self.write(Record::RecordingEnded { path, at_ms: now_ms() });
    }
}

impl Drop for Recorder {
    /// A meeting left without its end reported (the window closed during it) ended now.
    fn drop(&mut self) {
        if !self.ended {
            self.end(&EndReason::Left);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use videomeet_media::audio::AudioLevels;
    use videomeet_net::protocol::{LeaveReason, MediaState, MeetingInfo, PeerInfo};

    use super::*;
    use crate::history::testing::temp_folder;
    use crate::history::{MeetingDetails, MeetingSummary};

    const WAIT: Duration = Duration::from_secs(5);

    fn joined(you: PeerId) -> Event {
        Event::Joined {
            you,
            meeting: MeetingInfo {
                code: "K7QX3MZP".into(),
                title: "Standup".into(),
                host_name: "Grace".into(),
                passcode_required: false,
                started_at_ms: None,
                forwarding: false,
                max_file_bytes: None,
                no_guest_recording: false,
            },
            link: "videomeet://192.168.1.20:47800/K7QX3MZP".into(),
            web_page: None,
            local_video: Arc::default(),
            audio_levels: Arc::new(AudioLevels::default()),
        }
    }

    fn peer(id: PeerId, name: &str) -> Event {
        Event::PeerJoined(PeerInfo {
            id,
            name: name.into(),
            media: MediaState::default(),
            is_host: id == 1,
            browser: false,
            cohost: false,
        })
    }

    /// Message `seq` of the meeting's chat.
    fn chat(seq: u64, from: PeerId, name: &str, text: &str, to: Option<PeerId>) -> Event {
        Event::Chat {
            from,
            name: name.into(),
            text: text.into(),
            sent_at_ms: 1_741_010_700_000,
            seq,
            to,
        }
    }

    fn recent(history: &History) -> Vec<MeetingSummary> {
        history.recent(10).wait(WAIT).expect("the list")
    }

    fn details(history: &History, summary: &MeetingSummary) -> MeetingDetails {
        history
            .details(summary.id)
            .wait(WAIT)
            .expect("the details")
            .expect("the meeting is there")
    }

    /// Ada joins Grace's meeting, where Alan is: people come, go and rename, the chat keeps
    /// the host's numbers (a file offered among the messages has one too) and marks the
    /// private message, and the end says why.
    #[test]
    fn a_meeting_is_recorded_from_its_events() {
        let history = History::open(temp_folder("recorder").join("history.sqlite3")).expect("history");
        let mut recorder = Recorder::new(&history, "Ada", false);
        // Nothing before we are in.
        recorder.on_event(&chat(1, 1, "Grace", "too early", None));
        for event in [
            joined(2),
            peer(1, "Grace"),
            peer(3, "Alan"),
            chat(1, 1, "Grace", "hello", None),
            chat(2, 2, "Ada", "hi all", None),
            // A file offered between these two is number 3.
            chat(4, 3, "Alan", "psst", Some(2)),
            Event::Renamed {
                id: 3,
                name: "Alan Turing".into(),
            },
            peer(3, "Alan Turing"),
            Event::PeerLeft {
                id: 3,
                reason: LeaveReason::Left,
            },
            chat(5, 2, "Ada", "bye Grace", Some(1)),
            Event::Ended(EndReason::HostEnded),
            chat(6, 1, "Grace", "too late", None),
        ] {
            recorder.on_event(&event);
        }
        drop(recorder);

        let list = recent(&history);
        assert_eq!(list.len(), 1, "{list:?}");
        let meeting = &list[0];
        assert_eq!(
            (
                meeting.title.as_str(),
                meeting.host_name.as_str(),
                meeting.code.as_str()
            ),
            ("Standup", "Grace", "K7QX3MZP")
        );
        assert_eq!(meeting.address, "192.168.1.20:47800");
        assert!(!meeting.hosted);
        assert_eq!(meeting.people, 3);
        assert_eq!(meeting.end_reason.as_deref(), Some("host_ended"));
        assert!(meeting.ended_at_ms.is_some());

        let details = details(&history, meeting);
        let people: Vec<(&str, bool)> = details
            .people
            .iter()
            .map(|person| (person.name.as_str(), person.left_at_ms.is_some()))
            .collect();
        assert_eq!(people, [("Ada", true), ("Grace", true), ("Alan Turing", true)]);
        let chat: Vec<(u64, &str, &str, Option<&str>)> = details
            .chat
            .iter()
            .map(|line| {
                (
                    line.seq,
                    line.sender_name.as_str(),
                    line.text.as_str(),
                    line.private_to.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            chat,
            [
                (1, "Grace", "hello", None),
                (2, "Ada", "hi all", None),
                (4, "Alan", "psst", Some("Ada")),
                (5, "Ada", "bye Grace", Some("Grace")),
            ]
        );
    }

    /// A meeting still going is marked so every few seconds: a program killed in it leaves
    /// about when it ended.
    #[test]
    fn a_meeting_in_progress_is_marked_as_still_going() {
        let history = History::open(temp_folder("recorder-heartbeat").join("history.sqlite3")).expect("history");
        let mut recorder = Recorder::new(&history, "Ada", false);
        recorder.on_event(&joined(2));
        let deadline = std::time::Instant::now() + 3 * crate::history::worker::HEARTBEAT;
        loop {
            let meeting = recent(&history).remove(0);
            if meeting.last_seen_at_ms > meeting.started_at_ms {
                assert_eq!(meeting.ended_at_ms, None);
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never marked as going on: {meeting:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    #[test]
    fn files_and_recordings_are_recorded() {
        let history = History::open(temp_folder("recorder-files").join("history.sqlite3")).expect("history");
        let mut recorder = Recorder::new(&history, "Grace", true);
        recorder.on_event(&joined(1));
        recorder.file_offered(1, "Ada", "slides.pdf", 2_000_000, false);
        recorder.file_offered(2, "Grace", "notes.txt", 300, true);
        recorder.file_saved(1, PathBuf::from("/home/grace/Downloads/slides.pdf"));
        recorder.file_state(1, "done");
        recorder.file_state(2, "cancelled");
        recorder.recording_started(PathBuf::from("/home/grace/Videos/standup.mp4"));
        recorder.recording_ended(PathBuf::from("/home/grace/Videos/standup.mp4"));
        // The window closes during the meeting: it ended then, as left.
        drop(recorder);

        let list = recent(&history);
        assert!(list[0].hosted);
        assert_eq!(list[0].end_reason.as_deref(), Some("left"));
        let details = details(&history, &list[0]);
        let files: Vec<_> = details
            .files
            .iter()
            .map(|file| {
                (
                    file.name.as_str(),
                    file.size,
                    file.direction,
                    file.saved_path.as_deref().map(|p| p.to_string_lossy().into_owned()),
                    file.state.as_str(),
                )
            })
            .collect();
        assert_eq!(
            files,
            [
                (
                    "slides.pdf",
                    2_000_000,
                    Direction::Received,
                    Some("/home/grace/Downloads/slides.pdf".to_owned()),
                    "done"
                ),
                ("notes.txt", 300, Direction::Sent, None, "cancelled"),
            ]
        );
        assert_eq!(details.recordings.len(), 1);
        assert!(details.recordings[0].ended_at_ms.is_some());
    }

    #[test]
    fn meetings_list_newest_first_and_can_be_deleted_or_cleared() {
        let history = History::open(temp_folder("recorder-delete").join("history.sqlite3")).expect("history");
        for (you, title) in [(2, "First"), (3, "Second"), (4, "Third")] {
            let mut recorder = Recorder::new(&history, "Ada", false);
            let mut event = joined(you);
            if let Event::Joined { meeting, .. } = &mut event {
                meeting.title = title.into();
            }
            recorder.on_event(&event);
            recorder.on_event(&chat(1, you, "Ada", "hello", None));
        }
        let titles = |history: &History| -> Vec<String> { recent(history).into_iter().map(|m| m.title).collect() };
        assert_eq!(titles(&history), ["Third", "Second", "First"]);

        let second = recent(&history)[1].clone();
        history.delete(second.id);
        assert_eq!(titles(&history), ["Third", "First"]);
        assert_eq!(
            history.details(second.id).wait(WAIT),
            Ok(None),
            "its details are gone too"
        );

        history.clear();
        assert!(titles(&history).is_empty());
    }
}
