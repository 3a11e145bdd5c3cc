//! The chat panel: messages to everyone and private ones, and whom the next goes to.

use eframe::egui;
use videomeet_net::protocol::PeerId;
use videomeet_net::protocol::limits::MAX_CHAT_CHARS;

use super::super::style;
use super::MeetingScreen;

impl MeetingScreen {
    pub(super) fn chat_panel(&mut self, ui: &mut egui::Ui) {
        ui.heading("Chat");
        ui.separator();
        let input_height = 64.0;
        egui::ScrollArea::vertical()
            .max_height(ui.available_height() - input_height)
            .stick_to_bottom(true)
            .auto_shrink([false, false])
            .show(ui, |ui| {
                if self.view.chat.is_empty() {
                    ui.label(
                        egui::RichText::new(
                            "No messages yet. Messages go to everyone in the meeting, or to the one person chosen below.",
                        )
                        .weak(),
                    );
                }
                for line in self.view.chat.clone() {
                    ui.horizontal(|ui| {
                        let mine = Some(line.from) == self.view.you;
                        let name = if mine { "You" } else { line.name.as_str() };
                        ui.label(egui::RichText::new(name).strong());
                        if let Some(to) = line.to {
                            let privately = if mine {
                                format!("to {}, privately", self.name_of(to))
                            } else {
                                "privately".to_owned()
                            };
                            ui.label(
                                egui::RichText::new(privately)
                                    .small()
                                    .color(style::readable(ui, style::WARNING)),
                            );
                        }
                        ui.label(egui::RichText::new(super::local_time(line.sent_at_ms)).small().weak());
                    });
                    match line.file {
                        Some(seq) => self.file_card(ui, seq),
                        None => drop(ui.add(egui::Label::new(&line.text).wrap())),
                    }
                    ui.add_space(4.0);
                }
            });
        ui.separator();
        self.recipient_ui(ui);
        let hint = match self.chat_to {
            Some(to) => format!("Message {} privately (Enter sends)", self.name_of(to)),
            None => "Message everyone (Enter sends)".to_owned(),
        };
        let field = ui.add(
            egui::TextEdit::singleline(&mut self.draft)
                .hint_text(hint)
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

    /// "To:" and whom the next message goes to: everyone, or one person privately.
    fn recipient_ui(&mut self, ui: &mut egui::Ui) {
        let chosen = self
            .chat_to
            .map_or_else(|| "Everyone".to_owned(), |to| self.name_of(to));
        let people: Vec<(PeerId, String)> = self
            .view
            .people
            .values()
            .map(|person| (person.info.id, person.info.name.clone()))
            .collect();
        ui.horizontal(|ui| {
            let heading = ui.label("To:");
            egui::ComboBox::from_id_salt("chat-to")
                .selected_text(chosen)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.chat_to, None, "Everyone");
                    for (id, name) in people {
                        ui.selectable_value(&mut self.chat_to, Some(id), name);
                    }
                })
                .response
                .labelled_by(heading.id);
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                self.attach_button(ui)
            });
        });
    }
}
