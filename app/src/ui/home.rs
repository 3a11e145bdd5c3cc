//! The home screen (a first version: name and the devices found).

use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use eframe::egui;
use videomeet_media::capture::{self, CaptureThread};
use videomeet_media::codec::H264Config;
use videomeet_media::slot::VideoSlot;
use videomeet_media::video::VideoFormat;
use videomeet_media::{DeviceList, VideoChoice, list_devices};

use super::video_view::video_ui;

/// The self view: size and rate of the camera preview.
const PREVIEW_FORMAT: VideoFormat = VideoFormat::new(640, 360, 30);

/// A running camera preview (no encoding) and where its frames land.
struct Preview {
    slot: Arc<VideoSlot>,
    _capture: CaptureThread,
}

/// Application state for the home screen.
pub struct HomeApp {
    name: String,
    devices: Option<DeviceList>,
    devices_rx: Option<Receiver<DeviceList>>,
    preview: Option<Preview>,
    preview_problem: Option<String>,
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
            preview: None,
            preview_problem: None,
        }
    }

    /// Starts the self view from `camera`, repainting as its frames arrive.
    fn start_preview(&mut self, ctx: &egui::Context, camera: VideoChoice) {
        let slot = Arc::new(VideoSlot::default());
        let ctx = ctx.clone();
        let started = capture::start_video(
            camera,
            PREVIEW_FORMAT,
            H264Config::CAMERA_720P,
            false,
            Arc::clone(&slot),
            move || ctx.request_repaint(),
            |_| {},
        );
        match started {
            Ok((capture, _)) => {
                self.preview = Some(Preview {
                    slot,
                    _capture: capture,
                });
            }
            Err(problem) => self.preview_problem = Some(problem),
        }
    }

    fn preview_ui(&self, ui: &mut egui::Ui) {
        let (rect, _) = ui.allocate_exact_size(egui::vec2(320.0, 180.0), egui::Sense::hover());
        ui.painter().rect_filled(rect, 6.0, egui::Color32::from_gray(20));
        let drawn = self
            .preview
            .as_ref()
            .and_then(|preview| video_ui(ui, 0, &preview.slot, rect));
        if drawn.is_none() {
            let text = self.preview_problem.as_deref().unwrap_or("Starting the camera…");
            ui.painter().text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                text,
                egui::FontId::proportional(14.0),
                egui::Color32::GRAY,
            );
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
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        if let Some(devices) = self.devices_rx.as_ref().and_then(|rx| rx.try_recv().ok()) {
            // Real cameras are listed first; the test pattern is always there last.
            let camera = devices.cameras.first().cloned().unwrap_or(VideoChoice::TestPattern);
            self.devices = Some(devices);
            self.devices_rx = None;
            self.start_preview(ctx, camera);
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
            self.preview_ui(ui);
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
