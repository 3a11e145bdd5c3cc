//! The home screen's "Recent meetings": the list from the history, newest first, and one
//! meeting's details when opened ([`details`]). Everything is asked of the history's
//! thread and picked up when it answers; the window never waits.

mod details;

use std::path::{Path, PathBuf};
use std::time::Duration;

use eframe::egui;
use videomeet_net::discovery::DiscoveredMeeting;

use super::setup::Plan;
use super::style;
use crate::history::{Answer, History, MeetingSummary, Pending, Zone, duration_text};

/// Meetings listed at most.
const LISTED: usize = 50;

/// How often the screen looks for an answer while one is on its way.
const POLL: Duration = Duration::from_millis(50);

/// The list, or a meeting opened from it.
pub struct RecentMeetings {
    history: History,
    /// The time zone times are shown in.
    pub zone: Zone,
    /// Where chats are exported: the user's Downloads folder.
    pub downloads: Option<PathBuf>,
    list: Loading<Vec<MeetingSummary>>,
    opened: Option<details::Opened>,
    /// "Clear all" was pressed and waits for its confirmation.
    confirm_clear: bool,
}

/// Something asked of the history: on its way, or here.
enum Loading<T> {
    Asked(Pending<T>),
    Here(Answer<T>),
}

impl<T> Loading<T> {
    /// The answer, once here; asks for another frame while it is on its way.
    fn poll(&mut self, ctx: &egui::Context) -> Option<&Answer<T>> {
        if let Self::Asked(pending) = self {
            match pending.poll() {
                Some(answer) => *self = Self::Here(answer),
                None => ctx.request_repaint_after(POLL),
            }
        }
        match self {
            Self::Here(answer) => Some(answer),
            Self::Asked(_) => None,
        }
    }
}

impl RecentMeetings {
    /// The recent meetings kept in `history`.
    pub fn new(history: History) -> Self {
        let list = Loading::Asked(history.recent(LISTED));
        Self {
            history,
            zone: Zone::LOCAL,
            downloads: directories::UserDirs::new().and_then(|dirs| dirs.download_dir().map(Path::to_path_buf)),
            list,
            opened: None,
            confirm_clear: false,
        }
    }

    /// A meeting's details are open (they take the home screen's place).
    pub fn is_open(&self) -> bool {
        self.opened.is_some()
    }

    fn reload(&mut self) {
        self.list = Loading::Asked(self.history.recent(LISTED));
    }

    /// The list, in a card; opening a meeting shows its details instead of the home screen.
    pub fn list_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Recent meetings");
        let meetings = match self.list.poll(ui.ctx()) {
            None => return,
            Some(Err(problem)) => {
                ui.label(egui::RichText::new(problem).color(style::readable(ui, style::WARNING)));
                return;
            }
            Some(Ok(meetings)) => meetings,
        };
        if meetings.is_empty() {
            ui.label("Meetings you join or host are kept here.");
            return;
        }
        let mut open = None;
        let zone = self.zone;
        egui::ScrollArea::vertical()
            .id_salt("recent meetings")
            .max_height(190.0)
            .show(ui, |ui| {
                for meeting in meetings {
                    ui.horizontal(|ui| {
                        ui.vertical(|ui| {
                            ui.label(egui::RichText::new(&meeting.title).strong());
                            ui.label(egui::RichText::new(line(meeting, zone)).small().weak());
                        });
                        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            if ui.button("Open").clicked() {
                                open = Some(meeting.id);
                            }
                        });
                    });
                    ui.separator();
                }
            });
        if let Some(id) = open {
            self.opened = Some(details::Opened::new(&self.history, id));
        }
        self.clear_ui(ui);
    }

    /// "Clear all", after a confirmation.
    fn clear_ui(&mut self, ui: &mut egui::Ui) {
        if !self.confirm_clear {
            self.confirm_clear = ui.button("Clear all").clicked();
            return;
        }
        ui.horizontal_wrapped(|ui| {
            ui.label("Delete every meeting in the history? This cannot be undone.");
            if ui
                .add(
                    egui::Button::new(egui::RichText::new("Delete all").color(egui::Color32::WHITE)).fill(style::ERROR),
                )
                .clicked()
            {
                self.history.clear();
                self.confirm_clear = false;
                self.reload();
            }
            if ui.button("Cancel").clicked() {
                self.confirm_clear = false;
            }
        });
    }

    /// The opened meeting's details; returns the meeting to join when asked to join again.
    /// `announced` are the meetings on the network now; `named` whether the user has a name.
    pub fn details_ui(&mut self, ui: &mut egui::Ui, announced: &[DiscoveredMeeting], named: bool) -> Option<Plan> {
        let opened = self.opened.as_mut()?;
        let (plan, action) = opened.ui(
            ui,
            &self.history,
            self.zone,
            self.downloads.as_deref(),
            announced,
            named,
        );
        match action {
            Some(details::Action::Back) => self.opened = None,
            Some(details::Action::Deleted) => {
                self.opened = None;
                self.reload();
            }
            None => {}
        }
        plan
    }
}

/// "Grace · Mon 3 Mar 2025, 14:05 · 47 min · 3 people".
fn line(meeting: &MeetingSummary, zone: Zone) -> String {
    let people = match meeting.people {
        1 => "1 person".to_owned(),
        n => format!("{n} people"),
    };
    format!(
        "{} · {} · {} · {people}",
        meeting.host_name,
        zone.date_time(meeting.started_at_ms),
        duration_text(meeting.duration())
    )
}
