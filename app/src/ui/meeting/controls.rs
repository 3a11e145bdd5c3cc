//! The bars around the tiles: the title and meeting info on top, the controls at the
//! bottom, keyboard shortcuts, and the news and problems reported during the meeting.

use eframe::egui::{self, Key, KeyboardShortcut, Modifiers};
use videomeet_net::meeting::{Command, WebPage};
use videomeet_net::protocol::REACTIONS;

use super::super::settings::Settings;
use super::super::setup::choose;
use super::super::style;
use super::{MeetingScreen, Panel, ViewMode};

/// Microphone on and off.
pub const TOGGLE_MIC: KeyboardShortcut = KeyboardShortcut::new(Modifiers::ALT, Key::A);
/// Camera on and off.
pub const TOGGLE_CAMERA: KeyboardShortcut = KeyboardShortcut::new(Modifiers::ALT, Key::V);
/// Chat panel.
pub const TOGGLE_CHAT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::ALT, Key::H);
/// Participants panel.
pub const TOGGLE_PEOPLE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::ALT, Key::U);
/// Share the screen, or stop sharing.
pub const TOGGLE_SHARE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::ALT, Key::S);
/// Raise or lower the hand.
pub const TOGGLE_HAND: KeyboardShortcut = KeyboardShortcut::new(Modifiers::ALT, Key::Y);
/// Speaker view or gallery view (W, as Jitsi Meet's shortcut for its tile view).
pub const TOGGLE_VIEW: KeyboardShortcut = KeyboardShortcut::new(Modifiers::ALT, Key::W);
/// Leave the meeting.
pub const LEAVE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::ALT, Key::Q);
/// The list of keyboard shortcuts.
pub const SHOW_SHORTCUTS: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F1);
/// The list of keyboard shortcuts, as `?` (Shift+/ on many keyboards) opens it in other
/// meeting apps.
pub const SHOW_SHORTCUTS_TOO: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::Questionmark);

/// A keyboard shortcut of the meeting screen: its keys, what it does in words, and the
/// doing itself.
struct Shortcut {
    /// Any of these does it.
    keys: &'static [KeyboardShortcut],
    /// What it does, as the list of shortcuts says.
    does: &'static str,
    /// What happens.
    action: fn(&mut MeetingScreen, &egui::Context),
}

/// Every shortcut of the meeting screen: both what the keys do and what the list of
/// shortcuts shows come from here.
const SHORTCUTS: &[Shortcut] = &[
    Shortcut {
        keys: &[TOGGLE_MIC],
        does: "Microphone on or off",
        action: |screen, _| screen.toggle_mic(),
    },
    Shortcut {
        keys: &[TOGGLE_CAMERA],
        does: "Camera on or off",
        action: |screen, _| screen.toggle_camera(),
    },
    Shortcut {
        keys: &[TOGGLE_CHAT],
        does: "Chat open or closed",
        action: |screen, _| screen.toggle_panel(Panel::Chat),
    },
    Shortcut {
        keys: &[TOGGLE_PEOPLE],
        does: "Participants open or closed",
        action: |screen, _| screen.toggle_panel(Panel::People),
    },
    Shortcut {
        keys: &[TOGGLE_SHARE],
        does: "Share the screen, or stop sharing",
        action: |screen, ctx| screen.toggle_share(ctx),
    },
    Shortcut {
        keys: &[TOGGLE_HAND],
        does: "Raise or lower your hand",
        action: |screen, _| screen.toggle_hand(),
    },
    Shortcut {
        keys: &[TOGGLE_VIEW],
        does: "Speaker view or gallery view",
        action: |screen, _| screen.toggle_view_mode(),
    },
    Shortcut {
        keys: &[LEAVE],
        does: "Leave the meeting",
        action: |screen, _| screen.ask_to_leave(),
    },
    Shortcut {
        keys: &[SHOW_SHORTCUTS, SHOW_SHORTCUTS_TOO],
        does: "This list of shortcuts",
        action: |screen, _| screen.show_shortcuts = true,
    },
];

/// The character `shortcut` types, if it is one key that does (`?`): such a key is left to
/// a text field that has the keyboard, and is written as that character.
fn typed_character(shortcut: &KeyboardShortcut) -> Option<&'static str> {
    let symbol = shortcut.logical_key.symbol_or_name();
    let typed = shortcut.modifiers.is_none() && matches!(symbol.as_bytes(), [byte] if byte.is_ascii_graphic());
    typed.then_some(symbol)
}

/// `shortcut` in words, as the list of shortcuts writes it: "Alt+A", "F1", "?".
fn shortcut_words(ctx: &egui::Context, shortcut: &KeyboardShortcut) -> String {
    typed_character(shortcut).map_or_else(|| ctx.format_shortcut(shortcut), str::to_owned)
}

/// "You are muted" above the microphone button at `button`, for while the microphone hears
/// speech: floating, so that the buttons beside it do not move.
fn muted_while_talking(ui: &egui::Ui, button: egui::Rect) {
    egui::Area::new(egui::Id::unique("muted-while-talking"))
        .fixed_pos(button.left_top() - egui::vec2(0.0, 30.0))
        .interactable(false)
        .show(ui.ctx(), |ui| {
            style::banner(ui, style::WARNING, |ui| {
                ui.label("You are muted");
            });
        });
}

/// "4:05" for four minutes and five seconds, "1:02:03" past the hour.
fn clock_time(duration: std::time::Duration) -> String {
    let seconds = duration.as_secs();
    let (hours, minutes, seconds) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes}:{seconds:02}")
    }
}

/// A tooltip's `text` followed by its `shortcut`: "Chat (Alt+H)".
fn with_shortcut(ctx: &egui::Context, text: &str, shortcut: &KeyboardShortcut) -> String {
    format!("{text} ({})", ctx.format_shortcut(shortcut))
}

/// How wide the news lines are, at most.
const NEWS_WIDTH: f32 = 420.0;

/// How long "Copied" shows after a copy button.
const COPIED_FEEDBACK: std::time::Duration = std::time::Duration::from_secs(2);

impl MeetingScreen {
    /// Does what the [`SHORTCUTS`] pressed since the last frame do.
    pub(super) fn shortcuts(&mut self, ctx: &egui::Context) {
        let typing = ctx.egui_wants_keyboard_input();
        let pressed = |shortcut: &KeyboardShortcut| {
            !(typing && typed_character(shortcut).is_some()) && ctx.input_mut(|i| i.consume_shortcut(shortcut))
        };
        for shortcut in SHORTCUTS {
            if shortcut.keys.iter().any(pressed) {
                (shortcut.action)(self, ctx);
            }
        }
    }

    /// The list of [`SHORTCUTS`]: the keys and what they do. Escape or its close button
    /// closes it.
    pub(super) fn shortcuts_window(&mut self, ctx: &egui::Context) {
        let mut open = !ctx.input(|i| i.key_pressed(Key::Escape));
        egui::Window::new("Keyboard shortcuts")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
            .show(ctx, |ui| {
                egui::Grid::new("shortcuts")
                    .num_columns(2)
                    .spacing([16.0, 6.0])
                    .striped(true)
                    .show(ui, |ui| {
                        for shortcut in SHORTCUTS {
                            let keys: Vec<String> =
                                shortcut.keys.iter().map(|keys| shortcut_words(ctx, keys)).collect();
                            ui.monospace(keys.join(" or "));
                            ui.label(shortcut.does);
                            ui.end_row();
                        }
                    });
            });
        self.show_shortcuts &= open;
    }

    /// A button that copies `value` and says "Copied" for a moment after; `what` tells the
    /// copy buttons apart.
    pub(super) fn copy_button(&mut self, ui: &mut egui::Ui, label: &str, what: &'static str, value: &str) {
        let now = self.now();
        let copied = self
            .copied
            .is_some_and(|(which, at)| which == what && now.saturating_duration_since(at) < COPIED_FEEDBACK);
        if ui.button(if copied { "Copied" } else { label }).clicked() {
            ui.ctx().copy_text(value.to_owned());
            self.copied = Some((what, now));
        }
    }

    /// The title, who is there and for how long; on the right the meeting info and the
    /// switch between gallery and speaker view (here rather than among the controls below,
    /// which fill the width of the window's first size).
    pub(super) fn top_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.heading(&self.title);
            ui.label(
                egui::RichText::new(format!(
                    "{} in the meeting · {}",
                    self.participant_count(),
                    clock_time(self.in_meeting_for())
                ))
                .weak(),
            );
            let recording = self.recording_names();
            if !recording.is_empty() {
                let who = format!("Recorded by {}", recording.join(", "));
                ui.colored_label(style::readable(ui, style::ERROR), "⏺ Recording")
                    .on_hover_text(&who)
                    .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, &who));
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.toggle_value(&mut self.show_info, "ℹ Meeting info");
                // Named for what it switches to, as the camera button is.
                let (view, hint) = match self.view_mode {
                    ViewMode::Gallery => ("👤 Speaker view", "The speaker large, the others in a strip"),
                    ViewMode::Speaker => ("⊞ Gallery view", "Everyone alike, in pages if need be"),
                };
                if ui
                    .button(view)
                    .on_hover_text(with_shortcut(ui.ctx(), hint, &TOGGLE_VIEW))
                    .clicked()
                {
                    self.toggle_view_mode();
                }
            });
        });
    }

    /// The controls at the bottom. Leave is laid out first, at the right edge, so it is
    /// there at any window width; the others take the rest and wrap onto a second row when
    /// the window is narrow. Nothing in the bar changes width while someone talks.
    pub(super) fn control_bar(&mut self, ui: &mut egui::Ui) {
        ui.add_space(4.0);
        let ctx = ui.ctx().clone();
        let tip = |text: &str, shortcut: &KeyboardShortcut| with_shortcut(&ctx, text, shortcut);
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Min), |ui| {
            let leave =
                egui::Button::new(egui::RichText::new("Leave").color(egui::Color32::WHITE).strong()).fill(style::ERROR);
            let hint = if self.hosting {
                "Leave and end the meeting for everyone"
            } else {
                "Leave the meeting"
            };
            if ui.add(leave).on_hover_text(tip(hint, &LEAVE)).clicked() {
                self.ask_to_leave();
            }
            ui.with_layout(
                egui::Layout::left_to_right(egui::Align::Min).with_main_wrap(true),
                |ui| {
                    let mic = if self.my_media.mic { "🎤 Mute" } else { "🔇 Unmute" };
                    let level = self.view.audio_levels.as_ref().map_or(0.0, |levels| levels.local.get());
                    let mic_button = ui
                        .add(if self.my_media.mic {
                            egui::Button::new(mic)
                        } else {
                            style::off_button(mic)
                        })
                        .on_hover_text(tip("Microphone on or off", &TOGGLE_MIC));
                    if mic_button.clicked() {
                        self.toggle_mic();
                    }
                    // Rows are laid out from the top (centring them in a wrapping bar makes
                    // the bar grow every frame); the meter is centred on the buttons by hand.
                    let row = egui::vec2(40.0, mic_button.rect.height());
                    ui.allocate_ui_with_layout(row, egui::Layout::left_to_right(egui::Align::Center), |ui| {
                        style::level_meter(ui, if self.my_media.mic { level } else { 0.0 }, 40.0)
                    });
                    if !self.my_media.mic && level > 0.5 {
                        muted_while_talking(ui, mic_button.rect);
                    }
                    let camera = if self.my_media.camera {
                        "📷 Stop video"
                    } else {
                        "📷 Start video"
                    };
                    if ui
                        .add(if self.my_media.camera {
                            egui::Button::new(camera)
                        } else {
                            style::off_button(camera)
                        })
                        .on_hover_text(tip("Camera on or off", &TOGGLE_CAMERA))
                        .clicked()
                    {
                        self.toggle_camera();
                    }
                    let share = if self.view.sharing.is_some() {
                        "🖥 Stop sharing"
                    } else {
                        "🖥 Share screen"
                    };
                    if ui
                        .add(
                            egui::Button::new(share)
                                .selected(self.view.sharing.is_some() || self.share_picker.is_some()),
                        )
                        .on_hover_text(tip("Share a display or a window", &TOGGLE_SHARE))
                        .clicked()
                    {
                        self.toggle_share(&ctx);
                    }
                    self.record_buttons(ui);
                    let hand = if self.my_media.hand.is_some() {
                        "✋ Lower hand"
                    } else {
                        "✋ Raise hand"
                    };
                    if ui
                        .add(egui::Button::new(hand).selected(self.my_media.hand.is_some()))
                        .on_hover_text(tip("Raise your hand to speak, or lower it", &TOGGLE_HAND))
                        .clicked()
                    {
                        self.toggle_hand();
                    }
                    let mut reaction = None;
                    ui.menu_button("😀 React", |ui| {
                        ui.horizontal(|ui| {
                            for emoji in REACTIONS {
                                if ui.button(egui::RichText::new(emoji).size(22.0)).clicked() {
                                    reaction = Some(emoji);
                                    ui.close();
                                }
                            }
                        });
                    })
                    .response
                    .on_hover_text("Show everyone a reaction over your picture");
                    if let Some(emoji) = reaction {
                        self.send(Command::React(emoji.to_owned()));
                    }
                    // Unread messages stand out: the count in the accent colour.
                    let chat = match self.unread {
                        0 => egui::RichText::new("💬 Chat"),
                        n => egui::RichText::new(format!("💬 Chat ({n})"))
                            .color(style::readable(ui, style::ACTIVE))
                            .strong(),
                    };
                    if ui
                        .add(egui::Button::new(chat).selected(self.panel == Some(Panel::Chat)))
                        .on_hover_text(tip("Chat", &TOGGLE_CHAT))
                        .clicked()
                    {
                        self.toggle_panel(Panel::Chat);
                    }
                    if ui
                        .add(
                            egui::Button::new(format!("👥 People ({})", self.participant_count()))
                                .selected(self.panel == Some(Panel::People)),
                        )
                        .on_hover_text(tip("Participants", &TOGGLE_PEOPLE))
                        .clicked()
                    {
                        self.toggle_panel(Panel::People);
                    }
                    ui.toggle_value(&mut self.show_stats, "📊 Statistics")
                        .on_hover_text("Resolution, frame rate, bitrate, round-trip time and loss on every tile");
                    ui.toggle_value(&mut self.show_devices, "⚙ Devices").on_hover_text(
                        "Switch camera, microphone or speaker; echo cancellation; mirroring; notifications and sounds",
                    );
                },
            );
        });
        ui.add_space(4.0);
    }

    /// Recent news, newest last, above the control bar in the middle: readable over moving
    /// video (opaque, light text), and clear of the sharing bar and the side panel.
    pub(super) fn news_ui(&self, ui: &mut egui::Ui) {
        if self.news.is_empty() {
            return;
        }
        let area = ui.available_rect_before_wrap();
        egui::Area::new(egui::Id::unique("meeting-news"))
            .fixed_pos(egui::pos2(area.center().x - NEWS_WIDTH / 2.0, area.max.y - 12.0))
            .pivot(egui::Align2::LEFT_BOTTOM)
            .interactable(false)
            .show(ui.ctx(), |ui| {
                ui.set_width(NEWS_WIDTH);
                for news in &self.news {
                    let edge = if news.warning { style::WARNING } else { style::INFO };
                    style::notice(ui, edge, &news.text);
                }
            });
    }

    /// The meeting's code, once joined.
    pub(super) fn meeting_code(&self) -> String {
        self.view
            .meeting
            .as_ref()
            .map(|info| info.code.clone())
            .unwrap_or_default()
    }

    pub(super) fn info_window(&mut self, ctx: &egui::Context) {
        let code = self.meeting_code();
        let address = self
            .view
            .link
            .as_deref()
            .unwrap_or_default()
            .strip_prefix("videomeet://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default()
            .to_owned();
        let link = self.view.link.clone().unwrap_or_default();
        let mut open = true;
        egui::Window::new("Meeting info")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::RIGHT_TOP, egui::vec2(-8.0, 40.0))
            .show(ctx, |ui| {
                egui::Grid::new("meeting-info")
                    .num_columns(3)
                    .spacing([10.0, 8.0])
                    .show(ui, |ui| {
                        let passcode = self.passcode.clone().unwrap_or_default();
                        let rows = [
                            ("Code", &code),
                            ("Address", &address),
                            ("Link", &link),
                            ("Passcode", &passcode),
                        ];
                        // The passcode is ours to tell: only the host has it.
                        for (what, value) in rows.into_iter().filter(|(_, value)| !value.is_empty()) {
                            ui.label(what);
                            ui.monospace(value);
                            self.copy_button(ui, "Copy", what, value);
                            ui.end_row();
                        }
                    });
                if self.view.meeting.as_ref().is_some_and(|info| info.passcode_required) {
                    ui.label("Joining needs the passcode.");
                }
                if let Some(page) = self.view.web_page.clone() {
                    ui.separator();
                    self.web_page_info(ui, &page);
                }
                if self.moderating() {
                    ui.separator();
                    if ui
                        .checkbox(&mut self.locked, "Lock the meeting: nobody new can join")
                        .changed()
                    {
                        self.send(Command::LockMeeting(self.locked));
                    }
                }
                if self.hosting {
                    if ui
                        .checkbox(&mut self.ask_to_join, "Guests wait until I let them in")
                        .changed()
                    {
                        self.send(Command::AskToJoin(self.ask_to_join));
                    }
                    if ui
                        .checkbox(&mut self.many_sharers, "Several people may share their screens at once")
                        .changed()
                    {
                        self.send(Command::AllowManySharers(self.many_sharers));
                    }
                    if ui
                        .checkbox(&mut self.recordings.guests_may, "Guests may record the meeting")
                        .on_hover_text("Off: only you and co-hosts may record; a guest recording now stops")
                        .changed()
                    {
                        self.send(Command::AllowGuestRecording(self.recordings.guests_may));
                    }
                    if ui.button("Let people I removed or turned away ask again").clicked() {
                        self.send(Command::AllowBack);
                    }
                }
                if self.hosting {
                    let reach = if self.announced {
                        "Others on the network also find the meeting in their list."
                    } else {
                        "The meeting is not announced: others join by its link or address."
                    };
                    ui.label(egui::RichText::new(reach).weak());
                }
            });
        self.show_info &= open;
    }

    /// How a guest with only a browser joins: the page's link, as text and as a code for a
    /// phone's camera, and the fingerprint that tells the host's certificate from another.
    fn web_page_info(&mut self, ui: &mut egui::Ui, page: &WebPage) {
        ui.label(egui::RichText::new("Join from a browser (phones, tablets, any computer)").strong());
        ui.horizontal(|ui| {
            self.page_code.show(
                ui,
                &page.link,
                132.0,
                "A code with the browser link, for a phone's camera",
            );
            ui.vertical(|ui| {
                ui.monospace(&page.link);
                self.copy_button(ui, "Copy browser link", "Browser link", &page.link);
                ui.label(
                    egui::RichText::new(
                        "The browser warns once that it does not know this computer. \
                         The certificate's SHA-256 fingerprint, for a careful guest to compare:",
                    )
                    .weak(),
                );
                ui.label(egui::RichText::new(grouped_fingerprint(&page.fingerprint)).monospace());
            });
        });
    }

    pub(super) fn devices_window(&mut self, ctx: &egui::Context, settings: &mut Settings) {
        let mut open = true;
        egui::Window::new("Devices")
            .open(&mut open)
            .collapsible(false)
            .resizable(false)
            .anchor(egui::Align2::CENTER_BOTTOM, egui::vec2(0.0, -56.0))
            .show(ctx, |ui| {
                let mut commands = Vec::new();
                match &mut self.devices {
                    Some(devices) => {
                        let list = devices.list.clone();
                        if choose(ui, "Camera", &mut devices.camera, &list.cameras, |c| {
                            c.label().to_owned()
                        }) && let Some(camera) = devices.camera.clone()
                        {
                            settings.camera = Some(camera.id());
                            commands.push(Command::UseCamera(camera));
                        }
                        if choose(ui, "Microphone", &mut devices.microphone, &list.microphones, |m| {
                            m.label()
                        }) && let Some(microphone) = devices.microphone.clone()
                        {
                            settings.microphone = Some(microphone.id());
                            commands.push(Command::UseMicrophone(microphone));
                        }
                        if choose(ui, "Speaker", &mut devices.speaker, &list.speakers, |s| {
                            s.label().to_owned()
                        }) && let Some(speaker) = devices.speaker.clone()
                        {
                            settings.speaker = Some(speaker.id());
                            commands.push(Command::UseSpeaker(speaker));
                        }
                    }
                    None => {
                        ui.label("The device list is not available.");
                    }
                }
                if ui
                    .checkbox(
                        &mut settings.voice_processing,
                        "Echo cancellation and noise suppression",
                    )
                    .on_hover_text("Off for music, or for a headset that does this itself")
                    .changed()
                {
                    commands.push(Command::UseVoiceProcessing(settings.voice_processing));
                }
                ui.checkbox(&mut settings.mirror_self_view, "Mirror my video")
                    .on_hover_text("Your own picture as a mirror shows you; the others see it as it is");
                ui.separator();
                ui.checkbox(&mut settings.notifications, "Desktop notifications")
                    .on_hover_text("When someone joins or writes while this window is in the background");
                ui.checkbox(&mut settings.play_sounds, "Play sounds").on_hover_text(
                    "A short chime when someone joins or leaves, a message arrives or a guest asks to join",
                );
                for command in commands {
                    self.send(command);
                }
            });
        self.show_devices &= open;
    }
}

/// A fingerprint in four lines of eight bytes, to compare line by line.
fn grouped_fingerprint(fingerprint: &str) -> String {
    let bytes: Vec<&str> = fingerprint.split(':').collect();
    bytes
        .chunks(8)
        .map(|line| line.join(":"))
        .collect::<Vec<_>>()
        .join("\n")
}
