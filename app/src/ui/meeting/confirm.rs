//! Asking before what cannot be undone: ending the meeting for everyone, and removing
//! someone (whose address then stays out).

use eframe::egui;
use videomeet_net::meeting::Command;
use videomeet_net::protocol::PeerId;

use super::super::style;
use super::MeetingScreen;

/// What waits for the host to confirm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Confirm {
    /// Leaving ends the meeting for everyone.
    EndMeeting,
    /// Removing a participant.
    Remove {
        /// Who.
        id: PeerId,
        /// Their name, as shown.
        name: String,
    },
}

/// What the host is told once it ended the meeting.
pub const ENDED_BY_US: &str = "You ended the meeting for everyone.";

impl MeetingScreen {
    /// Leave: at once for a guest; the host is asked first, since everyone goes with it.
    pub(super) fn ask_to_leave(&mut self) {
        if self.hosting {
            self.confirm = Some(Confirm::EndMeeting);
        } else {
            self.leave();
        }
    }

    /// The question waiting for an answer, if any; Escape or Cancel drops it.
    pub(super) fn confirm_window(&mut self, ctx: &egui::Context) {
        let Some(confirm) = self.confirm.clone() else { return };
        let (title, question, yes) = match &confirm {
            Confirm::EndMeeting => (
                "End the meeting?".to_owned(),
                "You host this meeting: when you leave, it ends for everyone.".to_owned(),
                "End the meeting for everyone".to_owned(),
            ),
            Confirm::Remove { name, .. } => (
                format!("Remove {name}?"),
                format!(
                    "{name} leaves the meeting, and nobody from their address can join it again \
                     until you let people you removed ask again (Meeting info)."
                ),
                format!("Remove {name}"),
            ),
        };
        let (mut answered, mut cancelled) = (false, ctx.input(|i| i.key_pressed(egui::Key::Escape)));
        egui::Window::new(title)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
            .show(ctx, |ui| {
                ui.label(question);
                ui.add_space(8.0);
                ui.horizontal(|ui| {
                    let yes = egui::Button::new(egui::RichText::new(yes).color(egui::Color32::WHITE).strong())
                        .fill(style::ERROR);
                    answered = ui.add(yes).clicked();
                    cancelled |= ui.button("Cancel").clicked();
                });
            });
        if answered {
            self.confirm = None;
            match confirm {
                Confirm::EndMeeting => {
                    self.send(Command::Leave);
                    let message = self.and_the_recording(ENDED_BY_US.to_owned());
                    self.ended.get_or_insert(message);
                }
                Confirm::Remove { id, .. } => self.send(Command::Remove(id)),
            }
        } else if cancelled {
            self.confirm = None;
        }
    }
}
