//! The setup screen before a meeting: camera with a live preview, microphone with a level
//! meter, speaker with a test sound, and whether to join with each on.

use std::sync::Arc;

use eframe::egui;
use videomeet_media::audio::{AudioLevel, play_test_sound};
use videomeet_media::capture::{self, CaptureThread};
use videomeet_media::codec::OpusConfig;
use videomeet_media::slot::VideoSlot;
use videomeet_media::video::VideoFormat;
use videomeet_media::{DeviceList, MicrophoneChoice, SpeakerChoice, VideoChoice};
use videomeet_net::JoinTarget;
use videomeet_net::meeting::{MeetingConfig, Role};
use videomeet_net::peer::PeerConfig;

use super::background::Opening;
use super::settings::Settings;
use super::style;
use super::video_view::{PREVIEW_TILE, video_ui};

/// The camera preview's size and rate (the meeting itself captures at [`MEETING_FORMAT`]).
const PREVIEW_FORMAT: VideoFormat = VideoFormat::P360;
/// What a meeting captures and sends.
pub const MEETING_FORMAT: VideoFormat = VideoFormat::P720;

/// What the user is about to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// Host a new meeting.
    Host {
        /// Its title.
        title: String,
        /// Its passcode, if any.
        passcode: Option<String>,
        /// Guests wait until the host lets them in.
        ask_to_join: bool,
    },
    /// Join a meeting.
    Join {
        /// Where.
        target: JoinTarget,
        /// What to call it on screen (its title, or its address).
        title: String,
        /// Whether its announcement says a passcode is needed.
        passcode_required: bool,
    },
}

/// Where joining stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Choosing devices.
    Choosing,
    /// Waiting for the meeting to start or answer.
    Connecting,
    /// The host makes us wait until it lets us in; its words.
    Waiting(String),
    /// Joining failed; the message says why and the button tries again.
    Failed(String),
}

/// What the user asked for on this screen.
pub enum SetupAction {
    /// Back to the home screen.
    Back,
    /// Start or join the meeting with these choices.
    Start(Box<(Role, MeetingConfig)>),
}

/// The setup screen's state.
pub struct SetupScreen {
    /// What happens when the user goes on.
    pub plan: Plan,
    /// Where joining stands.
    pub status: Status,
    /// Show the passcode field (the meeting asks for one, or a passcode was wrong).
    pub ask_passcode: bool,
    devices: Option<DeviceList>,
    /// The chosen camera (`None` when there is none at all).
    pub camera: Option<VideoChoice>,
    /// The chosen microphone.
    pub microphone: Option<MicrophoneChoice>,
    /// The chosen speaker.
    pub speaker: Option<SpeakerChoice>,
    passcode: String,
    /// The camera preview's newest frame.
    pub(super) preview: Arc<VideoSlot>,
    mic_level: Arc<AudioLevel>,
    live: bool,
    camera_thread: Opening<CaptureThread>,
    microphone_thread: Opening<CaptureThread>,
    test_sound: Opening<()>,
}

impl SetupScreen {
    /// A setup screen for `plan`; devices appear once listed ([`Self::set_devices`]).
    pub fn new(plan: Plan) -> Self {
        let ask_passcode = matches!(
            plan,
            Plan::Join {
                passcode_required: true,
                ..
            }
        );
        Self {
            plan,
            status: Status::Choosing,
            ask_passcode,
            devices: None,
            camera: None,
            microphone: None,
            speaker: None,
            passcode: String::new(),
            preview: Arc::new(VideoSlot::default()),
            mic_level: Arc::new(AudioLevel::default()),
            live: false,
            camera_thread: Opening::Idle,
            microphone_thread: Opening::Idle,
            test_sound: Opening::Idle,
        }
    }

    /// Takes the device list, choosing what the settings remember (or the first of each).
    pub fn set_devices(&mut self, devices: DeviceList, settings: &Settings) {
        // What is chosen already (on the command line) comes first, then what was remembered.
        let wanted = |chosen: Option<String>, remembered: &Option<String>| {
            chosen.or_else(|| remembered.clone()).unwrap_or_default()
        };
        let camera = wanted(self.camera.as_ref().map(VideoChoice::id), &settings.camera);
        let microphone = wanted(self.microphone.as_ref().map(MicrophoneChoice::id), &settings.microphone);
        let speaker = wanted(self.speaker.as_ref().map(SpeakerChoice::id), &settings.speaker);
        self.camera = pick(&devices.cameras, &camera, VideoChoice::id);
        self.microphone = pick(&devices.microphones, &microphone, MicrophoneChoice::id);
        self.speaker = pick(&devices.speakers, &speaker, SpeakerChoice::id);
        self.devices = Some(devices);
    }

    /// Opens the chosen camera and microphone for the preview and the meter.
    pub fn open_devices(&mut self, ctx: &egui::Context) {
        self.live = true;
        self.open_camera(ctx);
        self.open_microphone(ctx);
    }

    /// Closes the preview devices, so the meeting can open them.
    pub fn close_devices(&mut self) {
        self.live = false;
        self.camera_thread = Opening::Idle;
        self.microphone_thread = Opening::Idle;
        self.mic_level.reset();
    }

    fn open_camera(&mut self, ctx: &egui::Context) {
        self.camera_thread = match self.camera.clone() {
            Some(camera) if self.live => {
                let (slot, repaint) = (Arc::clone(&self.preview), ctx.clone());
                Opening::start(ctx, "camera-preview", move || {
                    // A preview camera that goes away just stops (the capture thread logs
                    // why); the meeting is what reports it to the user.
                    capture::start_preview(camera, PREVIEW_FORMAT, slot, move || repaint.request_repaint())
                })
            }
            _ => Opening::Idle,
        };
    }

    fn open_microphone(&mut self, ctx: &egui::Context) {
        self.mic_level.reset();
        self.microphone_thread = match self.microphone.clone() {
            Some(microphone) if self.live => {
                let level = Arc::clone(&self.mic_level);
                Opening::start(ctx, "microphone-preview", move || {
                    // As with the camera, the meeting is what reports a microphone going away.
                    capture::start_audio(microphone, OpusConfig::default(), false, level, None, |_, _| {}, |_| {})
                })
            }
            _ => Opening::Idle,
        };
    }

    /// Draws the screen; returns what the user chose.
    pub fn ui(&mut self, ui: &mut egui::Ui, settings: &mut Settings) -> Option<SetupAction> {
        self.camera_thread.poll();
        self.microphone_thread.poll();
        self.test_sound.poll();
        let mut action = None;
        let (verb, title) = match &self.plan {
            Plan::Host { title, .. } => ("Host", title.clone()),
            Plan::Join { title, .. } => ("Join", title.clone()),
        };
        ui.horizontal(|ui| {
            if ui.button("⬅ Back").clicked() {
                action = Some(SetupAction::Back);
            }
            ui.heading(format!("{verb} “{title}”"));
        });
        ui.add_space(8.0);
        ui.columns(2, |columns| {
            self.preview_ui(&mut columns[0], settings);
            style::card(&mut columns[1], |ui| self.devices_ui(ui, settings));
        });
        ui.add_space(8.0);
        if let Some(start) = self.join_ui(ui, settings, verb) {
            action = Some(start);
        }
        if self.live {
            // The meter moves with the microphone: repaint while it is shown.
            ui.ctx().request_repaint_after(std::time::Duration::from_millis(50));
        }
        action
    }

    fn preview_ui(&mut self, ui: &mut egui::Ui, settings: &mut Settings) {
        let width = ui.available_width();
        let (rect, _) = ui.allocate_exact_size(egui::vec2(width, width * 9.0 / 16.0), egui::Sense::hover());
        ui.painter().rect_filled(rect, 8.0, style::TILE);
        let shown =
            settings.camera_on && video_ui(ui, PREVIEW_TILE, &self.preview, rect, settings.mirror_self_view).is_some();
        if !shown {
            let text = if !settings.camera_on {
                "Your camera is off".to_owned()
            } else if let Some(problem) = self.camera_thread.problem() {
                problem.to_owned()
            } else if self.camera.is_none() && self.devices.is_some() {
                "No camera found".to_owned()
            } else {
                "Starting the camera…".to_owned()
            };
            ui.painter().text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                text,
                egui::FontId::proportional(16.0),
                egui::Color32::from_gray(200),
            );
        }
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            ui.checkbox(&mut settings.camera_on, "Join with camera on");
            ui.checkbox(&mut settings.mic_on, "Join with microphone on");
        });
    }

    fn devices_ui(&mut self, ui: &mut egui::Ui, settings: &mut Settings) {
        ui.horizontal(|ui| {
            let label = ui.label("Your name");
            ui.text_edit_singleline(&mut settings.name).labelled_by(label.id);
        });
        ui.separator();
        let Some(devices) = self.devices.clone() else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Looking for cameras, microphones and speakers…");
            });
            return;
        };
        let ctx = ui.ctx().clone();
        if choose(ui, "Camera", &mut self.camera, &devices.cameras, |c| {
            c.label().to_owned()
        }) {
            settings.camera = self.camera.as_ref().map(VideoChoice::id);
            self.open_camera(&ctx);
        }
        for note in &devices.notes {
            ui.label(
                egui::RichText::new(note)
                    .italics()
                    .color(style::readable(ui, style::WARNING)),
            );
        }
        ui.add_space(6.0);
        if choose(
            ui,
            "Microphone",
            &mut self.microphone,
            &devices.microphones,
            MicrophoneChoice::label,
        ) {
            settings.microphone = self.microphone.as_ref().map(MicrophoneChoice::id);
            self.open_microphone(&ctx);
        }
        ui.horizontal(|ui| {
            style::level_meter(ui, self.mic_level.get(), 200.0);
            if let Some(problem) = self.microphone_thread.problem() {
                ui.label(egui::RichText::new(problem).color(style::readable(ui, style::ERROR)));
            }
        });
        ui.add_space(6.0);
        if choose(ui, "Speaker", &mut self.speaker, &devices.speakers, |s| {
            s.label().to_owned()
        }) {
            settings.speaker = self.speaker.as_ref().map(SpeakerChoice::id);
        }
        ui.horizontal(|ui| {
            let playing = matches!(self.test_sound, Opening::Pending(_));
            let button = ui.add_enabled(
                !playing && self.speaker.is_some(),
                egui::Button::new(if playing { "Playing…" } else { "🔊 Play test sound" }),
            );
            if button.clicked()
                && let Some(speaker) = self.speaker.clone()
            {
                self.test_sound = Opening::start(&ctx, "test-sound", move || {
                    play_test_sound(&speaker).map_err(|error| error.to_string())
                });
            }
            if let Some(problem) = self.test_sound.problem() {
                ui.label(egui::RichText::new(problem).color(style::readable(ui, style::ERROR)));
            }
        });
    }

    fn join_ui(&mut self, ui: &mut egui::Ui, settings: &Settings, verb: &str) -> Option<SetupAction> {
        let mut submit = false;
        if self.ask_passcode {
            ui.horizontal(|ui| {
                let label = ui.label("Passcode");
                let field = ui
                    .add(egui::TextEdit::singleline(&mut self.passcode).password(true))
                    .labelled_by(label.id);
                submit = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            });
        }
        if let Status::Failed(problem) = &self.status {
            style::banner(ui, style::ERROR, |ui| {
                ui.label(problem);
            });
        }
        let connecting = matches!(self.status, Status::Connecting | Status::Waiting(_));
        // An empty passcode would only be refused, and use up one of the free tries.
        let passcode_missing = self.ask_passcode && self.passcode.trim().is_empty();
        if passcode_missing {
            ui.label(egui::RichText::new("This meeting needs its passcode: ask the host for it.").weak());
        }
        let ready = self.devices.is_some() && !settings.name.trim().is_empty() && !connecting && !passcode_missing;
        ui.horizontal(|ui| {
            let label = match (&self.status, verb) {
                (Status::Failed(_), _) => "Try again".to_owned(),
                (_, "Host") => "Start the meeting".to_owned(),
                _ => "Join now".to_owned(),
            };
            submit |= ui
                .add_enabled(ready, style::primary_button(label).min_size(egui::vec2(160.0, 32.0)))
                .clicked();
            if connecting {
                ui.spinner();
                match &self.status {
                    Status::Waiting(message) => ui.label(message),
                    _ => ui.label("Connecting…"),
                };
            }
        });
        if !submit || !ready {
            return None;
        }
        self.status = Status::Connecting;
        Some(SetupAction::Start(Box::new((
            self.role(&settings.name),
            self.meeting_config(settings),
        ))))
    }

    fn role(&self, name: &str) -> Role {
        let passcode = Some(self.passcode.trim().to_owned()).filter(|p| !p.is_empty());
        match &self.plan {
            Plan::Host {
                title,
                passcode,
                ask_to_join,
            } => {
                let mut host = crate::hosting::host_config(title, name.trim());
                host.passcode = passcode.clone();
                host.ask_to_join = *ask_to_join;
                Role::Host(host)
            }
            Plan::Join { target, .. } => Role::Join {
                target: target.clone(),
                passcode,
            },
        }
    }

    fn meeting_config(&self, settings: &Settings) -> MeetingConfig {
        MeetingConfig {
            name: settings.name.trim().to_owned(),
            camera: self.camera.clone().unwrap_or(VideoChoice::TestPattern),
            video_format: MEETING_FORMAT,
            camera_on: settings.camera_on && self.camera.is_some(),
            microphone: self.microphone.clone().unwrap_or(MicrophoneChoice::Silence),
            mic_on: settings.mic_on,
            speaker: self.speaker.clone().unwrap_or(SpeakerChoice::Mute),
            voice_processing: settings.voice_processing,
            audio_tap: None,
            peer: PeerConfig::default(),
            announce: true,
            session: None,
            local_ip: None,
        }
    }

    /// The chosen devices, for switching during the meeting.
    pub fn devices(&self) -> Option<&DeviceList> {
        self.devices.as_ref()
    }
}

/// The remembered choice if it is still there, else the first.
fn pick<T: Clone>(choices: &[T], remembered: &str, id: impl Fn(&T) -> String) -> Option<T> {
    choices
        .iter()
        .find(|choice| id(choice) == remembered)
        .or_else(|| choices.first())
        .cloned()
}

/// A heading and a drop-down of `choices` under it; true when the user picked another one.
pub fn choose<T: Clone + PartialEq>(
    ui: &mut egui::Ui,
    heading: &str,
    current: &mut Option<T>,
    choices: &[T],
    label: impl Fn(&T) -> String,
) -> bool {
    let before = current.clone();
    let heading = ui.label(heading);
    let shown = current.as_ref().map_or_else(|| "None found".to_owned(), &label);
    egui::ComboBox::from_id_salt(heading.id)
        .width(ui.available_width().min(320.0))
        .selected_text(shown)
        .show_ui(ui, |ui| {
            for choice in choices {
                let selected = current.as_ref() == Some(choice);
                if ui.selectable_label(selected, label(choice)).clicked() {
                    *current = Some(choice.clone());
                }
            }
        })
        .response
        .labelled_by(heading.id);
    *current != before
}
