//! Sharing the screen: the picker with a live thumbnail of every display and window, and the
//! "You are sharing" bar with its Stop button.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use eframe::egui::{self, Color32, ColorImage, TextureHandle, TextureOptions};
use videomeet_media::screen::{ScreenChoice, ScreenKind, Thumbnail, list_screens};
use videomeet_net::meeting::Command;

use super::super::background::Opening;
use super::super::style;
use super::MeetingScreen;

/// Thumbnails are this size at most.
const THUMBNAIL: (u32, u32) = (240, 135);
/// While the picker is open, its thumbnails are taken again this often.
const REFRESH: Duration = Duration::from_secs(2);

/// What the picker offers: each screen with its thumbnail (when one could be taken).
type Screens = Vec<(ScreenChoice, Option<Thumbnail>)>;

/// The open share picker.
pub struct SharePicker {
    /// The newest list, shown while the next one is taken.
    screens: Screens,
    loading: Opening<Screens>,
    taken_at: Instant,
    textures: HashMap<ScreenChoice, TextureHandle>,
    problem: Option<String>,
}

impl SharePicker {
    fn open(ctx: &egui::Context) -> Self {
        Self {
            screens: Vec::new(),
            loading: load(ctx),
            taken_at: Instant::now(),
            textures: HashMap::new(),
            problem: None,
        }
    }

    /// Takes in a finished list and starts the next one when it is time.
    fn refresh(&mut self, ctx: &egui::Context) {
        self.loading.poll();
        match std::mem::replace(&mut self.loading, Opening::Idle) {
            Opening::Ready(screens) => {
                self.textures
                    .retain(|choice, _| screens.iter().any(|(c, _)| c == choice));
                for (choice, thumbnail) in &screens {
                    if let Some(thumbnail) = thumbnail {
                        let image = ColorImage::from_rgba_unmultiplied(
                            [thumbnail.width as usize, thumbnail.height as usize],
                            &thumbnail.rgba,
                        );
                        let texture = ctx.load_texture(format!("share-{}", choice.id), image, TextureOptions::LINEAR);
                        self.textures.insert(choice.clone(), texture);
                    }
                }
                self.screens = screens;
                self.problem = None;
            }
            Opening::Failed(problem) => self.problem = Some(problem),
            pending @ Opening::Pending(_) => {
                self.loading = pending;
                return;
            }
            Opening::Idle => {}
        }
        if self.taken_at.elapsed() >= REFRESH {
            self.taken_at = Instant::now();
            self.loading = load(ctx);
        } else {
            ctx.request_repaint_after(REFRESH);
        }
    }
}

/// Lists the screens and takes their thumbnails on a thread of its own.
fn load(ctx: &egui::Context) -> Opening<Screens> {
    Opening::start(ctx, "share-picker", || {
        let screens = list_screens().map_err(|error| error.to_string())?;
        Ok(screens
            .into_iter()
            .map(|choice| {
                let thumbnail = Thumbnail::capture(&choice, THUMBNAIL.0, THUMBNAIL.1).ok();
                (choice, thumbnail)
            })
            .collect())
    })
}

impl MeetingScreen {
    /// The share button and its shortcut: opens the picker, or stops sharing.
    pub(super) fn toggle_share(&mut self, ctx: &egui::Context) {
        if self.view.sharing.is_some() {
            self.send(Command::StopSharing);
        } else if self.share_picker.is_some() {
            self.share_picker = None;
        } else {
            self.share_picker = Some(Box::new(SharePicker::open(ctx)));
        }
    }

    /// "You are sharing …" with Stop, above the tiles while we share.
    pub(super) fn sharing_bar(&mut self, ui: &mut egui::Ui) {
        let Some(name) = self.view.sharing.clone() else { return };
        style::banner(ui, style::ACTIVE, |ui| {
            ui.label(egui::RichText::new(format!("🖥 You are sharing {name}")).strong());
            let stop = egui::Button::new(egui::RichText::new("Stop sharing").color(Color32::WHITE)).fill(style::ERROR);
            if ui.add(stop).clicked() {
                self.send(Command::StopSharing);
            }
        });
    }

    /// The picker window: every display and window with its thumbnail; a click shares it.
    pub(super) fn share_picker_window(&mut self, ctx: &egui::Context) {
        let Some(picker) = &mut self.share_picker else { return };
        picker.refresh(ctx);
        let (mut open, mut cancelled, mut chosen) = (true, false, None);
        egui::Window::new("Share your screen")
            .open(&mut open)
            .collapsible(false)
            // A fixed size: the window does not jump as thumbnails arrive.
            .fixed_size([800.0, 460.0])
            .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
            .show(ctx, |ui| {
                if let Some(problem) = &picker.problem {
                    style::banner(ui, style::WARNING, |ui| {
                        ui.label(problem);
                    });
                } else if picker.screens.is_empty() {
                    ui.horizontal(|ui| {
                        ui.spinner();
                        ui.label("Looking for displays and windows…");
                    });
                }
                egui::ScrollArea::vertical().show(ui, |ui| {
                    for (kind, heading) in [(ScreenKind::Display, "Displays"), (ScreenKind::Window, "Windows")] {
                        let screens: Vec<&ScreenChoice> = picker
                            .screens
                            .iter()
                            .map(|(c, _)| c)
                            .filter(|c| c.kind == kind)
                            .collect();
                        if screens.is_empty() {
                            continue;
                        }
                        ui.heading(heading);
                        ui.horizontal_wrapped(|ui| {
                            for choice in screens {
                                if screen_button(ui, choice, picker.textures.get(choice)) {
                                    chosen = Some(choice.clone());
                                }
                            }
                        });
                        ui.add_space(8.0);
                    }
                });
                ui.separator();
                ui.horizontal(|ui| {
                    cancelled = ui.button("Cancel").clicked();
                    ui.label(egui::RichText::new("Others see it large, with the cameras beside it.").weak());
                });
            });
        if let Some(choice) = chosen {
            self.send(Command::ShareScreen(choice));
            self.share_picker = None;
        } else if !open || cancelled {
            self.share_picker = None;
        }
    }
}

/// One choice: its thumbnail (or a grey box while there is none) over its name; true when
/// either is clicked.
fn screen_button(ui: &mut egui::Ui, choice: &ScreenChoice, texture: Option<&TextureHandle>) -> bool {
    let size = egui::vec2(THUMBNAIL.0 as f32, THUMBNAIL.1 as f32);
    ui.vertical(|ui| {
        ui.set_width(size.x);
        let response = match texture {
            Some(texture) => ui.add(egui::Button::image(egui::Image::new(texture).fit_to_exact_size(size))),
            None => ui.add_sized(size, egui::Button::new("…")),
        };
        let name = ui.add(egui::Label::new(&choice.name).truncate().sense(egui::Sense::click()));
        response.on_hover_text(format!("Share {}", choice.name)).clicked() || name.clicked()
    })
    .inner
}
