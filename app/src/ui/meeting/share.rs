//! Sharing the screen: the picker with a live thumbnail of every display and window (or, where
//! the desktop's own dialog picks, as on Wayland, a window that asks it), and the "You are
//! sharing" bar with its Stop button.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use eframe::egui::{self, Color32, ColorImage, TextureHandle, TextureOptions};
use videomeet_media::screen::{
    LastShared, ScreenChoice, ScreenError, ScreenKind, Thumbnail, ask_desktop, desktop_picks, last_shared, list_screens,
};
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
    /// Where the desktop's own dialog picks: asking it.
    desktop: Option<DesktopAsk>,
}

/// Asking the desktop's dialog what to share; `None` when the person cancelled it.
struct DesktopAsk {
    asking: Opening<Option<ScreenChoice>>,
    /// What was shared last through the dialog: offered again without asking.
    last: Option<LastShared>,
}

impl DesktopAsk {
    fn open(ctx: &egui::Context) -> Self {
        let last = last_shared();
        let asking = match last {
            Some(_) => Opening::Idle,
            None => ask(ctx, None),
        };
        Self { asking, last }
    }
}

/// Asks the desktop's dialog on a thread of its own (it waits for the person).
fn ask(ctx: &egui::Context, again: Option<LastShared>) -> Opening<Option<ScreenChoice>> {
    Opening::start(ctx, "share-desktop", move || match ask_desktop(again.as_ref()) {
        Ok(choice) => Ok(Some(choice)),
        Err(ScreenError::Cancelled) => Ok(None),
        Err(error) => Err(error.to_string()),
    })
}

impl SharePicker {
    fn open(ctx: &egui::Context) -> Self {
        let desktop = desktop_picks().then(|| DesktopAsk::open(ctx));
        Self {
            screens: Vec::new(),
            loading: if desktop.is_some() { Opening::Idle } else { load(ctx) },
            taken_at: Instant::now(),
            textures: HashMap::new(),
            problem: None,
            desktop,
        }
    }

    /// Takes in a finished list and starts the next one when it is time.
    fn refresh(&mut self, ctx: &egui::Context) {
        if self.desktop.is_some() {
            return;
        }
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
        if self
            .share_picker
            .as_ref()
            .is_some_and(|picker| picker.desktop.is_some())
        {
            return self.desktop_ask_window(ctx);
        }
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

impl MeetingScreen {
    /// Where the desktop's dialog picks: waits for it, or offers what was shared last again.
    fn desktop_ask_window(&mut self, ctx: &egui::Context) {
        let Some(desktop) = self.share_picker.as_mut().and_then(|picker| picker.desktop.as_mut()) else {
            return;
        };
        desktop.asking.poll();
        let (mut open, mut cancelled, mut chosen, mut done) = (true, false, None, false);
        let mut ask_again = None;
        egui::Window::new("Share your screen")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
            .show(ctx, |ui| {
                match &desktop.asking {
                    Opening::Pending(_) => {
                        ui.horizontal(|ui| {
                            ui.spinner();
                            ui.label("Choose a display or window in your desktop's dialog…");
                        });
                    }
                    Opening::Ready(Some(choice)) => chosen = Some(choice.clone()),
                    Opening::Ready(None) => done = true,
                    Opening::Failed(problem) => {
                        style::banner(ui, style::WARNING, |ui| {
                            ui.label(problem);
                        });
                        if ui.button("Try again").clicked() {
                            ask_again = Some(None);
                        }
                    }
                    Opening::Idle => {
                        if let Some(last) = &desktop.last
                            && ui.button(format!("Share {} again", last.name)).clicked()
                        {
                            ask_again = Some(Some(last.clone()));
                        }
                        if ui.button("Choose what to share…").clicked() {
                            ask_again = Some(None);
                        }
                    }
                }
                ui.separator();
                ui.horizontal(|ui| {
                    cancelled = ui.button("Cancel").clicked();
                    ui.label(egui::RichText::new("Others see it large, with the cameras beside it.").weak());
                });
            });
        if let Some(again) = ask_again {
            desktop.asking = ask(ctx, again);
        }
        if let Some(choice) = chosen {
            self.send(Command::ShareScreen(choice));
            self.share_picker = None;
        } else if done || !open || cancelled {
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
