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
    /// The host leaves: hand the meeting over (when someone can take it) or end it.
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
        let next_host = self.view.next_host().and_then(|id| self.view.people.get(&id));
        let hand_over = next_host.map(|person| format!("Leave; {} hosts", person.info.name));
        let (title, question, yes) = match &confirm {
            Confirm::EndMeeting => (
                "Leave the meeting?".to_owned(),
                match next_host {
                    Some(next) => format!(
                        "You host this meeting. Leave and {} hosts it, so it goes on (media pauses for a \
                         moment while everyone moves), or end it for everyone.",
                        next.info.name
                    ),
                    None => "You host this meeting: when you leave, it ends for everyone.".to_owned(),
                },
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
        let mut handed_over = false;
        egui::Window::new(title)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
            .show(ctx, |ui| {
                ui.label(question);
                ui.add_space(8.0);
                ui.horizontal(|ui| {
                    if let (Confirm::EndMeeting, Some(hand_over)) = (&confirm, &hand_over) {
                        handed_over = ui.add(style::primary_button(hand_over)).clicked();
                    }
                    let yes = egui::Button::new(egui::RichText::new(yes).color(egui::Color32::WHITE).strong())
                        .fill(style::ERROR);
                    answered = ui.add(yes).clicked();
                    cancelled |= ui.button("Cancel").clicked();
                });
            });
        if handed_over {
            self.confirm = None;
            self.send(Command::HandOver);
        } else if answered {
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
