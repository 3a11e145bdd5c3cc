//! One meeting from the history: who was there and when, the chat in order, the files
//! (with their folder one click away), and what can be done with it: join again, export
//! the chat, delete it.

use std::path::{Path, PathBuf};

use eframe::egui;
use videomeet_net::JoinTarget;
use videomeet_net::discovery::DiscoveredMeeting;

use super::super::home::join_announced;
use super::super::setup::Plan;
use super::super::style;
use super::Loading;
use crate::history::{
    Direction, History, MeetingDetails, MeetingId, MeetingSummary, Said, Zone, duration_text, file_line,
};

/// What the details ask of the list around them.
pub enum Action {
    /// Back to the list.
    Back,
    /// The meeting was deleted: back to the list, which is read again.
    Deleted,
}

/// A meeting opened from the list.
pub struct Opened {
    id: MeetingId,
    details: Loading<Option<MeetingDetails>>,
    /// The chat's export, once asked for: where it went, or why it did not.
    export: Option<Loading<PathBuf>>,
    /// A folder that could not be opened, and why.
    folder_problem: Option<String>,
}

impl Opened {
    /// Asks the history for meeting `id`.
    pub fn new(history: &History, id: MeetingId) -> Self {
        Self {
            id,
            details: Loading::Asked(history.details(id)),
            export: None,
            folder_problem: None,
        }
    }

    /// Draws the meeting; returns a meeting to join, and what the list should do.
    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        history: &History,
        zone: Zone,
        downloads: Option<&Path>,
        announced: &[DiscoveredMeeting],
        named: bool,
    ) -> (Option<Plan>, Option<Action>) {
        let ctx = ui.ctx().clone();
        if ui.button("⏴ Back to the home screen").clicked() {
            return (None, Some(Action::Back));
        }
        let details = match self.details.poll(&ctx) {
            None => return (None, None),
            Some(Err(problem)) => {
                ui.label(egui::RichText::new(problem).color(style::readable(ui, style::WARNING)));
                return (None, None);
            }
            Some(Ok(None)) => {
                ui.label("This meeting is no longer in the history.");
                return (None, None);
            }
            Some(Ok(Some(details))) => details,
        };
        let summary = &details.summary;
        ui.add_space(6.0);
        ui.heading(egui::RichText::new(&summary.title).size(24.0).strong());
        ui.label(about(summary, zone));
        ui.add_space(4.0);
        let mut plan = None;
        let mut action = None;
        ui.horizontal_wrapped(|ui| {
            if !summary.hosted {
                plan = join_ui(ui, summary, announced, named);
            }
            let export = ui.add_enabled(!details.chat.is_empty(), egui::Button::new("Export chat"));
            if export.clicked() {
                self.export = Some(match downloads {
                    Some(folder) => Loading::Asked(history.export_chat(self.id, folder.to_path_buf())),
                    None => Loading::Here(Err("No Downloads folder was found to save the chat in.".to_owned())),
                });
            }
            if ui.button("Delete this meeting").clicked() {
                history.delete(self.id);
                action = Some(Action::Deleted);
            }
        });
        if let Some(export) = &mut self.export
            && let Some(answer) = export.poll(&ctx)
        {
            match answer {
                Ok(path) => style::banner(ui, style::INFO, |ui| {
                    ui.label(format!("The chat was saved as {}", path.display()));
                }),
                Err(problem) => style::banner(ui, style::WARNING, |ui| {
                    ui.label(problem);
                }),
            }
        }
        if let Some(problem) = &self.folder_problem {
            style::banner(ui, style::WARNING, |ui| {
                ui.label(problem);
            });
        }
        ui.add_space(8.0);
        ui.columns(2, |columns| {
            style::card(&mut columns[0], |ui| people_ui(ui, details, zone));
            columns[0].add_space(8.0);
            style::card(&mut columns[0], |ui| {
                if let Some(problem) = files_ui(ui, details, zone) {
                    self.folder_problem = Some(problem);
                }
            });
            style::card(&mut columns[1], |ui| chat_ui(ui, details, zone));
        });
        (plan, action)
    }
}

/// "Hosted by Grace · code K7QX3MZP · 192.168.1.20:47800 · Mon 3 Mar 2025, 14:05 · 47 min ·
/// The host ended it."
fn about(summary: &MeetingSummary, zone: Zone) -> String {
    let host = if summary.hosted {
        "Hosted by you".to_owned()
    } else {
        format!("Hosted by {}", summary.host_name)
    };
    let end = match (summary.ended_at_ms, summary.end_reason.as_deref()) {
        (None, _) => format!(
            "Video Meet stopped during it; last seen at {}.",
            zone.time(summary.last_seen_at_ms)
        ),
        (Some(_), Some("left")) => "You left.".to_owned(),
        (Some(_), Some("host_ended")) => "The host ended it.".to_owned(),
        (Some(_), Some("removed")) => "The host removed you.".to_owned(),
        (Some(_), Some("host_lost")) => "The connection to the host was lost.".to_owned(),
        (Some(_), _) => "Ended.".to_owned(),
    };
    format!(
        "{host} · code {} · {} · {} · {} · {end}",
        summary.code,
        summary.address,
        zone.date_time(summary.started_at_ms),
        duration_text(summary.duration())
    )
}

/// "Join again" while the meeting is announced on the network; otherwise its address, as
/// joining by address does.
fn join_ui(ui: &mut egui::Ui, summary: &MeetingSummary, announced: &[DiscoveredMeeting], named: bool) -> Option<Plan> {
    let on_now = announced.iter().find(|meeting| meeting.code == summary.code);
    let again = ui
        .add_enabled(named && on_now.is_some(), style::primary_button("Join again"))
        .on_disabled_hover_text("This meeting is not announced on the network now.");
    if again.clicked() {
        return on_now.and_then(join_announced);
    }
    if on_now.is_some() {
        return None;
    }
    let target = JoinTarget::parse(&summary.address).ok()?;
    let by_address = ui
        .add_enabled(named, egui::Button::new(format!("Join {}", target.authority())))
        .on_hover_text("A meeting at this address now, if its host started one");
    by_address.clicked().then(|| Plan::Join {
        title: target.authority(),
        target,
        passcode_required: false,
    })
}

fn people_ui(ui: &mut egui::Ui, details: &MeetingDetails, zone: Zone) {
    ui.heading(format!("People ({})", details.summary.people));
    egui::Grid::new("history people")
        .num_columns(2)
        .spacing([16.0, 4.0])
        .show(ui, |ui| {
            for person in &details.people {
                ui.label(&person.name);
                let left = person.left_at_ms.map(|ms| zone.time(ms)).unwrap_or_default();
                ui.label(
                    egui::RichText::new(format!("{} – {left}", zone.time(person.joined_at_ms)))
                        .small()
                        .weak(),
                );
                ui.end_row();
            }
        });
}

/// The files offered and the recordings made; a folder that could not be opened, and why.
fn files_ui(ui: &mut egui::Ui, details: &MeetingDetails, zone: Zone) -> Option<String> {
    ui.heading("Files");
    if details.files.is_empty() && details.recordings.is_empty() {
        ui.label("No files were sent in this meeting.");
        return None;
    }
    let mut problem = None;
    for file in &details.files {
        ui.horizontal(|ui| {
            let how = match file.direction {
                Direction::Sent => "sent by you".to_owned(),
                Direction::Received => format!("from {}", file.sender_name),
            };
            ui.label(&file.name);
            ui.label(
                egui::RichText::new(format!(
                    "{} · {how} · {}",
                    videomeet_net::files::size_text(file.size),
                    file.state
                ))
                .small()
                .weak(),
            );
            let folder = file.saved_path.as_deref().and_then(Path::parent);
            if let Some(folder) = folder
                && ui.button("Open folder").clicked()
            {
                problem = crate::folders::open_in_file_manager(folder).err();
            }
        });
    }
    for recording in &details.recordings {
        ui.horizontal(|ui| {
            let name = recording.path.file_name().unwrap_or_default().to_string_lossy();
            ui.label(format!("Recording {name}"));
            let end = recording.ended_at_ms.map(|ms| zone.time(ms)).unwrap_or_default();
            ui.label(
                egui::RichText::new(format!("{} – {end}", zone.time(recording.started_at_ms)))
                    .small()
                    .weak(),
            );
            if let Some(folder) = recording.path.parent()
                && ui.button("Open folder").clicked()
            {
                problem = crate::folders::open_in_file_manager(folder).err();
            }
        });
    }
    problem
}

/// The messages, and the files offered among them, in the host's order.
fn chat_ui(ui: &mut egui::Ui, details: &MeetingDetails, zone: Zone) {
    ui.heading("Chat");
    let conversation = details.conversation();
    if conversation.is_empty() {
        ui.label("Nobody wrote in the chat.");
        return;
    }
    egui::ScrollArea::vertical()
        .id_salt("history chat")
        .max_height(320.0)
        .show(ui, |ui| {
            for said in conversation {
                ui.horizontal_wrapped(|ui| match said {
                    Said::Message(line) => {
                        ui.label(egui::RichText::new(zone.time(line.sent_at_ms)).small().weak());
                        ui.label(egui::RichText::new(&line.sender_name).strong());
                        if let Some(to) = &line.private_to {
                            ui.label(
                                egui::RichText::new(format!("to {to}, privately"))
                                    .italics()
                                    .color(style::readable(ui, style::WARNING)),
                            );
                        }
                        ui.label(&line.text);
                    }
                    Said::File(file) => {
                        ui.label(egui::RichText::new(file_line(file)).italics());
                    }
                });
            }
        });
}
