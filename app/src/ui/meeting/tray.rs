//! The tray icon's side of the meeting screen: what its menu chose, done as the window's
//! own buttons do it, and what it shows kept up to date.

use eframe::egui;

use super::MeetingScreen;
use crate::tray::{TrayAction, TrayState};

impl MeetingScreen {
    /// What the tray shows now.
    pub fn tray_state(&self) -> TrayState {
        TrayState {
            title: self.title.clone(),
            mic: self.my_media.mic,
            camera: self.my_media.camera,
            sharing: self.view.sharing.is_some(),
        }
    }

    /// Carries out what was chosen in the tray's menu, and shows the meeting as it is there.
    pub(super) fn follow_tray(&mut self, ctx: &egui::Context) {
        let Some(tray) = &self.tray else { return };
        for action in tray.actions() {
            match action {
                TrayAction::Show => bring_to_front(ctx),
                TrayAction::ToggleMic => self.toggle_mic(),
                TrayAction::ToggleCamera => self.toggle_camera(),
                TrayAction::Leave => {
                    // The host is asked first, in the window: it comes to the front.
                    bring_to_front(ctx);
                    self.ask_to_leave();
                }
            }
        }
        let state = self.tray_state();
        if let Some(tray) = &mut self.tray {
            tray.update(state);
        }
    }
}

fn bring_to_front(ctx: &egui::Context) {
    ctx.send_viewport_cmd(egui::ViewportCommand::Visible(true));
    ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
    ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
}
