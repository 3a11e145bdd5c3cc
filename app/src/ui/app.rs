//! The application: which screen is shown, and the steps between them (home -> setup ->
//! meeting -> home). Meetings start on the tokio runtime; the window only polls.

use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui;
use tokio::sync::mpsc;
use videomeet_media::{DeviceList, list_devices};
use videomeet_net::meeting::{Command, EndReason, Event, Meeting, MeetingConfig, MeetingError, MeetingHandle, Role};
use videomeet_net::protocol::{DenyReason, MediaState};
use videomeet_net::signaling::JoinError;

use super::background::Opening;
use super::home::HomeScreen;
use super::meeting::{DeviceChoices, MeetingScreen, Myself};
use super::notify::Notifier;
use super::recent::RecentMeetings;
use super::settings::{SettingsFile, Theme};
use super::setup::{Plan, SetupAction, SetupScreen, Status};
use crate::history::{History, Recorder};
use crate::keep_awake::KeepAwake;
use crate::tray::Tray;
use crate::update::{Release, newer_release, release_url};

/// How long closing the window waits for the meeting to say goodbye to the others.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(2);

/// A meeting on its way in, as the window holds it until we are in.
struct Starting {
    handle: MeetingHandle,
    events: mpsc::Receiver<Event>,
    task: tokio::task::JoinHandle<()>,
    /// What it reported so far, for the meeting screen to take in first.
    arrived: Vec<Event>,
    /// Hosting: announced on the network.
    announced: bool,
}

/// Why a meeting did not start, and whether asking for a passcode would help.
struct StartFailure {
    message: String,
    passcode: bool,
}

/// Where the app is. The setup and meeting screens are large and live on the heap.
enum Screen {
    Home(HomeScreen),
    Setup(Box<SetupScreen>),
    Meeting(Box<MeetingScreen>),
}

/// The whole application.
pub struct App {
    settings: SettingsFile,
    screen: Screen,
    runtime: tokio::runtime::Handle,
    devices: Opening<DeviceList>,
    starting: Option<Starting>,
    /// Ours for this run of the program: a host that turned us away keeps us out until a restart.
    session: String,
    meeting: Option<(MeetingHandle, tokio::task::JoinHandle<()>)>,
    notifier: Notifier,
    started: Instant,
    frames: u64,
    update_check: Opening<Option<Release>>,
    update: Option<Release>,
    /// The theme and size last given to egui.
    appearance: Option<(Theme, u16)>,
    /// Links later launches hand to this window.
    pub handovers: Option<crate::single_instance::Handovers>,
    /// The history of meetings, when it could be started.
    history: Option<History>,
}

impl App {
    /// Opens on the home screen.
    pub fn new(ctx: &egui::Context, runtime: tokio::runtime::Handle, settings: SettingsFile, started: Instant) -> Self {
        let history = History::open_default();
        let mut home = HomeScreen::with_discovery(ctx);
        home.recent = history.clone().map(|history| Box::new(RecentMeetings::new(history)));
        let mut app = Self {
            settings,
            screen: Screen::Home(home),
            runtime,
            devices: Opening::Idle,
            starting: None,
            session: videomeet_net::signaling::session_token(),
            meeting: None,
            notifier: Notifier::start(),
            started,
            frames: 0,
            update_check: Opening::Idle,
            update: None,
            appearance: None,
            handovers: None,
            history,
        };
        if app.settings.settings.check_for_updates {
            app.check_for_updates(ctx);
        }
        app
    }

    /// Asks, on a thread of its own, whether a newer release exists.
    fn check_for_updates(&mut self, ctx: &egui::Context) {
        self.update_check = Opening::start(ctx, "update-check", || {
            newer_release(&release_url(), env!("CARGO_PKG_VERSION"))
        });
    }

    /// Starts the meeting given on the command line, showing the setup screen while it
    /// connects (and, should it fail, to try again from).
    pub fn start_from_command_line(&mut self, ctx: &egui::Context, start: super::Start) {
        let plan = match &start.role {
            Role::Host(host) => Plan::Host {
                title: start.title,
                passcode: host.passcode.clone(),
                ask_to_join: host.ask_to_join,
            },
            Role::Join { target, .. } => Plan::Join {
                target: target.clone(),
                title: start.title,
                passcode_required: false,
            },
        };
        self.settings.settings.name.clone_from(&start.config.name);
        self.settings.settings.camera_on = start.config.camera_on;
        self.settings.settings.mic_on = start.config.mic_on;
        self.go_to_setup(ctx, plan);
        if let Screen::Setup(setup) = &mut self.screen {
            setup.camera = Some(start.config.camera.clone());
            setup.microphone = Some(start.config.microphone.clone());
            setup.speaker = Some(start.config.speaker.clone());
            setup.status = Status::Connecting;
        }
        self.start_meeting(ctx, start.role, start.config);
    }

    /// Opens the setup screen of the meeting `target` names, as a clicked link does: the
    /// user's own name and devices, joined once they say so.
    pub fn open_link(&mut self, ctx: &egui::Context, target: videomeet_net::JoinTarget) {
        tracing::info!(link = %target, "opening the meeting a link names");
        let title = target.authority();
        self.go_to_setup(
            ctx,
            Plan::Join {
                target,
                title,
                passcode_required: false,
            },
        );
    }

    /// Comes to the front for each later launch, and opens the link it brought unless a
    /// meeting is on (leaving it is the user's choice, not a link's).
    fn take_handovers(&mut self, ctx: &egui::Context) {
        let Some(handovers) = &self.handovers else {
            return;
        };
        let handed: Vec<Option<String>> = handovers.handed.try_iter().collect();
        for link in handed {
            ctx.send_viewport_cmd(egui::ViewportCommand::Minimized(false));
            ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
            let Some(link) = link else { continue };
            match (&self.screen, crate::cli::meeting_link(&link)) {
                (Screen::Meeting(_), _) => tracing::info!(%link, "a link arrived during a meeting: not opened"),
                (_, Ok(target)) => self.open_link(ctx, target),
                (_, Err(error)) => tracing::warn!(%error, "a launch handed over no meeting"),
            }
        }
    }

    /// Says on the home screen that the last run crashed, and where its report is.
    pub fn point_out_crash(&mut self, report: &std::path::Path) {
        if let Screen::Home(home) = &mut self.screen {
            home.notice = Some(crash_notice(report));
        }
    }

    fn go_home(&mut self, ctx: &egui::Context, notice: Option<String>) {
        let mut home = HomeScreen::with_discovery(ctx);
        home.notice = notice;
        home.update.clone_from(&self.update);
        home.recent = self
            .history
            .clone()
            .map(|history| Box::new(RecentMeetings::new(history)));
        self.screen = Screen::Home(home);
        self.meeting = None;
        self.settings.save_if_changed();
    }

    fn go_to_setup(&mut self, ctx: &egui::Context, plan: Plan) {
        self.screen = Screen::Setup(Box::new(SetupScreen::new(plan)));
        // Devices may have come or gone since the last time: list them again.
        self.devices = Opening::start(ctx, "device-list", || Ok(list_devices()));
        self.settings.save_if_changed();
    }

    fn start_meeting(&mut self, ctx: &egui::Context, role: Role, mut config: MeetingConfig) {
        self.settings.save_if_changed();
        config.session = Some(self.session.clone());
        let waker = {
            let ctx = ctx.clone();
            Arc::new(move || ctx.request_repaint())
        };
        let announced = config.announce;
        let (meeting, handle, events) = Meeting::new(role, config, waker);
        let task = self.runtime.spawn(meeting.run());
        self.starting = Some(Starting {
            handle,
            events,
            task,
            arrived: Vec::new(),
            announced,
        });
    }

    /// Moves on when device listing or a meeting start has finished.
    fn poll_background(&mut self, ctx: &egui::Context) {
        self.update_check.poll();
        match std::mem::replace(&mut self.update_check, Opening::Idle) {
            Opening::Ready(found) => {
                self.update = found;
                if let Screen::Home(home) = &mut self.screen {
                    home.update.clone_from(&self.update);
                }
            }
            Opening::Failed(problem) => tracing::info!(%problem, "no update check"),
            other => self.update_check = other,
        }
        self.devices.poll();
        if let (Screen::Setup(setup), Opening::Ready(_)) = (&mut self.screen, &self.devices) {
            let Opening::Ready(list) = std::mem::replace(&mut self.devices, Opening::Idle) else {
                return;
            };
            setup.set_devices(list, &self.settings.settings);
            // While a meeting starts it owns the devices; the preview waits.
            if !matches!(setup.status, Status::Connecting | Status::Waiting(_)) {
                setup.open_devices(ctx);
            }
        }
        let Some(mut starting) = self.starting.take() else {
            return;
        };
        let Screen::Setup(setup) = &mut self.screen else {
            // The user went back while it was starting: leave (a knock is withdrawn).
            starting.handle.send(Command::Leave);
            return;
        };
        let outcome = loop {
            match starting.events.try_recv() {
                Ok(Event::Waiting(message)) => setup.status = Status::Waiting(message),
                Ok(Event::Ended(reason)) => break Err(reason),
                Ok(event @ Event::Joined { .. }) => {
                    starting.arrived.push(event);
                    break Ok(());
                }
                Ok(event) => starting.arrived.push(event),
                Err(_) => {
                    self.starting = Some(starting);
                    return;
                }
            }
        };
        match outcome {
            Ok(()) => {
                let settings = &self.settings.settings;
                let devices = setup.devices().map(|list| DeviceChoices {
                    list: list.clone(),
                    camera: setup.camera.clone(),
                    microphone: setup.microphone.clone(),
                    speaker: setup.speaker.clone(),
                });
                let me = Myself {
                    name: settings.name.trim().to_owned(),
                    title: match &setup.plan {
                        Plan::Host { title, .. } | Plan::Join { title, .. } => title.clone(),
                    },
                    hosting: matches!(setup.plan, Plan::Host { .. }),
                    ask_to_join: matches!(setup.plan, Plan::Host { ask_to_join: true, .. }),
                    passcode: match &setup.plan {
                        Plan::Host { passcode, .. } => passcode.clone(),
                        Plan::Join { .. } => None,
                    },
                    announced: starting.announced,
                    media: MediaState {
                        mic: settings.mic_on,
                        camera: settings.camera_on && setup.camera.is_some(),
                        screen: false,
                        hand: None,
                        camera_size: None,
                        recording: false,
                    },
                };
                let Starting {
                    handle,
                    events,
                    task,
                    arrived,
                    ..
                } = starting;
                self.meeting = Some((handle.clone(), task));
                let recorder = self
                    .history
                    .as_ref()
                    .filter(|_| settings.keep_history)
                    .map(|history| Recorder::new(history, &me.name, me.hosting));
                let mut screen = MeetingScreen::new(handle, events, me, devices);
                screen.recorder = recorder;
                screen.keep_awake = Some(KeepAwake::hold("In a meeting"));
                let wake = ctx.clone();
                screen.tray = Some(Tray::show(screen.tray_state(), move || wake.request_repaint()));
                for event in arrived {
                    screen.on_event(event, true);
                }
                self.screen = Screen::Meeting(Box::new(screen));
            }
            Err(reason) => {
                let failure = match reason {
                    EndReason::NotStarted(error) => failure(&error),
                    other => StartFailure {
                        message: other.to_string(),
                        passcode: false,
                    },
                };
                setup.status = Status::Failed(failure.message);
                setup.ask_passcode |= failure.passcode;
                setup.open_devices(ctx);
            }
        }
    }
}

/// The home screen's words about a crash in the last run.
fn crash_notice(report: &std::path::Path) -> String {
    format!(
        "Video Meet closed unexpectedly last time. A report with what happened is in {}",
        report.display()
    )
}

/// What to tell the user when a meeting does not start.
fn failure(error: &MeetingError) -> StartFailure {
    let (message, passcode) = match error {
        MeetingError::Join(JoinError::Denied { reason, message }) => match reason {
            DenyReason::WrongPasscode => ("The passcode is not right. Check it and try again.".to_owned(), true),
            DenyReason::TooManyTries => (message.clone(), true),
            DenyReason::VersionMismatch => (
                format!("This meeting runs another version of Video Meet: {message}"),
                false,
            ),
            DenyReason::NotAdmitted => (
                "The host did not let you in. You can ask again after restarting Video Meet.".to_owned(),
                false,
            ),
            DenyReason::WrongMeeting => (
                "That meeting has ended, or the link is for another meeting at this address.".to_owned(),
                false,
            ),
            _ => (message.clone(), false),
        },
        MeetingError::Join(JoinError::UnknownHost { host }) => (
            format!(
                "No computer called {host} was found on this network. Check the name, or use the address that the host's Meeting info shows."
            ),
            false,
        ),
        MeetingError::Join(JoinError::Unreachable { address, .. }) => (
            format!(
                "Nothing answered at {address}. Check the address, and that the host is still in the meeting and on this network."
            ),
            false,
        ),
        other => (other.to_string(), false),
    };
    StartFailure { message, passcode }
}

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.frames += 1;
        super::settings::follow_appearance(ctx, &mut self.settings.settings, &mut self.appearance);
        self.take_handovers(ctx);
        match self.frames {
            // The second frame starts once the first is on screen.
            1 => ctx.request_repaint(),
            2 => tracing::info!(ms = self.started.elapsed().as_secs_f64() * 1000.0, "first frame shown"),
            _ => {}
        }
        self.poll_background(ctx);
        if let Screen::Meeting(meeting) = &mut self.screen {
            let focused = ctx.input(|i| i.viewport().focused.unwrap_or(true));
            meeting.take_events(focused);
            for notice in meeting.notices.drain(..) {
                if self.settings.settings.notifications {
                    self.notifier.show(notice);
                }
            }
        }
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        let ctx = ui.ctx().clone();
        let settings = &mut self.settings.settings;
        match &mut self.screen {
            Screen::Home(home) => {
                let checking = settings.check_for_updates;
                let plan = egui::CentralPanel::default().show(ui, |ui| home.ui(ui, settings)).inner;
                if settings.check_for_updates && !checking {
                    // Turned on just now: ask at once rather than at the next start.
                    self.check_for_updates(&ctx);
                }
                if let Some(plan) = plan {
                    self.go_to_setup(&ctx, plan);
                }
            }
            Screen::Setup(setup) => {
                let action = egui::CentralPanel::default()
                    .show(ui, |ui| setup.ui(ui, settings))
                    .inner;
                match action {
                    Some(SetupAction::Back) => self.go_home(&ctx, None),
                    Some(SetupAction::Start(start)) => {
                        setup.close_devices();
                        let (role, config) = *start;
                        self.start_meeting(&ctx, role, config);
                    }
                    None => {}
                }
            }
            Screen::Meeting(meeting) => {
                if let Some(message) = meeting.ui(ui, settings) {
                    self.go_home(&ctx, Some(message));
                }
            }
        }
    }

    fn on_exit(&mut self) {
        self.settings.save_if_changed();
        // Say goodbye, so the others see us leave at once rather than time out (or the host
        // sees a knock withdrawn).
        let meeting = self.meeting.take();
        let starting = self.starting.take().map(|starting| (starting.handle, starting.task));
        if let Some((handle, task)) = meeting.or(starting) {
            handle.send(Command::Leave);
            // The timer is made inside the runtime: made here, outside it, it would panic.
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(LEAVE_TIMEOUT, task).await });
        }
    }
}
