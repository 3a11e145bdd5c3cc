//! The host's view of guests asking to join: one bar per guest, with Let in and Turn away,
//! for the first few; a line counts the rest, so a crowd never covers the meeting.

use eframe::egui;
use videomeet_net::meeting::Command;

use super::super::style;
use super::MeetingScreen;

/// Bars shown at once.
const KNOCKS_SHOWN: usize = 3;

impl MeetingScreen {
    /// "Ada asks to join" with Let in and Turn away, above the tiles while guests wait.
    pub(super) fn knocks_bar(&mut self, ui: &mut egui::Ui) {
        let mut answer = None;
        for (knock, name) in self.view.knocks.iter().take(KNOCKS_SHOWN) {
            style::banner(ui, style::INFO, |ui| {
                ui.label(egui::RichText::new(format!("🚪 {name} asks to join")).strong());
                if ui.add(style::primary_button("Let in")).clicked() {
                    answer = Some(Command::Admit(*knock));
                }
                if ui
                    .button("Turn away")
                    .on_hover_text(format!(
                        "{name} cannot ask again from there until you let people back (Meeting info)"
                    ))
                    .clicked()
                {
                    answer = Some(Command::Deny(*knock));
                }
            });
        }
        let more = self.view.knocks.len().saturating_sub(KNOCKS_SHOWN);
        if more > 0 {
            style::banner(ui, style::INFO, |ui| {
                ui.label(format!(
                    "…and {more} more waiting; answer these first, or lock the meeting."
                ));
            });
        }
        if let Some(command) = answer {
            // The bar goes once the meeting confirms; until then a second click does nothing.
            if let Command::Admit(knock) | Command::Deny(knock) = command {
                self.view.knocks.remove(&knock);
            }
            self.send(command);
        }
    }
}
