//! The home screen: your name, hosting a meeting, the meetings announced on the network,
//! and joining by address or link.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::time::Duration;

use eframe::egui;
use videomeet_net::JoinTarget;
use videomeet_net::discovery::{Browser, DiscoveredMeeting};
use videomeet_net::protocol::PROTOCOL_VERSION;

use super::recent::RecentMeetings;
use super::settings::{Settings, Theme, UI_SCALES};
use super::setup::Plan;
use super::style;
use crate::update::Release;

/// The home screen's state.
pub struct HomeScreen {
    /// A message from the last meeting ("You left the meeting."), shown until dismissed.
    pub notice: Option<String>,
    /// Meetings seen on the network, in announcement order.
    pub meetings: Vec<DiscoveredMeeting>,
    discovery: Option<NetworkMeetings>,
    discovery_problem: Option<String>,
    passcode: String,
    ask_to_join: bool,
    /// The name field was offered the keyboard once (on a first start, it is empty).
    name_focused: bool,
    address_problem: Option<String>,
    /// A newer release, when the (optional) check found one.
    pub update: Option<Release>,
    /// The meetings kept in the history, when there is one.
    pub recent: Option<Box<RecentMeetings>>,
}

impl HomeScreen {
    /// The home screen without discovery (tests fill `meetings` themselves).
    pub fn new() -> Self {
        Self {
            notice: None,
            meetings: Vec::new(),
            discovery: None,
            discovery_problem: None,
            passcode: String::new(),
            ask_to_join: false,
            name_focused: false,
            address_problem: None,
            update: None,
            recent: None,
        }
    }

    /// The home screen with the live list of meetings on the network.
    pub fn with_discovery(ctx: &egui::Context) -> Self {
        let mut home = Self::new();
        match NetworkMeetings::start(ctx) {
            Ok(discovery) => home.discovery = Some(discovery),
            Err(problem) => home.discovery_problem = Some(problem),
        }
        home
    }

    /// Draws the screen; returns what the user chose to do.
    pub fn ui(&mut self, ui: &mut egui::Ui, settings: &mut Settings) -> Option<Plan> {
        self.take_discoveries();
        if let Some(recent) = self.recent.as_mut().filter(|recent| recent.is_open()) {
            return recent.details_ui(ui, &self.meetings, !settings.name.trim().is_empty());
        }
        let mut plan = None;
        ui.vertical_centered(|ui| {
            ui.add_space(20.0);
            ui.heading(egui::RichText::new("Video Meet").size(30.0).strong());
            ui.label("Meet with video on your local network: no accounts, no servers.");
            ui.add_space(12.0);
        });
        if let Some(notice) = &self.notice {
            let mut dismissed = false;
            style::banner(ui, style::INFO, |ui| {
                ui.label(notice);
                dismissed = ui.small_button("OK").clicked();
            });
            if dismissed {
                self.notice = None;
            }
        }
        if let Some(release) = &self.update {
            style::banner(ui, style::INFO, |ui| {
                ui.label(format!("Video Meet {} is available:", release.version));
                ui.hyperlink_to("release page", &release.page);
            });
        }
        let named = !settings.name.trim().is_empty();
        ui.horizontal(|ui| {
            let label = ui.label("Your name");
            let field = ui
                .add(
                    egui::TextEdit::singleline(&mut settings.name)
                        .desired_width(240.0)
                        .hint_text("How others see you"),
                )
                .labelled_by(label.id);
            // The first thing to do on a first start: the cursor is there already.
            if !named && !self.name_focused {
                field.request_focus();
            }
            self.name_focused = true;
            // Beside the field, not below it: nothing moves when the first letter is typed.
            if !named {
                ui.label(
                    egui::RichText::new("Enter your name to host or join.").color(style::readable(ui, style::WARNING)),
                );
            }
        });
        let named = !settings.name.trim().is_empty();
        ui.add_space(8.0);
        ui.columns(2, |columns| {
            style::card(&mut columns[0], |ui| {
                if let Some(chosen) = self.host_ui(ui, settings, named) {
                    plan = Some(chosen);
                }
            });
            columns[0].add_space(8.0);
            style::card(&mut columns[0], |ui| {
                if let Some(chosen) = self.address_ui(ui, settings, named) {
                    plan = Some(chosen);
                }
            });
            style::card(&mut columns[1], |ui| {
                if let Some(chosen) = self.network_ui(ui, named) {
                    plan = Some(chosen);
                }
            });
            if let Some(recent) = &mut self.recent {
                columns[1].add_space(8.0);
                style::card(&mut columns[1], |ui| recent.list_ui(ui));
            }
        });
        ui.add_space(8.0);
        ui.checkbox(
            &mut settings.check_for_updates,
            "Check for a newer version when Video Meet starts (needs the internet)",
        );
        ui.checkbox(&mut settings.keep_history, "Keep a history of meetings");
        appearance_ui(ui, settings);
        plan
    }

    fn host_ui(&mut self, ui: &mut egui::Ui, settings: &mut Settings, named: bool) -> Option<Plan> {
        ui.heading("Host a meeting");
        let default_title = default_title(&settings.name);
        let submitted = egui::Grid::new("host")
            .num_columns(2)
            .spacing([8.0, 6.0])
            .show(ui, |ui| {
                let enter = |field: egui::Response, ui: &egui::Ui| {
                    field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))
                };
                let label = ui.label("Title");
                let field = ui
                    .add(egui::TextEdit::singleline(&mut settings.meeting_title).hint_text(&default_title))
                    .labelled_by(label.id);
                let mut submitted = enter(field, ui);
                ui.end_row();
                let label = ui.label("Passcode");
                let field = ui
                    .add(
                        egui::TextEdit::singleline(&mut self.passcode)
                            .password(true)
                            .hint_text("optional"),
                    )
                    .labelled_by(label.id);
                submitted |= enter(field, ui);
                ui.end_row();
                ui.label("");
                ui.checkbox(&mut self.ask_to_join, "Guests wait until I let them in");
                ui.end_row();
                submitted
            })
            .inner;
        let host = ui.add_enabled(named, style::primary_button("Host"));
        (named && (host.clicked() || submitted)).then(|| {
            let title = settings.meeting_title.trim();
            Plan::Host {
                title: if title.is_empty() {
                    default_title
                } else {
                    title.to_owned()
                },
                passcode: Some(self.passcode.trim().to_owned()).filter(|p| !p.is_empty()),
                ask_to_join: self.ask_to_join,
            }
        })
    }

    fn address_ui(&mut self, ui: &mut egui::Ui, settings: &mut Settings, named: bool) -> Option<Plan> {
        ui.heading("Join by address or link");
        let mut submitted = false;
        ui.horizontal(|ui| {
            let field = ui.add(
                egui::TextEdit::singleline(&mut settings.last_address)
                    .hint_text("192.168.1.20:47800 or videomeet://…")
                    .desired_width(220.0),
            );
            if field.changed() {
                self.address_problem = None;
            }
            submitted = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            submitted |= ui.add_enabled(named, egui::Button::new("Join")).clicked();
        });
        if let Some(problem) = &self.address_problem {
            ui.label(egui::RichText::new(problem).color(style::readable(ui, style::ERROR)));
        }
        if !submitted || !named {
            return None;
        }
        match JoinTarget::parse(settings.last_address.trim()) {
            Ok(target) => Some(Plan::Join {
                title: target.authority(),
                target,
                passcode_required: false,
            }),
            Err(error) => {
                self.address_problem = Some(error.to_string());
                None
            }
        }
    }

    fn network_ui(&mut self, ui: &mut egui::Ui, named: bool) -> Option<Plan> {
        ui.heading("Meetings on your network");
        if let Some(problem) = &self.discovery_problem {
            ui.label(egui::RichText::new(problem).color(style::readable(ui, style::WARNING)));
        }
        if self.meetings.is_empty() {
            // No spinner: an animation would keep an idle window drawing.
            ui.label("No meetings found yet. Hosted meetings on this network appear here.");
            return None;
        }
        let mut chosen = None;
        egui::ScrollArea::vertical().max_height(360.0).show(ui, |ui| {
            for meeting in &self.meetings {
                ui.horizontal(|ui| {
                    ui.vertical(|ui| {
                        ui.label(egui::RichText::new(&meeting.title).strong());
                        let people = match meeting.participants {
                            1 => "1 person".to_owned(),
                            n => format!("{n} people"),
                        };
                        // In words: a padlock sign at this size reads as a zero.
                        let passcode = if meeting.passcode_required {
                            " · needs a passcode"
                        } else {
                            ""
                        };
                        ui.horizontal(|ui| {
                            ui.label(
                                egui::RichText::new(format!(
                                    "{} · {people} · code {}{passcode}",
                                    meeting.host_name, meeting.code
                                ))
                                .small()
                                .weak(),
                            );
                            if meeting.recording {
                                // Told before joining, not only once in.
                                ui.label(
                                    egui::RichText::new("⏺ being recorded")
                                        .small()
                                        .color(style::readable(ui, style::ERROR)),
                                );
                            }
                        });
                    });
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        let compatible = meeting.version == PROTOCOL_VERSION;
                        let join = ui.add_enabled(
                            named && compatible && meeting.join_target().is_some(),
                            egui::Button::new("Join"),
                        );
                        let join = if compatible {
                            join
                        } else {
                            join.on_disabled_hover_text("This meeting runs another version of Video Meet.")
                        };
                        if join.clicked() {
                            chosen = join_announced(meeting);
                        }
                    });
                });
                ui.separator();
            }
        });
        chosen
    }

    fn take_discoveries(&mut self) {
        let Some(discovery) = &self.discovery else { return };
        while let Ok(update) = discovery.updates.try_recv() {
            match update {
                Ok(meetings) => self.meetings = meetings,
                Err(problem) => self.discovery_problem = Some(problem),
            }
        }
    }
}

/// Joining a meeting announced on the network.
pub fn join_announced(meeting: &DiscoveredMeeting) -> Option<Plan> {
    Some(Plan::Join {
        target: meeting.join_target()?,
        title: meeting.title.clone(),
        passcode_required: meeting.passcode_required,
    })
}

/// "Ada's meeting", or "Meeting" without a name.
fn default_title(name: &str) -> String {
    match name.trim() {
        "" => "Meeting".to_owned(),
        name => format!("{name}'s meeting"),
    }
}

/// A thread that watches mDNS and sends the whole list whenever it changes.
struct NetworkMeetings {
    updates: Receiver<Result<Vec<DiscoveredMeeting>, String>>,
    stop: Arc<AtomicBool>,
}

impl NetworkMeetings {
    fn start(ctx: &egui::Context) -> Result<Self, String> {
        let (tx, updates) = sync_channel(4);
        let stop = Arc::new(AtomicBool::new(false));
        let (ctx, thread_stop) = (ctx.clone(), Arc::clone(&stop));
        std::thread::Builder::new()
            .name("meeting-discovery".into())
            .spawn(move || {
                let mut browser = match Browser::start() {
                    Ok(browser) => browser,
                    Err(error) => {
                        let _ = tx.send(Err(format!("Meetings on the network cannot be listed: {error}")));
                        ctx.request_repaint();
                        return;
                    }
                };
                while !thread_stop.load(Ordering::Relaxed) {
                    if browser.wait_for_change(Duration::from_millis(250)) {
                        if tx.send(Ok(browser.meetings().cloned().collect())).is_err() {
                            return;
                        }
                        ctx.request_repaint();
                    }
                }
            })
            .map_err(|error| format!("Meetings on the network cannot be listed: {error}"))?;
        Ok(Self { updates, stop })
    }
}

impl Drop for NetworkMeetings {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Light or dark, and how large everything is drawn.
fn appearance_ui(ui: &mut egui::Ui, settings: &mut Settings) {
    ui.horizontal_wrapped(|ui| {
        ui.label("Appearance");
        for theme in Theme::ALL {
            ui.selectable_value(&mut settings.theme, theme, theme.label());
        }
        ui.separator();
        ui.label("Size");
        let step = |percent: u16, by: i32| {
            let stepped = (i32::from(percent) + by).clamp(i32::from(*UI_SCALES.start()), i32::from(*UI_SCALES.end()));
            u16::try_from(stepped).unwrap_or(100)
        };
        if ui.button("Smaller").on_hover_text("Ctrl+minus").clicked() {
            settings.ui_scale_percent = step(settings.ui_scale_percent, -10);
        }
        ui.label(format!("{} %", settings.ui_scale_percent));
        if ui.button("Larger").on_hover_text("Ctrl+plus").clicked() {
            settings.ui_scale_percent = step(settings.ui_scale_percent, 10);
        }
    });
}
