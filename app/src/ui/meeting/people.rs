//! The People panel: everyone in the meeting with their microphone, camera, share and hand,
//! the safety code of each connection, and what a host or co-host may do about each.

use eframe::egui;
use videomeet_net::meeting::Command;
use videomeet_net::protocol::{MediaDevice, MediaState, PeerId};

use super::super::style;
use super::MeetingScreen;
use super::confirm::Confirm;

/// One line of the panel.
struct Row {
    /// `None` for ourselves.
    id: Option<PeerId>,
    name: String,
    /// After the name: " (you)" on our own line.
    suffix: &'static str,
    host: bool,
    cohost: bool,
    browser: bool,
    media: MediaState,
    safety_code: Option<String>,
}

/// What was asked for on a line, carried out once the panel is drawn.
enum Action {
    /// A command for the meeting as it is.
    Send(Command),
    /// Removing someone, once confirmed.
    Remove { id: PeerId, name: String },
    /// Writing to someone privately: the chat opens with them chosen.
    MessagePrivately(PeerId),
    /// Our own name changed.
    Rename,
}

impl MeetingScreen {
    /// Everyone, ourselves first; raised hands before the rest, in the order they went up.
    fn rows(&self) -> Vec<Row> {
        let me = Row {
            id: None,
            name: self.my_name.clone(),
            suffix: " (you)",
            host: self.hosting,
            cohost: self.view.cohost,
            browser: false,
            media: self.my_media,
            safety_code: None,
        };
        let others = self.view.people.values().map(|person| Row {
            id: Some(person.info.id),
            name: person.info.name.clone(),
            suffix: "",
            host: person.info.is_host,
            cohost: person.info.cohost,
            browser: person.info.browser,
            media: person.info.media,
            safety_code: person.safety_code.clone(),
        });
        let mut everyone: Vec<Row> = std::iter::once(me).chain(others).collect();
        everyone.sort_by_key(|row| row.media.hand.unwrap_or(u64::MAX));
        everyone
    }

    pub(super) fn people_panel(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading(format!("People ({})", self.participant_count()));
            if self.moderating() && !self.view.people.is_empty() {
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui
                        .button("Mute everyone")
                        .on_hover_text("Turn off everyone's microphone but yours and the host's; they can unmute")
                        .clicked()
                    {
                        self.send(Command::TurnOff {
                            id: None,
                            device: MediaDevice::Mic,
                        });
                    }
                });
            }
        });
        ui.separator();
        let mut actions = Vec::new();
        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            for row in self.rows() {
                // The buttons and signs at the end first; the name takes what is left and is
                // cut short rather than drawn under them in a narrow panel.
                ui.horizontal(|ui| {
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        self.actions_ui(ui, &row, &mut actions);
                        media_ui(ui, row.media);
                        ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                            person_ui(ui, &row);
                        });
                    });
                });
                if row.id.is_none() {
                    rename_ui(ui, &mut actions);
                }
                self.lower_hand_ui(ui, &row, &mut actions);
                self.path_ui(ui, &row);
            }
        });
        for action in actions {
            match action {
                Action::Send(command) => self.send(command),
                Action::Remove { id, name } => self.confirm = Some(Confirm::Remove { id, name }),
                Action::MessagePrivately(id) => {
                    self.chat_to = Some(id);
                    self.panel = None;
                    self.toggle_panel(super::Panel::Chat);
                }
                Action::Rename => self.open_rename(),
            }
        }
    }

    /// The buttons at the end of another's `row`: a menu of what we may do about them, and
    /// Lower hand while it is up (for a host or co-host).
    fn actions_ui(&self, ui: &mut egui::Ui, row: &Row, actions: &mut Vec<Action>) {
        let Some(id) = row.id else { return };
        ui.menu_button("More", |ui| {
            if ui.button("Message privately").clicked() {
                actions.push(Action::MessagePrivately(id));
                ui.close();
            }
            for (label, action) in self.moderation_choices(id, row) {
                if ui.button(label).clicked() {
                    actions.push(action);
                    ui.close();
                }
            }
        })
        .response
        .on_hover_text(format!("What you can do about {}", row.name));
    }

    /// Under another's line while their hand is up, for a host or co-host: Lower hand.
    fn lower_hand_ui(&self, ui: &mut egui::Ui, row: &Row, actions: &mut Vec<Action>) {
        let Some(id) = row.id.filter(|_| self.moderating() && row.media.hand.is_some()) else {
            return;
        };
        ui.horizontal(|ui| {
            ui.add_space(32.0);
            if ui.small_button("Lower hand").clicked() {
                actions.push(Action::Send(Command::LowerHand(id)));
            }
        });
    }

    /// What a host or co-host may do about participant `id` of `row`, as menu entries: turn
    /// off what is on (not the host's), ask for what is off, and for the host, co-host
    /// rights; removing comes last.
    fn moderation_choices(&self, id: PeerId, row: &Row) -> Vec<(String, Action)> {
        if !self.moderating() {
            return Vec::new();
        }
        let turn_off = |device| Action::Send(Command::TurnOff { id: Some(id), device });
        let ask = |device| Action::Send(Command::AskToTurnOn { id, device });
        let mut choices = Vec::new();
        let reachable = !row.host;
        match row.media.mic {
            true if reachable => choices.push(("Mute".to_owned(), turn_off(MediaDevice::Mic))),
            true => {}
            false => choices.push(("Ask to unmute".to_owned(), ask(MediaDevice::Mic))),
        }
        match row.media.camera {
            true if reachable => choices.push(("Stop video".to_owned(), turn_off(MediaDevice::Camera))),
            true => {}
            false => choices.push(("Ask to start video".to_owned(), ask(MediaDevice::Camera))),
        }
        if row.media.screen && reachable {
            choices.push(("Stop share".to_owned(), turn_off(MediaDevice::Screen)));
        }
        if self.hosting {
            let (label, cohost) = if row.cohost {
                ("Remove co-host", false)
            } else {
                ("Make co-host", true)
            };
            choices.push((label.to_owned(), Action::Send(Command::MakeCohost { id, cohost })));
        }
        if reachable {
            let name = row.name.clone();
            choices.push((format!("Remove {name}…"), Action::Remove { id, name }));
        }
        choices
    }

    /// Under `row`, how its sound and pictures reach us: the safety code of our connection,
    /// or through the host's program.
    fn path_ui(&self, ui: &mut egui::Ui, row: &Row) {
        let forwarding = self.view.meeting.as_ref().is_some_and(|meeting| meeting.forwarding);
        let name = &row.name;
        if let Some(code) = &row.safety_code {
            let through_host = if forwarding && (row.host || self.hosting) {
                " It proves the connection to the host's program, which forwards everyone's \
                 sound and pictures: that program can see and hear them."
            } else {
                ""
            };
            ui.horizontal(|ui| {
                ui.add_space(32.0);
                ui.label(egui::RichText::new(format!("Safety code {code}")).monospace().weak())
                    .on_hover_text(format!(
                        "Safety code of your connection with {name}. Read it aloud together: \
                         if {name} sees the same digits, nobody is listening in between.{through_host}"
                    ));
            });
        } else if forwarding && !self.hosting && !row.host && row.id.is_some() {
            let host_name = self
                .view
                .meeting
                .as_ref()
                .map_or("the host", |meeting| meeting.host_name.as_str());
            ui.horizontal(|ui| {
                ui.add_space(32.0);
                ui.label(egui::RichText::new(format!("Through {host_name}")).weak())
                    .on_hover_text(format!(
                        "{name}'s sound and pictures reach you through {host_name}'s program, \
                         which forwards them and can see and hear them. Compare the safety code \
                         with {host_name} to be sure nobody else is in between."
                    ));
            });
        }
    }
}

/// The start of `row`: initials, a raised hand's place, the name, and the marks for host,
/// co-host and browser.
fn person_ui(ui: &mut egui::Ui, row: &Row) {
    let (circle, _) = ui.allocate_exact_size(egui::vec2(24.0, 24.0), egui::Sense::hover());
    ui.painter()
        .circle_filled(circle.center(), 12.0, style::name_colour(&row.name));
    ui.painter().text(
        circle.center(),
        egui::Align2::CENTER_CENTER,
        style::initials(&row.name),
        egui::FontId::proportional(10.0),
        egui::Color32::WHITE,
    );
    if let Some(place) = row.media.hand {
        ui.label(egui::RichText::new(format!("✋ {place}")).color(style::readable(ui, style::WARNING)))
            .on_hover_text("Hand raised; the number is its place in the order hands went up");
    }
    ui.add(egui::Label::new(format!("{}{}", row.name, row.suffix)).truncate());
    for (shown, mark) in [(row.host, "host"), (row.cohost, "co-host")] {
        if shown {
            ui.label(
                egui::RichText::new(mark)
                    .small()
                    .color(style::readable(ui, style::INFO)),
            );
        }
    }
    if row.browser {
        ui.label(egui::RichText::new("browser").small().weak())
            .on_hover_text("Joined from a web browser, by the meeting's browser link");
    }
}

/// Under our own line, where there is room for it: Rename….
fn rename_ui(ui: &mut egui::Ui, actions: &mut Vec<Action>) {
    ui.horizontal(|ui| {
        ui.add_space(32.0);
        if ui
            .small_button("Rename…")
            .on_hover_text("Change your name in this meeting")
            .clicked()
        {
            actions.push(Action::Rename);
        }
    });
}

/// Camera, microphone and screen signs, right to left.
fn media_ui(ui: &mut egui::Ui, media: MediaState) {
    let camera = egui::RichText::new("📷");
    ui.label(if media.camera {
        camera
    } else {
        camera.strikethrough().weak()
    })
    .on_hover_text(if media.camera { "Camera on" } else { "Camera off" });
    let mic = if media.mic { "🎤" } else { "🔇" };
    ui.label(mic)
        .on_hover_text(if media.mic { "Microphone on" } else { "Muted" });
    if media.screen {
        ui.label(egui::RichText::new("🖥").color(style::readable(ui, style::ACTIVE)))
            .on_hover_text("Sharing the screen");
    }
}
