//! Recording in the window: the Record button (to the Videos folder, or anywhere through
//! the system's save dialog), who records as everyone sees it, the notice when we came into
//! a meeting being recorded, and the card of a finished recording with Show in folder.

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Instant;

use eframe::egui;
use videomeet_media::record::Finished;
use videomeet_net::meeting::Command;
use videomeet_net::protocol::{MediaState, PeerId, PeerInfo};

use super::super::style;
use super::MeetingScreen;

/// What the window keeps about recordings.
#[derive(Default)]
pub(super) struct Recordings {
    /// The save dialog's answer, while it is open.
    dialog: Option<Receiver<Option<PathBuf>>>,
    /// We came into the meeting while these people recorded: asked whether to stay.
    pub(super) found_recording: Option<Vec<String>>,
    /// Our last recording that ended, until the user closes its card.
    finished: Option<Finished>,
    /// Hosting: guests may record (Meeting info's checkbox).
    pub(super) guests_may: bool,
    /// Each person's sound in a file of its own too (a setting, kept between meetings).
    pub(super) voice_files: bool,
}

impl Recordings {
    pub(super) fn new(guests_may: bool) -> Self {
        Self {
            guests_may,
            ..Self::default()
        }
    }
}

impl MeetingScreen {
    /// Whether we may record now: hosting, a co-host, or guests may.
    pub(super) fn may_record(&self) -> bool {
        let guests_may = self
            .view
            .meeting
            .as_ref()
            .is_none_or(|meeting| !meeting.no_guest_recording);
        guests_may || self.hosting || self.view.cohost
    }

    /// Record (or Stop recording), and a small button beside it for choosing the file.
    pub(super) fn record_buttons(&mut self, ui: &mut egui::Ui) {
        if self.view.recording.is_some() {
            let stop = egui::Button::new(egui::RichText::new("⏹ Stop recording").color(egui::Color32::WHITE))
                .fill(style::ERROR);
            if ui.add(stop).on_hover_text("Stop recording; the file is kept").clicked() {
                self.send(Command::StopRecording);
            }
            return;
        }
        let allowed = self.may_record();
        let idle = self.recordings.dialog.is_none();
        let hint = if allowed {
            "Record the meeting into your Videos folder; everyone sees that you record"
        } else {
            "The host does not let guests record this meeting"
        };
        if ui
            .add_enabled(allowed && idle, egui::Button::new("⏺ Record"))
            .on_hover_text(hint)
            .on_disabled_hover_text(hint)
            .clicked()
        {
            self.record_into(None);
        }
        let mut choose = false;
        ui.add_enabled_ui(allowed && idle, |ui| {
            ui.menu_button("…", |ui| {
                if ui.button("Record into a file…").clicked() {
                    choose = true;
                    ui.close();
                }
                ui.checkbox(
                    &mut self.recordings.voice_files,
                    "Each person's sound in a file of its own too",
                )
                .on_hover_text("Beside the recording, NAME - Grace.m4a and so on: for editing and transcripts");
            })
            .response
            .on_hover_text("Where to record, and what")
            .on_disabled_hover_text(hint);
        });
        if choose {
            let suggested = self.suggested_recording_path();
            let (answer, answered) = std::sync::mpsc::sync_channel(1);
            let started = std::thread::Builder::new().name("record-dialog".into()).spawn(move || {
                let mut dialog = rfd::FileDialog::new()
                    .set_title("Record the meeting into")
                    .add_filter("MP4 video", &["mp4"]);
                if let Some(path) = &suggested {
                    if let Some(folder) = path.parent() {
                        dialog = dialog.set_directory(folder);
                    }
                    if let Some(name) = path.file_name() {
                        dialog = dialog.set_file_name(name.to_string_lossy());
                    }
                }
                let _ = answer.send(dialog.save_file());
            });
            if started.is_ok() {
                self.recordings.dialog = Some(answered);
            }
        }
    }

    /// A new file in the Videos folder named after the meeting and the time.
    fn suggested_recording_path(&self) -> Option<PathBuf> {
        let folder = crate::folders::videos_dir()?;
        Some(crate::folders::recording_path(
            &folder,
            &self.title,
            chrono::Local::now(),
        ))
    }

    /// Starts recording into `path`, or into a new file in the Videos folder.
    fn record_into(&mut self, path: Option<PathBuf>) {
        let now = self.now();
        let Some(path) = path.or_else(|| self.suggested_recording_path()) else {
            self.tell(
                "No Videos folder is known here: choose a file with … beside Record.".into(),
                true,
                now,
            );
            return;
        };
        if let Some(folder) = path.parent()
            && let Err(error) = std::fs::create_dir_all(folder)
        {
            self.tell(
                format!("Could not record into {}: {error}", folder.display()),
                true,
                now,
            );
            return;
        }
        self.send(Command::StartRecording {
            path,
            voice_files: self.recordings.voice_files,
        });
    }

    /// Takes the save dialog's answer once it comes.
    pub(super) fn take_record_dialog(&mut self, ctx: &egui::Context) {
        let Some(dialog) = &self.recordings.dialog else { return };
        match dialog.try_recv() {
            Ok(Some(path)) => {
                self.recordings.dialog = None;
                let path = if path.extension().is_none() {
                    path.with_extension("mp4")
                } else {
                    path
                };
                self.record_into(Some(path));
            }
            Ok(None) | Err(TryRecvError::Disconnected) => self.recordings.dialog = None,
            Err(TryRecvError::Empty) => ctx.request_repaint_after(std::time::Duration::from_millis(100)),
        }
    }

    /// What is news about recordings in `event`, before the view takes it in.
    pub(super) fn recording_news(&mut self, event: &videomeet_net::meeting::Event, now: Instant) {
        use videomeet_net::meeting::Event;
        match event {
            // Someone was recording when we came in: asked whether to stay.
            Event::PeerJoined(PeerInfo { name, media, .. }) if !self.caught_up && media.recording => {
                self.recordings
                    .found_recording
                    .get_or_insert_with(Vec::new)
                    .push(name.clone());
            }
            Event::MediaState { id, media } => self.recording_changed(*id, media, now),
            Event::RecordingStarted { path } => {
                self.my_media.recording = true;
                let name = path
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                self.tell(
                    format!("Recording into {name}. Everyone sees that you record."),
                    false,
                    now,
                );
            }
            Event::RecordingEnded(finished) => {
                self.my_media.recording = false;
                self.recordings.finished = Some(finished.clone());
                let name = finished
                    .path
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                self.notices.push(crate::ui::notify::Notice {
                    summary: format!("Recording of {} saved", self.title),
                    body: name,
                });
            }
            Event::GuestRecording(allowed) => self.recordings.guests_may = *allowed,
            _ => {}
        }
    }

    /// Someone else started or stopped recording: everyone is told.
    fn recording_changed(&mut self, id: PeerId, media: &MediaState, now: Instant) {
        if Some(id) == self.view.you {
            return;
        }
        let Some(person) = self.view.people.get(&id) else {
            return;
        };
        if person.info.media.recording == media.recording {
            return;
        }
        let name = person.info.name.clone();
        let text = if media.recording {
            format!("{name} is recording the meeting.")
        } else {
            format!("{name} stopped recording.")
        };
        self.tell(text, false, now);
    }

    /// `message` for the home screen once the meeting is over, with where our recording
    /// went when we recorded (leaving closes the file).
    pub(super) fn and_the_recording(&self, message: String) -> String {
        let path = self
            .view
            .recording
            .as_ref()
            .or(self.recordings.finished.as_ref().map(|finished| &finished.path));
        match path {
            Some(path) => format!("{message} Your recording is saved as {}.", path.display()),
            None => message,
        }
    }

    /// Anyone records now (shown in the top bar), by name.
    pub(super) fn recording_names(&self) -> Vec<String> {
        let ours = self.view.recording.as_ref().map(|_| "you".to_owned());
        let others = self
            .view
            .people
            .values()
            .filter(|person| person.info.media.recording)
            .map(|person| person.info.name.clone());
        ours.into_iter().chain(others).collect()
    }

    /// The question on coming into a meeting being recorded, and the card of a finished
    /// recording.
    pub(super) fn recording_windows(&mut self, ctx: &egui::Context) {
        if let Some(names) = self.recordings.found_recording.clone() {
            let (mut stay, mut leave) = (false, false);
            egui::Window::new("This meeting is being recorded")
                .collapsible(false)
                .resizable(false)
                .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
                .show(ctx, |ui| {
                    ui.label(format!(
                        "{} {} recording this meeting: what you say and show is in the recording.",
                        names.join(" and "),
                        if names.len() == 1 { "is" } else { "are" }
                    ));
                    ui.add_space(8.0);
                    ui.horizontal(|ui| {
                        stay = ui.button("Stay in the meeting").clicked();
                        leave = ui.button("Leave the meeting").clicked();
                    });
                });
            if stay {
                self.recordings.found_recording = None;
            } else if leave {
                self.recordings.found_recording = None;
                self.leave();
            }
        }
        let Some(finished) = self.recordings.finished.clone() else {
            return;
        };
        let mut open = true;
        let title = if finished.error.is_some() {
            "Recording stopped"
        } else {
            "Recording saved"
        };
        egui::Window::new(title)
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::RIGHT_BOTTOM, egui::vec2(-8.0, -56.0))
            .show(ctx, |ui| {
                if let Some(error) = &finished.error {
                    ui.colored_label(
                        style::readable(ui, style::WARNING),
                        format!("The recording stopped: {error}. The file plays up to that moment."),
                    );
                }
                let name = finished
                    .path
                    .file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                ui.label(egui::RichText::new(name).strong());
                let seconds = finished.duration.as_secs();
                ui.label(format!(
                    "{}:{:02} · {}",
                    seconds / 60,
                    seconds % 60,
                    videomeet_net::files::size_text(finished.bytes)
                ));
                match finished.voice_files.len() {
                    0 => {}
                    1 => drop(ui.label("and one person's sound in a file beside it")),
                    n => drop(ui.label(format!("and each person's sound in a file beside it ({n} files)"))),
                }
                if ui.button("Show in folder").clicked()
                    && let Some(folder) = finished.path.parent()
                    && let Err(problem) = crate::folders::open_in_file_manager(folder)
                {
                    let now = self.now();
                    self.tell(problem, true, now);
                }
            });
        if !open {
            self.recordings.finished = None;
        }
    }
}
