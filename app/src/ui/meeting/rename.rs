//! Renaming ourselves during the meeting: a small dialog with the name, Enter saves and
//! Escape cancels. The host may number the name to tell it from another's; the name typed
//! is remembered for the next meeting.

use eframe::egui;
use videomeet_net::meeting::Command;
use videomeet_net::protocol::limits::MAX_NAME_CHARS;

use super::super::settings::Settings;
use super::super::style;
use super::MeetingScreen;

impl MeetingScreen {
    /// Opens the dialog with our name in it, ready to type over.
    pub(super) fn open_rename(&mut self) {
        self.renaming = Some(self.my_name.clone());
        self.focus_rename = true;
    }

    /// The dialog, while open; a name saved goes to the meeting and into `settings`.
    pub(super) fn rename_window(&mut self, ctx: &egui::Context, settings: &mut Settings) {
        let Some(draft) = &mut self.renaming else { return };
        let focus = std::mem::take(&mut self.focus_rename);
        let (mut save, mut cancel) = (false, ctx.input(|i| i.key_pressed(egui::Key::Escape)));
        egui::Window::new("Rename")
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
            .show(ctx, |ui| {
                let heading = ui.label("Your name in this meeting");
                let field = ui
                    .add(
                        egui::TextEdit::singleline(draft)
                            .char_limit(MAX_NAME_CHARS)
                            .desired_width(260.0),
                    )
                    .labelled_by(heading.id);
                if focus {
                    field.request_focus();
                }
                save = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                ui.add_space(8.0);
                ui.horizontal(|ui| {
                    let named = !draft.trim().is_empty();
                    save |= ui.add_enabled(named, style::primary_button("Save")).clicked();
                    cancel |= ui.button("Cancel").clicked();
                });
            });
        let name = draft.trim().to_owned();
        if save && !name.is_empty() {
            self.renaming = None;
            settings.name.clone_from(&name);
            self.send(Command::Rename(name));
        } else if cancel {
            self.renaming = None;
        }
    }
}
