//! What a participant knows of the meeting, folded from its events: the one picture of the
//! meeting that the window, the headless command line, the tests and the benchmarks keep.

use std::collections::BTreeMap;
use std::sync::Arc;

use videomeet_media::audio::AudioLevels;
use videomeet_media::slot::VideoSlot;

use crate::peer::VideoFeed;
use crate::protocol::{KnockId, LeaveReason, MediaState, MeetingInfo, PeerId, PeerInfo};

use super::{EndReason, Event, FileOffer, Outcome, PeerStats, Problem, Progress, WebPage};

/// Another participant, as far as we know.
#[derive(Clone)]
pub struct Person {
    /// Name, media state, host flag.
    pub info: PeerInfo,
    /// Their decoded camera video, once it arrives.
    pub camera: Option<Arc<VideoSlot>>,
    /// Their decoded screen, once it arrives (shown while they share).
    pub screen: Option<Arc<VideoSlot>>,
    /// The latest figures about them.
    pub stats: Option<PeerStats>,
    /// The safety code of our connection with them, once it is up.
    pub safety_code: Option<String>,
    /// Their media connection broke and is being restored.
    pub reconnecting: bool,
}

impl Person {
    fn new(info: PeerInfo) -> Self {
        Self {
            info,
            camera: None,
            screen: None,
            stats: None,
            safety_code: None,
            reconnecting: false,
        }
    }

    /// Their decoded video of `feed`, once it arrives.
    pub fn video(&self, feed: VideoFeed) -> Option<&Arc<VideoSlot>> {
        match feed {
            VideoFeed::Camera => self.camera.as_ref(),
            VideoFeed::Screen => self.screen.as_ref(),
        }
    }
}

/// One chat message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatMessage {
    /// Sender id.
    pub from: PeerId,
    /// Sender name.
    pub name: String,
    /// Text.
    pub text: String,
    /// Host clock, ms since the Unix epoch.
    pub sent_at_ms: u64,
    /// Its position in the meeting's chat, the host's number (a file's is its offer's).
    pub seq: u64,
    /// A private message: whom it was for (us, or the one we wrote to).
    pub to: Option<PeerId>,
    /// An offer of a file (its number in [`MeetingView::files`]); `text` is its name.
    pub file: Option<u64>,
}

/// A file offered in the meeting, and how its transfers go.
#[derive(Clone, Debug, PartialEq)]
pub struct SharedFile {
    /// The offer.
    pub offer: FileOffer,
    /// Each transfer of it, by the other side and whether we send.
    pub transfers: BTreeMap<(PeerId, bool), Transfer>,
}

/// One transfer of a file, as far as it has gone.
#[derive(Clone, Debug, PartialEq)]
pub struct Transfer {
    /// Bytes moved, total, speed.
    pub progress: Progress,
    /// How it ended, once it has.
    pub outcome: Option<Outcome>,
}

/// The meeting as its events told it so far. [`MeetingView::apply`] takes each event in.
#[derive(Clone, Default)]
pub struct MeetingView {
    /// Our id, once we are in.
    pub you: Option<PeerId>,
    /// The meeting, once we are in.
    pub meeting: Option<MeetingInfo>,
    /// The link others can join with, once we are in.
    pub link: Option<String>,
    /// Hosting: the page browsers join from.
    pub web_page: Option<WebPage>,
    /// Our own captured picture.
    pub local_video: Option<Arc<VideoSlot>>,
    /// How loud our microphone and each participant are.
    pub audio_levels: Option<Arc<AudioLevels>>,
    /// Our microphone, camera and screen, as the meeting last said.
    pub media: Option<MediaState>,
    /// Our name as the host last gave it, once we renamed ourselves.
    pub name: Option<String>,
    /// We are a co-host: we may moderate.
    pub cohost: bool,
    /// Hosting or a co-host: the meeting is locked, as the host last said.
    pub locked: bool,
    /// Everyone else in the meeting.
    pub people: BTreeMap<PeerId, Person>,
    /// Who left, and why, in order.
    pub left: Vec<(PeerId, LeaveReason)>,
    /// What we share, if anything.
    pub sharing: Option<String>,
    /// Hosting: guests waiting to be let in.
    pub knocks: BTreeMap<KnockId, String>,
    /// Every chat message, in order.
    pub chat: Vec<ChatMessage>,
    /// Every file offered, by number.
    pub files: BTreeMap<u64, SharedFile>,
    /// Every problem reported, in order.
    pub problems: Vec<Problem>,
    /// The host's words while we wait to be let in; `None` once in.
    pub waiting: Option<String>,
    /// Why the meeting is over, once it is.
    pub ended: Option<EndReason>,
    /// The file we record into, while we do.
    pub recording: Option<std::path::PathBuf>,
    /// Our recordings that ended, in order.
    pub recordings: Vec<videomeet_media::record::Finished>,
}

impl MeetingView {
    /// Who hosts next when the host leaves and hands the meeting over: the co-host who came
    /// first, else the program that came first (a browser guest's page is served by the host
    /// that leaves, so it cannot host).
    pub fn next_host(&self) -> Option<PeerId> {
        let programs = || {
            self.people
                .values()
                .map(|person| &person.info)
                .filter(|info| Some(info.id) != self.you && !info.browser)
        };
        let cohost = programs().filter(|info| info.cohost).map(|info| info.id).min();
        cohost.or_else(|| programs().map(|info| info.id).min())
    }

    /// Takes in one event.
    pub fn apply(&mut self, event: &Event) {
        match event {
            Event::Waiting(message) => self.waiting = Some(message.clone()),
            Event::Joined {
                you,
                meeting,
                link,
                web_page,
                local_video,
                audio_levels,
            } => {
                self.waiting = None;
                self.you = Some(*you);
                self.meeting = Some(meeting.clone());
                self.link = Some(link.clone());
                self.web_page = web_page.clone();
                self.local_video = Some(Arc::clone(local_video));
                self.audio_levels = Some(Arc::clone(audio_levels));
            }
            Event::HostChanged {
                host,
                meeting,
                link,
                web_page,
                ..
            } => {
                self.meeting = Some(meeting.clone());
                self.link = Some(link.clone());
                self.web_page = web_page.clone();
                for (id, person) in &mut self.people {
                    person.info.is_host = id == host;
                }
            }
            Event::PeerJoined(info) if Some(info.id) == self.you => self.media = Some(info.media),
            Event::PeerJoined(info) => match self.people.get_mut(&info.id) {
                Some(person) => person.info = info.clone(),
                None => drop(self.people.insert(info.id, Person::new(info.clone()))),
            },
            Event::PeerLeft { id, reason } => {
                self.people.remove(id);
                self.left.push((*id, *reason));
            }
            Event::Video { id, feed, slot } => {
                if let Some(person) = self.people.get_mut(id) {
                    let video = match feed {
                        VideoFeed::Camera => &mut person.camera,
                        VideoFeed::Screen => &mut person.screen,
                    };
                    *video = Some(Arc::clone(slot));
                }
            }
            Event::Sharing(name) => self.sharing.clone_from(name),
            Event::SafetyCode { id, code } => {
                if let Some(person) = self.people.get_mut(id) {
                    person.safety_code = Some(code.clone());
                }
            }
            Event::Chat {
                from,
                name,
                text,
                sent_at_ms,
                seq,
                to,
            } => self.chat.push(ChatMessage {
                from: *from,
                name: name.clone(),
                text: text.clone(),
                sent_at_ms: *sent_at_ms,
                seq: *seq,
                to: *to,
                file: None,
            }),
            Event::FileOffered(offer) => {
                self.chat.push(ChatMessage {
                    from: offer.from,
                    name: offer.sender.clone(),
                    text: offer.name.clone(),
                    sent_at_ms: offer.sent_at_ms,
                    seq: offer.seq,
                    to: offer.to,
                    file: Some(offer.seq),
                });
                let offer = offer.clone();
                let transfers = BTreeMap::new();
                self.files.insert(offer.seq, SharedFile { offer, transfers });
            }
            Event::FileProgress {
                seq,
                peer,
                sending,
                progress,
            } => {
                if let Some(file) = self.files.get_mut(seq) {
                    let transfer = Transfer {
                        progress: *progress,
                        outcome: None,
                    };
                    file.transfers.insert((*peer, *sending), transfer);
                }
            }
            Event::FileEnded {
                seq,
                peer,
                sending,
                outcome,
            } => {
                if let Some(file) = self.files.get_mut(seq) {
                    let size = file.offer.size;
                    let transfer = file.transfers.entry((*peer, *sending)).or_insert(Transfer {
                        progress: Progress {
                            bytes: 0,
                            total: size,
                            bytes_per_second: 0.0,
                        },
                        outcome: None,
                    });
                    transfer.outcome = Some(outcome.clone());
                }
            }
            Event::Renamed { id, name } => self.rename(*id, name),
            Event::Cohost { id, cohost } if Some(*id) == self.you => self.cohost = *cohost,
            Event::Locked(locked) => self.locked = *locked,
            Event::RecordingStarted { path } => self.recording = Some(path.clone()),
            Event::RecordingEnded(finished) => {
                self.recording = None;
                self.recordings.push(finished.clone());
            }
            Event::GuestRecording(allowed) => {
                if let Some(meeting) = &mut self.meeting {
                    meeting.no_guest_recording = !allowed;
                }
            }
            Event::Cohost { id, cohost } => {
                if let Some(person) = self.people.get_mut(id) {
                    person.info.cohost = *cohost;
                }
            }
            Event::MediaState { id, media } if Some(*id) == self.you => self.media = Some(*media),
            Event::MediaState { id, media } => {
                if let Some(person) = self.people.get_mut(id) {
                    person.info.media = *media;
                }
            }
            // Passing: the window shows it a moment, or asks its user; nothing to keep.
            Event::Connection { .. }
            | Event::Reaction { .. }
            | Event::TurnedOff { .. }
            | Event::AskedToTurnOn { .. } => {}
            Event::Stats(all) => {
                for stats in all {
                    if let Some(person) = self.people.get_mut(&stats.id) {
                        person.stats = Some(stats.clone());
                    }
                }
            }
            Event::Reconnecting { id, reconnecting } => {
                if let Some(person) = self.people.get_mut(id) {
                    person.reconnecting = *reconnecting;
                }
            }
            Event::Knocking { knock, name } => drop(self.knocks.insert(*knock, name.clone())),
            Event::KnockEnded(knock) => drop(self.knocks.remove(knock)),
            Event::Problem(problem) => self.problems.push(problem.clone()),
            Event::Ended(reason) => {
                self.waiting = None;
                self.people.clear();
                self.knocks.clear();
                self.ended.get_or_insert_with(|| reason.clone());
            }
        }
    }

    /// `id` goes by `name` now; when `id` hosts, so does the meeting's host.
    fn rename(&mut self, id: PeerId, name: &str) {
        if Some(id) == self.you {
            self.name = Some(name.to_owned());
        }
        let Some(person) = self.people.get_mut(&id) else {
            return;
        };
        person.info.name = name.to_owned();
        if person.info.is_host
            && let Some(meeting) = &mut self.meeting
        {
            meeting.host_name = name.to_owned();
        }
    }

    /// `id`'s decoded video of `feed`, once it arrives.
    pub fn video(&self, id: PeerId, feed: VideoFeed) -> Option<&Arc<VideoSlot>> {
        self.people.get(&id).and_then(|person| person.video(feed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: PeerId, name: &str) -> PeerInfo {
        PeerInfo {
            id,
            name: name.into(),
            media: MediaState::default(),
            is_host: false,
            browser: false,
            cohost: false,
        }
    }

    #[test]
    fn people_come_and_go_with_their_video_state_and_figures() {
        let mut view = MeetingView::default();
        view.apply(&Event::PeerJoined(info(2, "Grace")));
        let slot = Arc::new(VideoSlot::default());
        view.apply(&Event::Video {
            id: 2,
            feed: VideoFeed::Screen,
            slot: Arc::clone(&slot),
        });
        let media = MediaState {
            mic: true,
            camera: false,
            screen: true,
            hand: None,
            camera_size: None,
            recording: false,
        };
        view.apply(&Event::MediaState { id: 2, media });
        view.apply(&Event::Reconnecting {
            id: 2,
            reconnecting: true,
        });
        let person = &view.people[&2];
        assert!(Arc::ptr_eq(person.screen.as_ref().unwrap(), &slot));
        assert!(person.camera.is_none() && person.reconnecting);
        assert_eq!(person.info.media, media);
        view.apply(&Event::PeerLeft {
            id: 2,
            reason: LeaveReason::ConnectionLost,
        });
        assert!(view.people.is_empty());
        assert_eq!(view.left, vec![(2, LeaveReason::ConnectionLost)]);
        // Video of someone who already left is not kept.
        view.apply(&Event::Video {
            id: 2,
            feed: VideoFeed::Camera,
            slot,
        });
        assert!(view.video(2, VideoFeed::Camera).is_none());
    }

    #[test]
    fn the_first_end_is_the_one_kept() {
        let mut view = MeetingView::default();
        view.apply(&Event::Waiting("Wait, please".into()));
        assert_eq!(view.waiting.as_deref(), Some("Wait, please"));
        view.apply(&Event::Ended(EndReason::Removed));
        view.apply(&Event::Ended(EndReason::Left));
        assert!(matches!(view.ended, Some(EndReason::Removed)));
        assert!(view.waiting.is_none());
    }

    #[test]
    fn names_and_co_hosts_follow_the_meeting() {
        let mut view = MeetingView {
            you: Some(1),
            ..MeetingView::default()
        };
        view.apply(&Event::PeerJoined(info(2, "Grace")));
        view.apply(&Event::Renamed {
            id: 2,
            name: "Grace H".into(),
        });
        view.apply(&Event::Renamed {
            id: 1,
            name: "Ada (2)".into(),
        });
        view.apply(&Event::Cohost { id: 2, cohost: true });
        view.apply(&Event::Cohost { id: 1, cohost: true });
        assert_eq!(view.people[&2].info.name, "Grace H");
        assert!(view.people[&2].info.cohost);
        assert_eq!(view.name.as_deref(), Some("Ada (2)"));
        assert!(view.cohost);
        view.apply(&Event::Cohost { id: 1, cohost: false });
        assert!(!view.cohost);
    }
}
