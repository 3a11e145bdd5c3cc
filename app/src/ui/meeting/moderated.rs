//! Being moderated, and moderating. A host or co-host who turns our device off is named
//! ("Grace muted you"); one who wants it on can only ask, and we answer Unmute (or Start
//! video) or Not now, Escape being Not now. Made a co-host, we are told so, and moderate.

use std::time::Instant;

use eframe::egui;
use videomeet_net::meeting::Event;
use videomeet_net::protocol::{MediaDevice, PeerId};

use super::super::style;
use super::MeetingScreen;

impl MeetingScreen {
    /// We host or co-host: we may let guests in, turn others' devices off, remove them.
    pub(super) fn moderating(&self) -> bool {
        self.hosting || self.view.cohost
    }

    /// What a host or co-host did about us, as news or a question.
    pub(super) fn on_moderated(&mut self, event: &Event, now: Instant) {
        match event {
            Event::TurnedOff { device, by } => {
                let done = match device {
                    MediaDevice::Mic => "muted you",
                    MediaDevice::Camera => "stopped your video",
                    MediaDevice::Screen => "stopped your screen share",
                };
                self.tell(format!("{} {done}.", self.name_of(*by)), false, now);
            }
            Event::AskedToTurnOn { device, by } => self.asked = Some((*device, *by)),
            Event::Cohost { id, cohost } if Some(*id) == self.view.you => {
                let text = if *cohost {
                    "You are a co-host now: you can let guests in, mute and remove others."
                } else {
                    "You are no longer a co-host."
                };
                self.tell(text.to_owned(), false, now);
            }
            _ => {}
        }
    }

    /// The question waiting for our answer, if any.
    pub(super) fn asked_window(&mut self, ctx: &egui::Context) {
        let Some((device, by)) = self.asked else { return };
        let name = self.name_of(by);
        let (question, yes) = match device {
            MediaDevice::Camera => (format!("{name} asks you to start your video"), "Start video"),
            MediaDevice::Mic | MediaDevice::Screen => (format!("{name} asks you to unmute"), "Unmute"),
        };
        let (mut accepted, mut declined) = (false, ctx.input(|i| i.key_pressed(egui::Key::Escape)));
        egui::Window::new(question)
            .id(egui::Id::unique("asked-to-turn-on"))
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
            .show(ctx, |ui| {
                ui.horizontal(|ui| {
                    accepted = ui.add(style::primary_button(yes)).clicked();
                    declined |= ui.button("Not now").clicked();
                });
            });
        if accepted {
            self.asked = None;
            self.turn_on(device);
        } else if declined {
            self.asked = None;
        }
    }

    /// Turns our `device` on, as its button does, unless it is on already.
    fn turn_on(&mut self, device: MediaDevice) {
        match device {
            MediaDevice::Mic if !self.my_media.mic => self.toggle_mic(),
            MediaDevice::Camera if !self.my_media.camera => self.toggle_camera(),
            _ => {}
        }
    }

    /// What participant `id` is called here ("Someone" for one who left).
    pub(super) fn name_of(&self, id: PeerId) -> String {
        self.view
            .people
            .get(&id)
            .map_or_else(|| "Someone".to_owned(), |person| person.info.name.clone())
    }
}
