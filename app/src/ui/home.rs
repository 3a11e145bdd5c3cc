//! The home screen (a first version: name and the devices found).

use std::sync::mpsc::{Receiver, sync_channel};

use eframe::egui;
use videomeet_media::{DeviceList, list_devices};

/// Application state for the home screen.
pub struct HomeApp {
    name: String,
    devices: Option<DeviceList>,
    devices_rx: Option<Receiver<DeviceList>>,
}

impl HomeApp {
    /// Starts listing devices in the background so the window appears at once.
    pub fn new(ctx: &egui::Context) -> Self {
        let (tx, rx) = sync_channel(1);
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new().name("device-list".into()).spawn(move || {
            // The receiver may be gone if the window closed first; nothing to do then.
            let _ = tx.send(list_devices());
            ctx.request_repaint();
        });
        if let Err(error) = &spawned {
            tracing::warn!(%error, "could not start listing devices");
        }
        Self {
            name: whoami_name(),
            devices: None,
            devices_rx: spawned.is_ok().then_some(rx),
        }
    }

    fn devices_ui(&self, ui: &mut egui::Ui) {
        let Some(devices) = &self.devices else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Looking for cameras, microphones and speakers…");
            });
            return;
        };
        egui::Grid::new("devices")
            .num_columns(2)
            .spacing([16.0, 6.0])
            .show(ui, |ui| {
                ui.label("Cameras");
                ui.label(join(devices.cameras.iter().map(|c| c.label().to_owned())));
                ui.end_row();
                ui.label("Microphones");
                ui.label(join(devices.microphones.iter().map(|m| m.label())));
                ui.end_row();
                ui.label("Speakers");
                ui.label(join(devices.speakers.iter().map(|s| s.label().to_owned())));
                ui.end_row();
            });
        for note in &devices.notes {
            ui.label(egui::RichText::new(note).italics());
        }
    }
}

impl eframe::App for HomeApp {
    fn logic(&mut self, _ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if let Some(devices) = self.devices_rx.as_ref().and_then(|rx| rx.try_recv().ok()) {
            self.devices = Some(devices);
            self.devices_rx = None;
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        egui::CentralPanel::default().show(ui, |ui| {
            ui.vertical_centered(|ui| {
                ui.add_space(32.0);
                ui.heading(egui::RichText::new("Video Meet").size(32.0));
                ui.label("Meet with video on your local network: no accounts, no servers.");
                ui.add_space(24.0);
            });
            ui.horizontal(|ui| {
                ui.label("Your name");
                ui.text_edit_singleline(&mut self.name);
            });
            ui.add_space(16.0);
            ui.heading("Devices");
            self.devices_ui(ui);
        });
    }
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

/// A first guess at the user's name: the login name, capitalised.
fn whoami_name() -> String {
    let login = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_default();
    let mut chars = login.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
