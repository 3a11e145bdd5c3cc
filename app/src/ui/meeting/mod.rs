//! The meeting screen: the video grid, the control bar, chat, participants, statistics.
//!
//! It holds what the meeting actor reported and sends it commands; it never waits for the
//! network or a device. Everything it knows comes through [`Event`]s, so tests drive it with
//! a channel instead of a meeting.

mod chat;
mod confirm;
mod controls;
mod files;
mod moderated;
mod people;
mod quality;
mod recording;
mod rename;
mod share;
mod tiles;
mod tray;
mod waiting;

use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui;
use tokio::sync::mpsc;
use videomeet_media::audio::Cue;
use videomeet_media::{DeviceList, MicrophoneChoice, SpeakerChoice, VideoChoice};
use videomeet_net::meeting::{Command, EndReason, Event, MeetingHandle, MeetingView};
use videomeet_net::protocol::{LeaveReason, MediaDevice, MediaState, PeerId, ViewSize};

use super::notify::Notice;
use super::settings::Settings;

/// One line of news on screen.
struct News {
    text: String,
    /// A problem (drawn in the warning colour), not just news.
    warning: bool,
    at: Instant,
}

/// Lines of news shown at most; the oldest give way.
const NEWS_SHOWN: usize = 4;

/// How long a reaction stays over the sender's picture.
const REACTION_LIFETIME: Duration = Duration::from_secs(4);

/// How long a problem stays on screen.
const PROBLEM_LIFETIME: Duration = Duration::from_secs(8);
use videomeet_media::audio::level::{SPEAKER_HOLD, SPEAKING_LEVEL};

/// How often our own picture is redrawn when nothing else redraws the screen (30 fps).
const SELF_VIEW_INTERVAL: Duration = Duration::from_millis(33);

/// Where the screen reads the time: the real clock, or one a test sets.
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// A tile: ours or another participant's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKey {
    /// Our own picture.
    Me,
    /// Someone else's camera.
    Peer(PeerId),
    /// Someone else's shared screen.
    Screen(PeerId),
}

/// How the tiles are arranged when no tile is pinned and no screen is shared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ViewMode {
    /// Everyone alike, in pages when not everyone fits.
    #[default]
    Gallery,
    /// The latest speaker large, the others in a strip.
    Speaker,
}

/// The side panel on the right, if open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    /// Chat.
    Chat,
    /// Participants.
    People,
}

/// Our own devices, for switching during the meeting.
pub struct DeviceChoices {
    /// Everything there is.
    pub list: DeviceList,
    /// In use now.
    pub camera: Option<VideoChoice>,
    /// In use now.
    pub microphone: Option<MicrophoneChoice>,
    /// In use now.
    pub speaker: Option<SpeakerChoice>,
}

/// Who we are in the meeting, before the host has told us anything.
pub struct Myself {
    /// Our name.
    pub name: String,
    /// The meeting's title as far as we know it.
    pub title: String,
    /// We host it.
    pub hosting: bool,
    /// Hosting: guests wait until we let them in.
    pub ask_to_join: bool,
    /// Hosting: the passcode guests must give, if any.
    pub passcode: Option<String>,
    /// Hosting: the meeting is announced on the network.
    pub announced: bool,
    /// Microphone and camera at the start.
    pub media: MediaState,
}

/// The meeting screen's state.
pub struct MeetingScreen {
    handle: MeetingHandle,
    events: mpsc::Receiver<Event>,
    /// The meeting as its events told it.
    view: MeetingView,
    /// The meeting's title until the host tells us.
    pub title: String,
    my_name: String,
    hosting: bool,
    /// Hosting: the passcode, to tell guests again.
    passcode: Option<String>,
    /// Hosting: announced on the network.
    announced: bool,
    my_media: MediaState,
    unread: usize,
    panel: Option<Panel>,
    show_stats: bool,
    show_info: bool,
    /// The guest page's link as a code for phones, in Meeting info.
    page_code: crate::ui::qr::QrTexture,
    show_devices: bool,
    /// The list of keyboard shortcuts is open.
    show_shortcuts: bool,
    /// Our own tile is taken away from the tiles (on this screen only).
    self_view_hidden: bool,
    pinned: Option<TileKey>,
    /// Gallery or speaker view, as chosen: kept for the rest of the meeting.
    view_mode: ViewMode,
    /// The gallery page shown, from 0.
    page: usize,
    /// The latest speaker from another gallery page: shown on this one (in an empty place,
    /// or in the last) until the page changes, even after they stop speaking, so that a
    /// conversation across pages does not swap tiles back and forth.
    page_guest: Option<TileKey>,
    /// Who spoke, the latest first, each once: speaker view shows the latest other than us
    /// large, and its strip shows these before the others.
    speakers: Vec<TileKey>,
    /// How large we last told the meeting we draw each camera, and when.
    view_sent: Option<(Vec<ViewSize>, Instant)>,
    active: Option<(TileKey, Instant)>,
    /// What happened lately, shown for a few seconds: who left, and problems.
    news: Vec<News>,
    draft: String,
    /// Whom the next chat message goes to, privately; everyone when `None`.
    chat_to: Option<PeerId>,
    /// The chat was just opened: its message field takes the keyboard.
    focus_chat: bool,
    /// A host or co-host asked us to turn this on, and we have not answered.
    asked: Option<(MediaDevice, PeerId)>,
    /// The rename dialog is open, with the name being typed.
    renaming: Option<String>,
    /// The rename dialog just opened: its field takes the keyboard.
    focus_rename: bool,
    /// Sounds for what happened since the last frame, played if the settings allow.
    cues: Vec<Cue>,
    /// Reactions on show, by whom, and since when.
    reactions: std::collections::HashMap<PeerId, (String, Instant)>,
    copied: Option<(&'static str, Instant)>,
    devices: Option<DeviceChoices>,
    /// An open file dialog's answer, when one is open.
    file_dialog: Option<std::sync::mpsc::Receiver<Option<files::Picked>>>,
    share_picker: Option<Box<share::SharePicker>>,
    /// Hosting: a question about something that cannot be undone, waiting for an answer.
    confirm: Option<confirm::Confirm>,
    /// Hosting: several may share at once.
    many_sharers: bool,
    /// Hosting: nobody new gets in.
    locked: bool,
    /// Hosting: guests wait until we let them in.
    ask_to_join: bool,
    /// Recording, ours and the others'.
    recordings: recording::Recordings,
    /// Desktop notifications waiting to be shown (the app shows them if allowed).
    pub notices: Vec<Notice>,
    caught_up: bool,
    ended: Option<String>,
    clock: Clock,
    started: Instant,
    /// Writes the meeting into the history, unless the user turned it off.
    pub recorder: Option<crate::history::Recorder>,
    /// Holds the screen saver and sleep off while the meeting is on screen.
    pub keep_awake: Option<crate::keep_awake::KeepAwake>,
    /// The tray icon while the meeting is on screen.
    pub tray: Option<crate::tray::Tray>,
}

impl MeetingScreen {
    /// A screen for a meeting reached through `handle` and `events`.
    pub fn new(
        handle: MeetingHandle,
        events: mpsc::Receiver<Event>,
        me: Myself,
        devices: Option<DeviceChoices>,
    ) -> Self {
        Self {
            handle,
            events,
            view: MeetingView::default(),
            title: me.title,
            my_name: me.name,
            hosting: me.hosting,
            passcode: me.passcode,
            announced: me.announced,
            my_media: me.media,
            unread: 0,
            panel: None,
            show_stats: false,
            show_info: false,
            page_code: Default::default(),
            show_devices: false,
            show_shortcuts: false,
            self_view_hidden: false,
            pinned: None,
            view_mode: ViewMode::default(),
            page: 0,
            page_guest: None,
            speakers: Vec::new(),
            view_sent: None,
            active: None,
            news: Vec::new(),
            draft: String::new(),
            chat_to: None,
            focus_chat: false,
            asked: None,
            renaming: None,
            focus_rename: false,
            cues: Vec::new(),
            reactions: std::collections::HashMap::new(),
            copied: None,
            devices,
            share_picker: None,
            file_dialog: None,
            confirm: None,
            many_sharers: false,
            locked: false,
            ask_to_join: me.ask_to_join,
            recordings: recording::Recordings::new(true),
            notices: Vec::new(),
            caught_up: false,
            ended: None,
            clock: Arc::new(Instant::now),
            started: Instant::now(),
            recorder: None,
            keep_awake: None,
            tray: None,
        }
    }

    /// The same screen reading the time from `clock` (the meeting starts at its present
    /// time): the header's meeting time and how long notices stay follow it alone.
    #[cfg(test)]
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.started = clock();
        self.clock = clock;
        self
    }

    /// The time now, by the screen's clock.
    fn now(&self) -> Instant {
        (self.clock)()
    }

    /// How long we have been in the meeting, by the screen's clock.
    fn in_meeting_for(&self) -> Duration {
        self.now().saturating_duration_since(self.started)
    }

    /// Takes in everything the meeting reported since the last frame. `focused` tells
    /// whether the window is in front (otherwise joins and messages become notices).
    pub fn take_events(&mut self, focused: bool) {
        while let Ok(event) = self.events.try_recv() {
            self.on_event(event, focused);
        }
        // What was there when we joined is not news; what comes after is.
        self.caught_up = self.view.you.is_some();
        let now = self.now();
        self.news.retain(|news| now.duration_since(news.at) < PROBLEM_LIFETIME);
        self.reactions
            .retain(|_, (_, at)| now.duration_since(*at) < REACTION_LIFETIME);
    }

    /// Shows `text` for a few seconds, as a `warning` or as neutral news; the newest few.
    fn tell(&mut self, text: String, warning: bool, at: Instant) {
        self.news.push(News { text, warning, at });
        let too_many = self.news.len().saturating_sub(NEWS_SHOWN);
        self.news.drain(..too_many);
    }

    /// Takes in one event: the view of the meeting follows it, and what is news for the user
    /// becomes a notice, an unread count or a line on screen.
    pub fn on_event(&mut self, event: Event, focused: bool) {
        let now = self.now();
        self.recording_news(&event, now);
        match &event {
            Event::Joined { meeting, .. } => {
                self.title.clone_from(&meeting.title);
                self.recordings.guests_may = !meeting.no_guest_recording;
                // The meeting's time counts from when it started, as the host's clock says,
                // not from when we came in.
                if let Some(started_at_ms) = meeting.started_at_ms {
                    let running = Duration::from_millis(videomeet_net::clock_ms().saturating_sub(started_at_ms));
                    self.started = now.checked_sub(running).unwrap_or(self.started);
                }
            }
            Event::PeerJoined(info) if Some(info.id) != self.view.you && self.caught_up => {
                self.cues.push(Cue::Joined);
                if !focused {
                    self.notices.push(Notice {
                        summary: format!("{} joined {}", info.name, self.title),
                        body: String::new(),
                    });
                }
            }
            Event::PeerLeft { id, reason } => {
                if self.chat_to == Some(*id) {
                    self.chat_to = None;
                }
                if let Some(person) = self.view.people.get(id) {
                    self.cues.push(Cue::Left);
                    let name = &person.info.name;
                    let text = match reason {
                        LeaveReason::Left => format!("{name} left."),
                        LeaveReason::ConnectionLost => format!("{name} lost their connection."),
                        LeaveReason::Misbehaved => format!("{name} was disconnected by the host."),
                        LeaveReason::Removed if self.hosting => format!("You removed {name}."),
                        LeaveReason::Removed => format!("{name} was removed by the host."),
                    };
                    self.tell(text, false, now);
                }
                if matches!(self.pinned, Some(TileKey::Peer(pinned) | TileKey::Screen(pinned)) if pinned == *id) {
                    self.pinned = None;
                }
                self.speakers.retain(|key| *key != TileKey::Peer(*id));
            }
            Event::Sharing(name) => self.my_media.screen = name.is_some(),
            Event::Chat { from, name, text, .. } if Some(*from) != self.view.you => {
                self.new_in_chat(name, text.clone(), focused);
            }
            Event::FileOffered(offer) if Some(offer.from) != self.view.you => {
                let what = format!("sends {} ({})", offer.name, videomeet_net::files::size_text(offer.size));
                self.new_in_chat(&offer.sender, what, focused);
            }
            Event::MediaState { id, media } if Some(*id) == self.view.you => self.my_media = *media,
            Event::Knocking { name, .. } => {
                if self.caught_up {
                    self.cues.push(Cue::Knock);
                }
                if !focused {
                    self.notices.push(Notice {
                        summary: format!("{name} asks to join {}", self.title),
                        body: "Let them in or turn them away in the meeting window.".into(),
                    });
                }
            }
            Event::TurnedOff { .. } | Event::AskedToTurnOn { .. } | Event::Cohost { .. } => {
                self.on_moderated(&event, now);
            }
            Event::Renamed { id, name } if Some(*id) == self.view.you => self.my_name.clone_from(name),
            // The checkbox in Meeting info follows the meeting, whoever locked it.
            Event::Locked(locked) => self.locked = *locked,
            Event::Reaction { from, emoji } => drop(self.reactions.insert(*from, (emoji.clone(), now))),
            Event::Problem(problem) => self.tell(problem.to_string(), true, now),
            Event::HostChanged { host, passcode, .. } => {
                self.hosting = Some(*host) == self.view.you;
                let text = if self.hosting {
                    self.passcode.clone_from(passcode);
                    "You host the meeting now.".to_owned()
                } else {
                    let name = self
                        .view
                        .people
                        .get(host)
                        .map_or("Someone", |person| person.info.name.as_str());
                    format!("{name} hosts the meeting now.")
                };
                self.tell(text, false, now);
            }
            Event::Ended(reason) => {
                let message = self.and_the_recording(reason.to_string());
                self.ended.get_or_insert(message);
            }
            _ => {}
        }
        if let Some(recorder) = &mut self.recorder {
            recorder.on_event(&event);
        }
        self.view.apply(&event);
    }

    /// Sends a command to the meeting; a meeting that is gone is reported once it ends.
    /// Someone wrote in the chat or offered a file: a sound, the unread count, and a
    /// desktop notice while the window is in the background.
    fn new_in_chat(&mut self, sender: &str, body: String, focused: bool) {
        if self.caught_up {
            self.cues.push(Cue::Message);
        }
        if self.panel != Some(Panel::Chat) {
            self.unread += 1;
        }
        if !focused {
            self.notices.push(Notice {
                summary: format!("{sender} in {}", self.title),
                body,
            });
        }
    }

    fn send(&self, command: Command) {
        if !self.handle.send(command) {
            tracing::debug!("the meeting did not take a command");
        }
    }

    fn toggle_mic(&mut self) {
        self.my_media.mic = !self.my_media.mic;
        self.send(Command::SetMic(self.my_media.mic));
    }

    fn toggle_hand(&mut self) {
        // Shown at once; the host's answer gives it its place in the order.
        let up = self.my_media.hand.is_none();
        self.my_media.hand = up.then_some(0);
        self.send(Command::RaiseHand(up));
    }

    fn toggle_camera(&mut self) {
        self.my_media.camera = !self.my_media.camera;
        self.send(Command::SetCamera(self.my_media.camera));
    }

    fn toggle_panel(&mut self, panel: Panel) {
        self.panel = if self.panel == Some(panel) { None } else { Some(panel) };
        if self.panel == Some(Panel::Chat) {
            self.unread = 0;
            // Opened to write: the cursor goes to the message field.
            self.focus_chat = true;
        }
    }

    /// Switches between gallery and speaker view. A pinned tile is let go, so that the
    /// switch shows what it says.
    fn toggle_view_mode(&mut self) {
        self.view_mode = match self.view_mode {
            ViewMode::Gallery => ViewMode::Speaker,
            ViewMode::Speaker => ViewMode::Gallery,
        };
        self.pinned = None;
    }

    fn leave(&mut self) {
        self.send(Command::Leave);
        let message = self.and_the_recording(EndReason::Left.to_string());
        self.ended.get_or_insert(message);
    }

    fn send_chat(&mut self) {
        let text = self.draft.trim().to_owned();
        if text.is_empty() {
            return;
        }
        self.send(match self.chat_to {
            Some(to) => Command::PrivateChat { to, text },
            None => Command::Chat(text),
        });
        self.draft.clear();
    }

    /// Plays the latest sound due, if `settings` allow sounds (one at a time: a newer one
    /// cuts an older one short anyway).
    fn play_cues(&mut self, settings: &Settings) {
        let latest = self.cues.pop();
        self.cues.clear();
        if settings.play_sounds
            && let Some(cue) = latest
        {
            self.send(Command::PlayCue(cue));
        }
    }

    /// The tile to highlight: the loudest participant above the speaking level, held a
    /// moment after they stop so the frame does not flicker between words. Whoever speaks
    /// goes to the front of [`Self::speakers`].
    fn update_active_speaker(&mut self) {
        let now = self.now();
        let Some(levels) = &self.view.audio_levels else { return };
        let mut loudest = self
            .view
            .people
            .keys()
            .map(|&id| (TileKey::Peer(id), levels.remote(id)))
            .chain(self.my_media.mic.then(|| (TileKey::Me, levels.local.get())))
            .filter(|(_, level)| *level > SPEAKING_LEVEL)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((key, _)) = loudest.take() {
            self.active = Some((key, now));
            self.speakers.retain(|spoke| *spoke != key);
            self.speakers.insert(0, key);
        } else if self
            .active
            .is_some_and(|(_, since)| now.duration_since(since) > SPEAKER_HOLD)
        {
            self.active = None;
        }
    }

    /// Draws the screen; returns the message to show at home once the meeting is over.
    pub fn ui(&mut self, ui: &mut egui::Ui, settings: &mut Settings) -> Option<String> {
        self.update_active_speaker();
        self.shortcuts(ui.ctx());
        self.take_files(ui.ctx());
        self.take_record_dialog(ui.ctx());
        self.follow_tray(ui.ctx());
        self.recordings.voice_files = settings.record_voices;
        egui::Panel::top("meeting-top").show(ui, |ui| self.top_bar(ui));
        egui::Panel::bottom("meeting-controls").show(ui, |ui| self.control_bar(ui));
        settings.record_voices = self.recordings.voice_files;
        if let Some(panel) = self.panel {
            egui::Panel::right("meeting-side")
                .default_size(280.0)
                .min_size(220.0)
                .show(ui, |ui| match panel {
                    Panel::Chat => self.chat_panel(ui),
                    Panel::People => self.people_panel(ui),
                });
        }
        egui::CentralPanel::default().show(ui, |ui| {
            self.knocks_bar(ui);
            self.sharing_bar(ui);
            self.self_view_hidden_bar(ui);
            self.tiles(ui, settings.mirror_self_view);
            self.news_ui(ui);
        });
        if self.show_info {
            self.info_window(ui.ctx());
        }
        if self.show_devices {
            self.devices_window(ui.ctx(), settings);
        }
        if self.show_shortcuts {
            self.shortcuts_window(ui.ctx());
        }
        self.share_picker_window(ui.ctx());
        self.drop_hint(ui);
        self.confirm_window(ui.ctx());
        self.asked_window(ui.ctx());
        self.rename_window(ui.ctx(), settings);
        self.recording_windows(ui.ctx());
        self.play_cues(settings);
        // Others' video wakes the screen as it arrives; our own picture does not, so it is
        // refreshed at its frame rate only when no other video is coming in. Level meters and
        // the speaker frame follow the sound ten times a second.
        let others_video = self
            .view
            .people
            .values()
            .any(|p| p.camera.is_some() && p.info.media.camera || p.screen.is_some() && p.info.media.screen);
        if self.my_media.camera && self.view.local_video.is_some() && !others_video {
            ui.ctx().request_repaint_after(SELF_VIEW_INTERVAL);
        } else if self.view.audio_levels.is_some() {
            ui.ctx().request_repaint_after(Duration::from_millis(100));
        }
        self.ended.take()
    }

    /// The meeting as it stands, for tests and the statistics line.
    pub fn participant_count(&self) -> usize {
        self.view.people.len() + 1
    }
}

/// "14:05" in the local time zone for a Unix time in milliseconds.
fn local_time(ms: u64) -> String {
    use chrono::TimeZone;
    i64::try_from(ms)
        .ok()
        .and_then(|ms| chrono::Local.timestamp_millis_opt(ms).single())
        .map(|time| time.format("%H:%M").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_times_are_hours_and_minutes() {
        let time = local_time(1_700_000_000_000);
        assert_eq!(time.len(), 5);
        assert_eq!(&time[2..3], ":");
        assert_eq!(local_time(u64::MAX), "");
    }
}
