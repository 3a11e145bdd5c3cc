//! The side panels: chat and participants.

use eframe::egui;
use videomeet_net::meeting::Command;
use videomeet_net::protocol::limits::MAX_CHAT_CHARS;

use super::super::style;
use super::MeetingScreen;

impl MeetingScreen {
    pub(super) fn chat_panel(&mut self, ui: &mut egui::Ui) {
        ui.heading("Chat");
        ui.separator();
        let input_height = 36.0;
        egui::ScrollArea::vertical()
            .max_height(ui.available_height() - input_height)
            .stick_to_bottom(true)
            .auto_shrink([false, false])
            .show(ui, |ui| {
                if self.view.chat.is_empty() {
                    ui.label(egui::RichText::new("No messages yet. Messages go to everyone in the meeting.").weak());
                }
                for line in &self.view.chat {
                    ui.horizontal(|ui| {
                        let mine = Some(line.from) == self.view.you;
                        let name = if mine { "You" } else { line.name.as_str() };
                        ui.label(egui::RichText::new(name).strong());
                        ui.label(egui::RichText::new(super::local_time(line.sent_at_ms)).small().weak());
                    });
                    ui.add(egui::Label::new(&line.text).wrap());
                    ui.add_space(4.0);
                }
            });
        ui.separator();
        let field = ui.add(
            egui::TextEdit::singleline(&mut self.draft)
                .hint_text("Message everyone (Enter sends)")
                .char_limit(MAX_CHAT_CHARS)
                .desired_width(ui.available_width()),
        );
        if std::mem::take(&mut self.focus_chat) {
            field.request_focus();
        }
        if field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            self.send_chat();
            field.request_focus();
        }
    }

    pub(super) fn people_panel(&mut self, ui: &mut egui::Ui) {
        ui.heading(format!("People ({})", self.participant_count()));
        ui.separator();
        let me = (
            None,
            self.my_name.clone(),
            " (you)",
            self.hosting,
            false,
            self.my_media,
            None,
        );
        let forwarding = self.view.meeting.as_ref().is_some_and(|meeting| meeting.forwarding);
        let host_name = self.view.meeting.as_ref().map(|meeting| meeting.host_name.clone());
        let others = self.view.people.values().map(|person| {
            let info = &person.info;
            let code = person.safety_code.clone();
            (
                Some(info.id),
                info.name.clone(),
                "",
                info.is_host,
                info.browser,
                info.media,
                code,
            )
        });
        // Raised hands first, in the order they went up; then everyone else as they came.
        let mut everyone: Vec<_> = std::iter::once(me).chain(others).collect();
        everyone.sort_by_key(|(_, _, _, _, _, media, _)| media.hand.unwrap_or(u64::MAX));
        let mut removed = None;
        let mut lowered = None;
        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            for (id, name, suffix, host, browser, media, safety_code) in everyone {
                ui.horizontal(|ui| {
                    let (circle, _) = ui.allocate_exact_size(egui::vec2(24.0, 24.0), egui::Sense::hover());
                    ui.painter()
                        .circle_filled(circle.center(), 12.0, style::name_colour(&name));
                    ui.painter().text(
                        circle.center(),
                        egui::Align2::CENTER_CENTER,
                        style::initials(&name),
                        egui::FontId::proportional(10.0),
                        egui::Color32::WHITE,
                    );
                    ui.label(format!("{name}{suffix}"));
                    if host {
                        ui.label(
                            egui::RichText::new("host")
                                .small()
                                .color(style::readable(ui, style::INFO)),
                        );
                    }
                    if browser {
                        ui.label(egui::RichText::new("browser").small().weak())
                            .on_hover_text("Joined from a web browser, by the meeting's browser link");
                    }
                    if let Some(place) = media.hand {
                        ui.label(egui::RichText::new(format!("✋ {place}")).color(style::readable(ui, style::WARNING)))
                            .on_hover_text("Hand raised; the number is its place in the order hands went up");
                    }
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        if self.hosting
                            && media.hand.is_some()
                            && let Some(id) = id
                            && ui.small_button("Lower hand").clicked()
                        {
                            lowered = Some(id);
                        }
                        if self.hosting
                            && let Some(id) = id
                            && ui
                                .small_button("Remove")
                                .on_hover_text(format!("Remove {name}; they cannot join this meeting again"))
                                .clicked()
                        {
                            removed = Some((id, name.clone()));
                        }
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
                    });
                });
                if let Some(code) = safety_code {
                    let through_host = if forwarding && (host || self.hosting) {
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
                } else if forwarding && !self.hosting && !host && id.is_some() {
                    let host_name = host_name.as_deref().unwrap_or("the host");
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
        });
        if let Some(id) = lowered {
            self.send(Command::LowerHand(id));
        }
        if let Some((id, name)) = removed {
            self.confirm = Some(super::confirm::Confirm::Remove { id, name });
        }
    }
}
