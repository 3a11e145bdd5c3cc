//! Files in the chat: the Attach button and files dropped on the window (offered to whom
//! the chat writes to), each offer as a card in the chat with Save and Save to Downloads,
//! and the progress of every transfer with its speed, time left and Cancel.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError};

use eframe::egui;
use videomeet_net::files::{name::safe_file_name, size_text};
use videomeet_net::meeting::{Command, Outcome, SaveTo, SharedFile, Transfer};
use videomeet_net::protocol::PeerId;

use super::super::style;
use super::MeetingScreen;

/// What a file dialog, open on a thread of its own, answers.
pub(super) enum Picked {
    /// A file to offer, to everyone or to one person.
    Send(PathBuf, Option<PeerId>),
    /// Where to save file `seq`.
    Save(u64, PathBuf),
}

/// Runs the system's file dialog on a thread, so the window keeps drawing; `None` when
/// the thread cannot start.
fn ask(dialog: impl FnOnce() -> Option<Picked> + Send + 'static) -> Option<Receiver<Option<Picked>>> {
    let (answer, answered) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("file-dialog".into())
        .spawn(move || {
            let _ = answer.send(dialog());
        })
        .ok()?;
    Some(answered)
}

impl MeetingScreen {
    /// Offers the files dropped on the window, and takes the answer of an open dialog.
    pub(super) fn take_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        for path in dropped {
            self.send(Command::SendFile { path, to: self.chat_to });
        }
        let Some(dialog) = &self.file_dialog else {
            return;
        };
        match dialog.try_recv() {
            Ok(Some(Picked::Send(path, to))) => self.send(Command::SendFile { path, to }),
            Ok(Some(Picked::Save(seq, path))) => self.send(Command::SaveFile {
                seq,
                to: SaveTo::File(path),
            }),
            Ok(None) | Err(TryRecvError::Disconnected) => {}
            Err(TryRecvError::Empty) => {
                ctx.request_repaint_after(std::time::Duration::from_millis(100));
                return;
            }
        }
        self.file_dialog = None;
    }

    /// While files are dragged over the window: whom dropping them sends them to.
    pub(super) fn drop_hint(&self, ui: &mut egui::Ui) {
        if ui.ctx().input(|i| i.raw.hovered_files.is_empty()) {
            return;
        }
        let whom = self
            .chat_to
            .map_or_else(|| "everyone".to_owned(), |to| format!("{} privately", self.name_of(to)));
        let painter = ui.ctx().layer_painter(egui::LayerId::new(
            egui::Order::Foreground,
            egui::Id::unique("file-drop"),
        ));
        let screen = ui.ctx().content_rect();
        painter.rect_filled(screen, 0.0, egui::Color32::from_black_alpha(170));
        painter.text(
            screen.center(),
            egui::Align2::CENTER_CENTER,
            format!("Drop to send to {whom}"),
            egui::FontId::proportional(24.0),
            egui::Color32::WHITE,
        );
    }

    /// The Attach button: picks a file to offer to whom the chat writes to.
    pub(super) fn attach_button(&mut self, ui: &mut egui::Ui) {
        let whom = self
            .chat_to
            .map_or_else(|| "everyone".to_owned(), |to| format!("{} privately", self.name_of(to)));
        let button = ui
            .add_enabled(self.file_dialog.is_none(), egui::Button::new("📎 Attach"))
            .on_hover_text(format!("Send a file to {whom} (or drop it on the window)"));
        if button.clicked() {
            let to = self.chat_to;
            self.file_dialog = ask(move || {
                let path = rfd::FileDialog::new().set_title("Send a file").pick_file()?;
                Some(Picked::Send(path, to))
            });
        }
    }

    /// One offer in the chat: its name and size, and what can be done with it.
    pub(super) fn file_card(&mut self, ui: &mut egui::Ui, seq: u64) {
        let Some(file) = self.view.files.get(&seq).cloned() else {
            return;
        };
        let mine = Some(file.offer.from) == self.view.you;
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.label(egui::RichText::new("📄").size(20.0));
                ui.vertical(|ui| {
                    ui.add(egui::Label::new(egui::RichText::new(&file.offer.name).strong()).wrap());
                    ui.label(egui::RichText::new(size_text(file.offer.size)).small().weak());
                });
            });
            if mine {
                self.sent_file_ui(ui, &file);
            } else {
                self.offered_file_ui(ui, &file);
            }
        });
    }

    /// Our offer: each receiver's transfer, and Stop sending.
    fn sent_file_ui(&mut self, ui: &mut egui::Ui, file: &SharedFile) {
        let seq = file.offer.seq;
        if file.transfers.is_empty() {
            ui.label(egui::RichText::new("Offered; nobody has saved it yet.").small().weak());
            return;
        }
        for ((peer, _), transfer) in &file.transfers {
            let name = self.name_of(*peer);
            match &transfer.outcome {
                None => {
                    ui.label(egui::RichText::new(format!("To {name}")).small());
                    if self.progress_ui(ui, transfer) {
                        self.send(Command::CancelFile { seq, peer: Some(*peer) });
                    }
                }
                Some(outcome) => {
                    let text = match outcome {
                        Outcome::Delivered | Outcome::Saved(_) => format!("{name} has it."),
                        Outcome::Cancelled { by_us: true, .. } => format!("You stopped sending it to {name}."),
                        Outcome::Cancelled { .. } => format!("{name} cancelled."),
                        Outcome::Failed(reason) => format!("Not sent to {name}: {reason}."),
                    };
                    ui.add(egui::Label::new(egui::RichText::new(text).small()).wrap());
                }
            }
        }
    }

    /// Someone's offer to us: Save and Save to Downloads, then progress, then where it went.
    fn offered_file_ui(&mut self, ui: &mut egui::Ui, file: &SharedFile) {
        let seq = file.offer.seq;
        let transfer = file.transfers.get(&(file.offer.from, false));
        match transfer.map(|transfer| (transfer, &transfer.outcome)) {
            Some((transfer, None)) => {
                if self.progress_ui(ui, transfer) {
                    self.send(Command::CancelFile { seq, peer: None });
                }
            }
            Some((_, Some(Outcome::Saved(path)))) => {
                ui.add(egui::Label::new(egui::RichText::new(format!("Saved to {}", path.display())).small()).wrap());
                if ui.button("Open folder").clicked()
                    && let Some(folder) = path.parent()
                    && let Err(problem) = crate::folders::open_in_file_manager(folder)
                {
                    tracing::warn!(%problem, "could not show the saved file");
                }
            }
            Some((_, Some(outcome))) => {
                let text = match outcome {
                    Outcome::Cancelled { by_us: true, .. } => "You cancelled it; nothing was kept.".to_owned(),
                    Outcome::Cancelled { .. } => format!("{} stopped sending it; nothing was kept.", file.offer.sender),
                    Outcome::Failed(reason) => format!("Not received: {reason}. Nothing was kept."),
                    Outcome::Delivered | Outcome::Saved(_) => String::new(),
                };
                ui.add(
                    egui::Label::new(
                        egui::RichText::new(text)
                            .small()
                            .color(style::readable(ui, style::WARNING)),
                    )
                    .wrap(),
                );
                self.save_buttons(ui, file);
            }
            None => self.save_buttons(ui, file),
        }
    }

    /// Save… (the system's dialog, the name filled in) and Save to Downloads.
    fn save_buttons(&mut self, ui: &mut egui::Ui, file: &SharedFile) {
        let seq = file.offer.seq;
        let name = safe_file_name(&file.offer.name);
        ui.horizontal_wrapped(|ui| {
            let save = ui.add_enabled(self.file_dialog.is_none(), egui::Button::new("Save…"));
            if save.clicked() {
                let folder = crate::folders::downloads_dir();
                self.file_dialog = ask(move || {
                    let mut dialog = rfd::FileDialog::new().set_title("Save the file").set_file_name(name);
                    if let Some(folder) = folder {
                        dialog = dialog.set_directory(folder);
                    }
                    Some(Picked::Save(seq, dialog.save_file()?))
                });
            }
            if let Some(downloads) = crate::folders::downloads_dir()
                && ui.button("Save to Downloads").clicked()
            {
                self.send(Command::SaveFile {
                    seq,
                    to: SaveTo::Folder(downloads),
                });
            }
        });
    }

    /// A transfer under way: its bar, "42 % · 3.1 MB/s · 5 s left" and Cancel; true when
    /// Cancel was clicked.
    fn progress_ui(&self, ui: &mut egui::Ui, transfer: &Transfer) -> bool {
        let progress = transfer.progress;
        let fraction = if progress.total == 0 {
            1.0
        } else {
            progress.bytes as f32 / progress.total as f32
        };
        ui.add(egui::ProgressBar::new(fraction).show_percentage());
        let mut cancelled = false;
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new(progress_text(transfer)).small().weak());
            cancelled = ui.small_button("Cancel").clicked();
        });
        cancelled
    }
}

/// "3.1 MB/s · 5 s left", or "Starting…" before anything moved.
fn progress_text(transfer: &Transfer) -> String {
    let progress = transfer.progress;
    if progress.bytes_per_second < 1.0 {
        return "Starting…".into();
    }
    let left = (progress.total - progress.bytes.min(progress.total)) as f64 / progress.bytes_per_second;
    let left = if left < 60.0 {
        format!("{} s left", left.ceil() as u64)
    } else {
        format!("{} min left", (left / 60.0).ceil() as u64)
    };
    format!("{}/s · {left}", size_text(progress.bytes_per_second as u64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use videomeet_net::meeting::Progress;

    #[test]
    fn progress_reads_speed_and_time_left() {
        let mut transfer = Transfer {
            progress: Progress {
                bytes: 0,
                total: 100 << 20,
                bytes_per_second: 0.0,
            },
            outcome: None,
        };
        assert_eq!(progress_text(&transfer), "Starting…");
        transfer.progress = Progress {
            bytes: 40 << 20,
            total: 100 << 20,
            bytes_per_second: (10 << 20) as f64,
        };
        assert_eq!(progress_text(&transfer), "10 MB/s · 6 s left");
        transfer.progress.bytes_per_second = (100 << 10) as f64;
        assert_eq!(progress_text(&transfer), "100 KB/s · 11 min left");
    }
}
