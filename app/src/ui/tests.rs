//! The screens drawn for real (egui on wgpu, software-rendered), driven by fake input and,
//! for the meeting screen, by a channel of events instead of a meeting. Screenshots are
//! compared with the ones in `tests/snapshots` (`UPDATE_SNAPSHOTS=1` writes new ones).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use eframe::egui::accesskit::Role;
use eframe::egui::{self, Key, Modifiers};
use eframe::egui_wgpu;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::wgpu::WgpuTestRenderer;
use egui_kittest::{Harness, HarnessBuilder};
use tokio::sync::mpsc;
use videomeet_media::audio::AudioLevels;
use videomeet_media::slot::VideoSlot;
use videomeet_media::testing;
use videomeet_media::{DeviceList, MicrophoneChoice, SpeakerChoice, VideoChoice, VideoFrame};
use videomeet_net::JoinTarget;
use videomeet_net::discovery::DiscoveredMeeting;
use videomeet_net::meeting::{
    Command, EndReason, Event, MeetingHandle, PeerStats, Request, Role as MeetingRole, WebPage,
};
use videomeet_net::peer::VideoFeed;
use videomeet_net::protocol::{LeaveReason, MediaState, MeetingInfo, PROTOCOL_VERSION, PeerId, PeerInfo, ViewSize};

use super::home::HomeScreen;
use super::meeting::{MeetingScreen, Myself};
use super::settings::{Settings, Theme, follow_appearance};
use super::setup::{Plan, SetupAction, SetupScreen, Status};
use super::video_view::{VideoRenderer, fit, video_ui};

const WINDOW: egui::Vec2 = egui::vec2(1024.0, 680.0);

/// A harness that renders with wgpu and our video renderer installed, as the app does.
fn builder<State>() -> HarnessBuilder<State> {
    let render_state = egui_kittest::wgpu::create_render_state(
        egui_kittest::wgpu::default_wgpu_setup(),
        egui_wgpu::RendererOptions::PREDICTABLE,
    );
    let info = render_state.adapter.get_info();
    RENDERER.get_or_init(|| format!("{} ({})", info.name, info.driver_info));
    VideoRenderer::install(&render_state);
    Harness::builder()
        .with_size(WINDOW)
        .with_pixels_per_point(1.0)
        .renderer(WgpuTestRenderer::from_render_state(render_state))
}

/// The renderer the tests draw with: adapter name and driver version, as wgpu reports them.
static RENDERER: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The software renderer the stored screenshots were made with: Debian 12's Mesa
/// (lavapipe), which the Linux CI job runs on too (`.github/workflows/ci.yml`). Another
/// version draws text edges a little differently, by more pixels than a changed digit.
const SNAPSHOT_RENDERER: &str = "llvmpipe (LLVM 15.0.6, 256 bits) (Mesa 22.3.6 (LLVM 15.0.6))";

/// Pixels that may differ from the stored screenshot, on the renderer it was made with
/// (which draws the same screen the same way): a changed digit is about 20 to 40.
const SNAPSHOT_BUDGET: usize = 12;

/// What another renderer may differ by: its colours slightly, and a few hundred pixels of
/// text edges more. That hides a changed digit or icon, which the labels the tests read
/// back still catch.
const OTHER_RENDERER_BUDGET: usize = 400;

/// The variable that makes another renderer a failure: the CI jobs that run on
/// [`SNAPSHOT_RENDERER`] set it, so a changed renderer there cannot loosen the comparison
/// unseen.
const EXPECT_RENDERER: &str = "VIDEOMEET_EXPECT_RENDERER";

/// Compares with the stored screenshot: exactly on the renderer it was made with; on
/// another one loosely, and says so (or fails, where [`EXPECT_RENDERER`] is set).
/// Snapshots `name` in the dark theme and `name_light` in the light one, then goes back
/// to dark.
fn snapshot_in_both_themes<State>(harness: &mut Harness<'_, State>, name: &str) {
    snapshot(harness, name);
    harness.ctx.set_theme(egui::Theme::Light);
    harness.run();
    snapshot(harness, &format!("{name}_light"));
    harness.ctx.set_theme(egui::Theme::Dark);
    harness.run();
}

fn snapshot<State>(harness: &mut Harness<'_, State>, name: &str) {
    let renderer = RENDERER.get().map_or("an unknown renderer", String::as_str);
    let options = egui_kittest::SnapshotOptions::new();
    let options = if renderer == SNAPSHOT_RENDERER {
        options.max_failed_pixels(SNAPSHOT_BUDGET)
    } else {
        assert!(
            std::env::var_os("UPDATE_SNAPSHOTS").is_none(),
            "screenshots are made on {SNAPSHOT_RENDERER}, this is {renderer}"
        );
        testing::skip_unless_required(
            &format!("exact comparison with screenshot {name}"),
            &format!(
                "drawn by {renderer}, not by {SNAPSHOT_RENDERER} that the screenshots were made with; \
                 compared allowing {OTHER_RENDERER_BUDGET} pixels instead of {SNAPSHOT_BUDGET}"
            ),
            testing::expected(EXPECT_RENDERER),
        );
        options.threshold(1.0).max_failed_pixels(OTHER_RENDERER_BUDGET)
    };
    if let Err(error) = harness.try_snapshot_options(name, &options) {
        panic!("{error}");
    }
}

fn settings() -> Settings {
    Settings {
        name: "Ada Lovelace".into(),
        ..Settings::default()
    }
}

/// A frame split into four flat colours, given as (Y, U, V): top-left, top-right,
/// bottom-left, bottom-right.
fn quadrants(width: u32, height: u32, colours: [(u8, u8, u8); 4]) -> VideoFrame {
    let mut frame = VideoFrame::new(width, height);
    let (y_stride, uv_stride) = (frame.y_stride(), frame.uv_stride());
    let (y, u, v) = frame.planes_mut();
    let colour_at =
        |x: usize, row: usize, w: usize, h: usize| colours[usize::from(row >= h / 2) * 2 + usize::from(x >= w / 2)];
    let (w, h) = (width as usize, height as usize);
    for row in 0..h {
        for x in 0..w {
            y[row * y_stride + x] = colour_at(x, row, w, h).0;
        }
    }
    for row in 0..h / 2 {
        for x in 0..w / 2 {
            let (_, cu, cv) = colour_at(x, row, w / 2, h / 2);
            u[row * uv_stride + x] = cu;
            v[row * uv_stride + x] = cv;
        }
    }
    frame
}

/// Red, green, blue and mid grey in BT.601 limited-range YUV.
const COLOURS: [(u8, u8, u8); 4] = [(81, 90, 240), (145, 54, 34), (41, 240, 110), (126, 128, 128)];

fn slot_with(frame: VideoFrame) -> Arc<VideoSlot> {
    let slot = Arc::new(VideoSlot::default());
    let mut frame = frame;
    slot.publish(&mut frame);
    slot
}

/// BT.601 limited range to RGB, the reference the shader must match.
fn expected_rgb((y, u, v): (u8, u8, u8)) -> [f32; 3] {
    let (y, u, v) = (f32::from(y) - 16.0, f32::from(u) - 128.0, f32::from(v) - 128.0);
    let clamp = |x: f32| x.clamp(0.0, 255.0);
    [
        clamp(1.164 * y + 1.596 * v),
        clamp(1.164 * y - 0.392 * u - 0.813 * v),
        clamp(1.164 * y + 2.017 * u),
    ]
}

/// Asserts that `pixel`, drawn at `at`, is `colour` (Y, U, V), give or take a little.
fn assert_drawn(pixel: [u8; 4], at: (u32, u32), colour: (u8, u8, u8)) {
    let expected = expected_rgb(colour);
    for channel in 0..3 {
        let difference = (f32::from(pixel[channel]) - expected[channel]).abs();
        assert!(difference <= 3.0, "at {at:?}: drew {pixel:?}, expected {expected:?}");
    }
}

#[test]
fn the_shader_draws_i420_in_the_right_colours() {
    let slot = slot_with(quadrants(320, 180, COLOURS));
    let area = egui::Rect::from_min_size(egui::pos2(0.0, 0.0), egui::vec2(320.0, 180.0));
    let mut harness = builder().with_size(area.size()).build_ui(move |ui| {
        video_ui(ui, 7, &slot, area, false);
    });
    harness.run();
    let image = harness.render().expect("rendered");
    let centres = [(80, 45), (240, 45), (80, 135), (240, 135)];
    for ((x, y), colour) in centres.into_iter().zip(COLOURS) {
        assert_drawn(image.get_pixel(x, y).0, (x, y), colour);
    }
    // Drawn at its own size, the edge between quadrants stays sharp: two pixels to either
    // side of it the colours are already flat (the chroma planes are half size).
    let left = image.get_pixel(157, 45).0;
    let right = image.get_pixel(162, 45).0;
    assert!(left[0] > 240 && right[1] > 240, "{left:?} | {right:?}");
    snapshot(&mut harness, "shader_quadrants");
}

fn meeting(title: &str, code: &str, passcode: bool, participants: usize) -> DiscoveredMeeting {
    DiscoveredMeeting {
        id: format!("{title}-{code}._videomeet._tcp.local."),
        title: title.into(),
        host_name: "Grace".into(),
        code: code.into(),
        passcode_required: passcode,
        participants,
        version: PROTOCOL_VERSION,
        addresses: vec!["192.168.1.20".parse().expect("address")],
        port: 47_800,
        recording: false,
    }
}

struct HomeState {
    home: HomeScreen,
    settings: Settings,
    plan: Option<Plan>,
}

fn home_harness(meetings: Vec<DiscoveredMeeting>) -> Harness<'static, HomeState> {
    home_harness_with(meetings, settings())
}

/// [`home_harness`] with `settings` from the start.
fn home_harness_with(meetings: Vec<DiscoveredMeeting>, settings: Settings) -> Harness<'static, HomeState> {
    let mut home = HomeScreen::new();
    home.meetings = meetings;
    let state = HomeState {
        home,
        settings,
        plan: None,
    };
    builder().build_ui_state(
        |ui, state: &mut HomeState| {
            let plan = egui::CentralPanel::default().show(ui, |ui| state.home.ui(ui, &mut state.settings));
            if let Some(plan) = plan.inner {
                state.plan = Some(plan);
            }
        },
        state,
    )
}

struct AppearanceState {
    home: HomeScreen,
    settings: Settings,
    applied: Option<(Theme, u16)>,
}

#[test]
fn the_theme_and_size_chosen_on_the_home_screen_are_applied_and_remembered() {
    let state = AppearanceState {
        home: HomeScreen::new(),
        settings: settings(),
        applied: None,
    };
    let mut harness = builder().build_ui_state(
        |ui, state: &mut AppearanceState| {
            follow_appearance(ui.ctx(), &mut state.settings, &mut state.applied);
            egui::CentralPanel::default().show(ui, |ui| state.home.ui(ui, &mut state.settings));
        },
        state,
    );
    harness.run();
    harness.get_by_label("Light").click();
    harness.run();
    assert_eq!(harness.state().settings.theme, Theme::Light);
    assert!(!(harness.ctx.theme() == egui::Theme::Dark), "the window turned light");
    snapshot(&mut harness, "home_light");

    harness.get_by_label("Larger").click();
    harness.run();
    assert_eq!(harness.state().settings.ui_scale_percent, 110);
    assert!(
        (harness.ctx.zoom_factor() - 1.1).abs() < 1e-4,
        "{}",
        harness.ctx.zoom_factor()
    );
    // egui's own Ctrl+minus: the size it leaves is the one remembered.
    harness.key_press_modifiers(Modifiers::COMMAND, Key::Minus);
    harness.run();
    assert_eq!(harness.state().settings.ui_scale_percent, 100);

    harness.get_by_label("Dark").click();
    harness.run();
    assert!(
        (harness.ctx.theme() == egui::Theme::Dark),
        "the window turned dark again"
    );
}

#[test]
fn home_lists_meetings_and_joins_the_one_clicked() {
    let recorded = DiscoveredMeeting {
        recording: true,
        ..meeting("Standup", "AAAA1111", false, 3)
    };
    let mut harness = home_harness(vec![recorded, meeting("Standup", "BBBB2222", true, 1)]);
    harness.state_mut().home.notice = Some("You left the meeting.".into());
    harness.run();
    snapshot(&mut harness, "home");
    // A meeting being recorded says so before anyone joins it.
    assert_eq!(harness.get_all_by_label("⏺ being recorded").count(), 1);
    // Same titles are told apart by their codes; the locked one asks for a passcode.
    harness.get_by_label_contains("code BBBB2222 · needs a passcode");
    let joins: Vec<_> = harness.get_all_by_label("Join").collect();
    assert_eq!(joins.len(), 3, "one for the address, then one per meeting");
    joins[2].click();
    harness.run();
    let Some(Plan::Join {
        target,
        passcode_required,
        ..
    }) = harness.state().plan.clone()
    else {
        panic!("joining was not chosen");
    };
    assert!(passcode_required);
    assert_eq!(target.code.as_deref(), Some("BBBB2222"));
    assert_eq!(target.host, "192.168.1.20");
}

#[test]
fn home_hosts_with_a_default_title_and_refuses_bad_addresses() {
    let mut harness = home_harness(Vec::new());
    harness.get_by_label("Host").click();
    harness.run();
    assert_eq!(
        harness.state_mut().plan.take(),
        Some(Plan::Host {
            title: "Ada Lovelace's meeting".into(),
            passcode: None,
            ask_to_join: false,
        })
    );
    harness.get_by_label("Guests wait until I let them in").click();
    harness.get_by_label("Host").click();
    harness.run();
    assert!(matches!(
        harness.state_mut().plan.take(),
        Some(Plan::Host { ask_to_join: true, .. })
    ));
    harness.state_mut().settings.last_address = "videomeet://".into();
    harness.run();
    harness.get_by_label("Join").click();
    harness.run();
    assert_eq!(harness.state().plan, None);
    harness.get_by_label_contains("not a meeting address");
    harness.state_mut().settings.last_address = "10.0.0.7:47801".into();
    harness.run();
    harness.get_by_label("Join").click();
    harness.run();
    let Some(Plan::Join { target, .. }) = harness.state().plan.clone() else {
        panic!("joining by address was not chosen");
    };
    assert_eq!((target.host.as_str(), target.port), ("10.0.0.7", 47_801));
}

#[test]
fn home_needs_a_name() {
    let mut harness = home_harness(Vec::new());
    harness.state_mut().settings.name = "  ".into();
    harness.run();
    harness.get_by_label("Enter your name to host or join.");
    harness.get_by_label("Host").click();
    harness.run();
    assert_eq!(harness.state().plan, None);
}

#[test]
fn a_first_start_is_ready_for_the_name_and_enter_hosts() {
    let first_start = Settings {
        name: String::new(),
        ..settings()
    };
    let mut harness = home_harness_with(Vec::new(), first_start);
    harness.run();
    let field = harness.get_by_role_and_label(Role::TextInput, "Your name");
    assert!(field.is_focused(), "the cursor waits in the name field");
    let host = harness.get_by_label("Host").rect();
    field.type_text("G");
    harness.run();
    assert!(harness.query_by_label("Enter your name to host or join.").is_none());
    assert_eq!(harness.get_by_label("Host").rect(), host, "the page did not move");
    // Enter in the host form hosts.
    let title = harness.get_by_role_and_label(Role::TextInput, "Title");
    title.focus();
    title.type_text("Lab");
    harness.run();
    harness.key_press(Key::Enter);
    harness.run();
    assert!(
        matches!(&harness.state().plan, Some(Plan::Host { title, .. }) if title == "Lab"),
        "{:?}",
        harness.state().plan
    );
}

fn devices() -> DeviceList {
    DeviceList {
        cameras: vec![VideoChoice::TestPattern],
        microphones: vec![MicrophoneChoice::TestTone { freq_hz: 440 }, MicrophoneChoice::Silence],
        speakers: vec![SpeakerChoice::Mute],
        notes: vec!["No camera found".into()],
    }
}

struct SetupState {
    setup: SetupScreen,
    settings: Settings,
    action: Option<SetupAction>,
}

#[test]
fn setup_shows_devices_asks_for_the_passcode_and_starts() {
    let plan = Plan::Join {
        target: JoinTarget::parse("192.168.1.20:47800/BBBB2222").expect("target"),
        title: "Standup".into(),
        passcode_required: true,
    };
    let mut setup = SetupScreen::new(plan);
    let mut settings = settings();
    settings.microphone = Some(MicrophoneChoice::Silence.id());
    setup.set_devices(devices(), &settings);
    let mut preview = quadrants(640, 360, COLOURS);
    setup.preview.publish(&mut preview);
    let state = SetupState {
        setup,
        settings,
        action: None,
    };
    let mut harness = builder().build_ui_state(
        |ui, state: &mut SetupState| {
            let action = egui::CentralPanel::default().show(ui, |ui| state.setup.ui(ui, &mut state.settings));
            if let Some(action) = action.inner {
                state.action = Some(action);
            }
        },
        state,
    );
    harness.run();
    snapshot_in_both_themes(&mut harness, "setup");
    // The remembered microphone is chosen; the missing camera is said plainly.
    harness.get_by_label("No camera found");
    assert_eq!(harness.state().setup.microphone, Some(MicrophoneChoice::Silence));
    harness.get_by_label("Join with microphone on").click();
    harness.run();
    assert!(!harness.state().settings.mic_on);
    // Without the passcode, joining would only be refused: the button waits for it.
    harness.get_by_label("This meeting needs its passcode: ask the host for it.");
    assert!(harness.get_by_label("Join now").accesskit_node().is_disabled());
    harness.get_by_label("Passcode").focus();
    harness.get_by_label("Passcode").type_text("tea for two");
    harness.run();
    assert!(
        harness
            .query_by_label("This meeting needs its passcode: ask the host for it.")
            .is_none()
    );
    harness.get_by_label("Join now").click();
    // Connecting shows a spinner, which keeps repainting: step instead of running to rest.
    harness.run_steps(2);
    harness.get_by_label("Connecting…");
    let Some(SetupAction::Start(start)) = harness.state_mut().action.take() else {
        panic!("the meeting was not started");
    };
    let (role, config) = *start;
    assert!(
        matches!(&role, MeetingRole::Join { passcode: Some(p), .. } if p == "tea for two"),
        "{role:?}"
    );
    assert_eq!(config.microphone, MicrophoneChoice::Silence);
    assert_eq!(config.camera, VideoChoice::TestPattern);
    assert!(!config.mic_on && config.camera_on);
    assert_eq!(config.name, "Ada Lovelace");
    // A host that makes guests wait: the screen says so while it waits.
    harness.state_mut().setup.status = Status::Waiting("Waiting for the host to let you in.".into());
    harness.run_steps(2);
    harness.get_by_label("Waiting for the host to let you in.");
    assert!(
        harness.get_by_label("Join now").accesskit_node().is_disabled(),
        "one join at a time"
    );
}

struct MeetingState {
    screen: MeetingScreen,
    settings: Settings,
    ended: Option<String>,
    focused: bool,
    /// The screen's clock: it stands still unless a test moves it.
    clock: Arc<Mutex<Instant>>,
}

impl MeetingState {
    /// Moves the screen's clock on.
    fn advance(&self, by: Duration) {
        *self.clock.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }
}

/// The commands a screen sent, in order; how it said it draws the cameras apart.
struct Commands {
    requests: mpsc::Receiver<Request>,
    others: std::collections::VecDeque<Command>,
    views: Vec<Vec<ViewSize>>,
}

impl Commands {
    fn new(requests: mpsc::Receiver<Request>) -> Self {
        Self {
            requests,
            others: Default::default(),
            views: Vec::new(),
        }
    }

    /// Sorts what was sent so far into views and the rest.
    fn take_sent(&mut self) {
        while let Ok(request) = self.requests.try_recv() {
            match request.command {
                Command::View(sizes) => self.views.push(sizes),
                command => self.others.push_back(command),
            }
        }
    }

    /// The next command other than a view.
    fn try_recv(&mut self) -> Result<Command, mpsc::error::TryRecvError> {
        self.take_sent();
        self.others.pop_front().ok_or(mpsc::error::TryRecvError::Empty)
    }

    /// The views sent since the last call.
    fn views(&mut self) -> Vec<Vec<ViewSize>> {
        self.take_sent();
        std::mem::take(&mut self.views)
    }
}

/// The host's meeting screen fed by `events`, its commands landing in the returned receiver.
fn meeting_harness() -> (Harness<'static, MeetingState>, mpsc::Sender<Event>, Commands) {
    meeting_harness_as(true)
}

/// A meeting screen, the host's or (not `hosting`) a guest's, fed by `events`, its commands
/// landing in the returned receiver.
fn meeting_harness_as(hosting: bool) -> (Harness<'static, MeetingState>, mpsc::Sender<Event>, Commands) {
    let (events_tx, events) = mpsc::channel(64);
    let (commands_tx, commands) = mpsc::channel(64);
    let me = Myself {
        name: "Ada Lovelace".into(),
        title: "Standup".into(),
        hosting,
        ask_to_join: false,
        passcode: Some("tea for two".into()),
        announced: false,
        media: MediaState {
            mic: true,
            camera: true,
            screen: false,
            hand: None,
            camera_size: None,
            recording: false,
        },
    };
    let clock = Arc::new(Mutex::new(Instant::now()));
    let read = Arc::clone(&clock);
    let state = MeetingState {
        screen: MeetingScreen::new(MeetingHandle::new(commands_tx), events, me, None)
            .with_clock(Arc::new(move || *read.lock().unwrap_or_else(PoisonError::into_inner))),
        settings: settings(),
        ended: None,
        focused: true,
        clock,
    };
    let harness = builder().build_ui_state(
        |ui, state: &mut MeetingState| {
            state.screen.take_events(state.focused);
            if let Some(message) = state.screen.ui(ui, &mut state.settings) {
                state.ended = Some(message);
            }
        },
        state,
    );
    (harness, events_tx, Commands::new(commands))
}

fn peer(id: u32, name: &str, mic: bool, camera: bool) -> PeerInfo {
    PeerInfo {
        id,
        name: name.into(),
        media: MediaState {
            mic,
            camera,
            screen: false,
            hand: None,
            camera_size: None,
            recording: false,
        },
        is_host: false,
        browser: false,
        cohost: false,
    }
}

fn joined() -> Event {
    Event::Joined {
        you: 1,
        meeting: MeetingInfo {
            code: "ABCD2345".into(),
            title: "Standup".into(),
            host_name: "Ada Lovelace".into(),
            passcode_required: false,
            started_at_ms: None,
            forwarding: false,
            max_file_bytes: Some(1 << 31),
            no_guest_recording: false,
        },
        link: "videomeet://192.168.1.20:47800/ABCD2345".into(),
        web_page: Some(WebPage {
            link: "https://192.168.1.20:47800/ABCD2345".into(),
            fingerprint:
                "3F:9A:11:C2:7E:05:D8:64:B0:2C:91:4E:AA:17:63:F8:0D:52:C9:3B:E4:76:1A:8F:25:6E:D0:B3:48:9C:07:E1".into(),
        }),
        local_video: slot_with(quadrants(1280, 720, COLOURS)),
        audio_levels: Arc::new(AudioLevels::default()),
    }
}

fn send(events: &mpsc::Sender<Event>, event: Event) {
    events.try_send(event).expect("queued");
}

/// Asserts that `text` is shown on the tile of `whose` (as its name is written there).
fn on_tile<State>(harness: &Harness<'_, State>, whose: &str, text: &str) {
    let tile = harness
        .get_by_role_and_label(Role::Group, &format!("Video of {whose}"))
        .rect();
    assert!(
        harness
            .get_all_by_label(text)
            .any(|node| tile.contains_rect(node.rect())),
        "{text:?} is not on the tile of {whose}"
    );
}

/// Double-clicks the tile labelled `label`. Each queued event gets a step of its own, a
/// quarter of a second, too slow for a double-click: both clicks go into one step.
fn double_click<State>(harness: &mut Harness<'_, State>, label: &str) {
    let centre = harness.get_by_role_and_label(Role::Group, label).rect().center();
    harness.event(egui::Event::PointerMoved(centre));
    harness.step();
    for pressed in [true, false, true, false] {
        harness.input_mut().events.push(egui::Event::PointerButton {
            pos: centre,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: Modifiers::NONE,
        });
    }
    harness.run();
}

#[test]
fn meeting_shows_everyone_and_sends_what_the_user_does() {
    let (mut harness, events, mut commands) = meeting_harness();
    send(&events, joined());
    send(&events, Event::PeerJoined(peer(2, "Grace Hopper", true, true)));
    send(&events, Event::PeerJoined(peer(3, "Alan Turing", false, false)));
    send(
        &events,
        Event::Video {
            id: 2,
            feed: VideoFeed::Camera,
            slot: slot_with(quadrants(640, 360, [COLOURS[3], COLOURS[2], COLOURS[1], COLOURS[0]])),
        },
    );
    send(
        &events,
        Event::Stats(vec![PeerStats {
            id: 2,
            rtt_ms: Some(2.0),
            send_kbps: 1500.0,
            receive_kbps: 1400.0,
            fps: 30.0,
            width: 640,
            height: 360,
            decode_ms: 0.7,
            ..PeerStats::default()
        }]),
    );
    send(
        &events,
        Event::SafetyCode {
            id: 2,
            code: "314 159 265 358".into(),
        },
    );
    harness.run();
    harness.get_by_label_contains("People (3)").click();
    harness.get_by_label("📊 Statistics").click();
    harness.run();
    snapshot(&mut harness, "meeting");
    // What the tiles paint, read back: names with their marks, and the statistics.
    harness.get_by_label("3 in the meeting · 0:00");
    on_tile(&harness, "Ada Lovelace (you)", "Ada Lovelace (you) · host");
    on_tile(&harness, "Ada Lovelace (you)", "1280×720 · sending 1500 kbps in all");
    on_tile(&harness, "Grace Hopper", "Grace Hopper");
    on_tile(
        &harness,
        "Grace Hopper",
        "640×360 · 30 fps · decode 0.7 ms\n↓ 1400 kbps · ↑ 1500 kbps\nRTT 2 ms · loss 0.0 % · jitter 0.0 ms",
    );
    on_tile(&harness, "Alan Turing", "🔇 Alan Turing");
    on_tile(&harness, "Alan Turing", "connecting…");
    harness.get_by_label("Safety code 314 159 265 358");
    // A camera that is off has no size or rate to show.
    send(
        &events,
        Event::Stats(vec![PeerStats {
            id: 3,
            rtt_ms: Some(3.0),
            send_kbps: 1500.0,
            receive_kbps: 40.0,
            ..PeerStats::default()
        }]),
    );
    harness.run();
    on_tile(
        &harness,
        "Alan Turing",
        "no video\n↓ 40 kbps · ↑ 1500 kbps\nRTT 3 ms · loss 0.0 % · jitter 0.0 ms",
    );
    // A camera sent larger than it comes: the statistics name the layer received.
    let mut grace = peer(2, "Grace Hopper", true, true).media;
    grace.camera_size = Some([1280, 720]);
    send(&events, Event::MediaState { id: 2, media: grace });
    harness.run();
    on_tile(
        &harness,
        "Grace Hopper",
        "640×360 (half size) · 30 fps · decode 0.7 ms\n↓ 1400 kbps · ↑ 1500 kbps\nRTT 2 ms · loss 0.0 % · jitter 0.0 ms",
    );
    // A guest's meeting time counts from the meeting's start, not from its own arrival.
    let (mut late, guest_events, _guest_commands) = meeting_harness();
    let mut arrival = joined();
    if let Event::Joined { meeting, .. } = &mut arrival {
        meeting.started_at_ms = Some(videomeet_net::clock_ms() - 90_000);
    }
    send(&guest_events, arrival);
    late.run();
    late.get_by_label("1 in the meeting · 1:30");
    // The meeting's time counts minutes and seconds (hours once there are any).
    harness.state().advance(Duration::from_secs(65));
    harness.run();
    harness.get_by_label("3 in the meeting · 1:05");
    // The host can remove someone from the participants panel, once sure: it keeps their
    // address out.
    let more: Vec<_> = harness.get_all_by_label("More").collect();
    assert_eq!(more.len(), 2, "a menu for each other participant");
    more[0].click();
    harness.run();
    harness.get_by_label("Remove Grace Hopper…").click();
    harness.run();
    assert!(
        commands.try_recv().is_err(),
        "nobody is removed before the host confirms"
    );
    harness.get_by_label("Cancel").click();
    harness.run();
    assert!(harness.query_by_label("Remove Grace Hopper").is_none());
    harness.get_all_by_label("More").next().unwrap().click();
    harness.run();
    harness.get_by_label("Remove Grace Hopper…").click();
    harness.run();
    harness.get_by_label("Remove Grace Hopper").click();
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::Remove(2)));

    // Buttons and shortcuts reach the meeting.
    harness.get_by_label("🎤 Mute").click();
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::SetMic(false)));
    harness.key_press_modifiers(Modifiers::ALT, Key::V);
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::SetCamera(false)));
    harness.get_by_label("🔇 Unmute");
    harness.get_by_label("📷 Start video");

    // The host's Leave asks first (Escape keeps the meeting going): hand it over to the
    // program that came first, so it goes on, or end it for everyone.
    harness.get_by_label("Leave").click();
    harness.run();
    harness.get_by_label(
        "You host this meeting. Leave and Grace Hopper hosts it, so it goes on (media pauses for a moment \
         while everyone moves), or end it for everyone.",
    );
    harness.key_press(Key::Escape);
    harness.run();
    assert!(commands.try_recv().is_err(), "the meeting goes on");
    assert!(harness.query_by_label("End the meeting for everyone").is_none());
    harness.get_by_label("Leave").click();
    harness.run();
    harness.get_by_label("Leave; Grace Hopper hosts").click();
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::HandOver));
    assert!(
        harness.state().ended.is_none(),
        "gone once everyone was told where to go"
    );
    harness.key_press_modifiers(Modifiers::ALT, Key::Q);
    harness.run();
    harness.get_by_label("End the meeting for everyone").click();
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::Leave));
    assert_eq!(
        harness.state().ended.as_deref(),
        Some("You ended the meeting for everyone.")
    );
}

#[test]
fn the_window_tells_the_meeting_how_large_it_draws_each_camera() {
    let (mut harness, events, mut commands) = meeting_harness();
    send(&events, joined());
    send(&events, Event::PeerJoined(peer(2, "Grace Hopper", true, true)));
    send(&events, Event::PeerJoined(peer(3, "Alan Turing", false, false)));
    harness.run();
    let size_of = |view: &[ViewSize], id: PeerId| {
        let size = view.iter().find(|size| size.id == id).expect("a size for everyone");
        (size.width, size.height)
    };
    let sent = commands.views();
    let grid = sent.last().expect("the window said how it draws the cameras").clone();
    assert_eq!(grid.len(), 2, "ours is not sent, nor anyone twice: {grid:?}");
    let (grace, alan) = (size_of(&grid, 2), size_of(&grid, 3));
    assert_eq!(grace, alan, "a grid draws everyone alike");
    assert!(grace.0 > 100 && grace.1 > 50, "{grid:?}");
    // Pinned, Grace is drawn large and Alan small: the meeting is told (after a quarter of
    // a second at most).
    double_click(&mut harness, "Video of Grace Hopper");
    std::thread::sleep(Duration::from_millis(260));
    harness.run();
    let pinned = commands.views().last().cloned().expect("a new view once pinned");
    let (grace_pinned, alan_pinned) = (size_of(&pinned, 2), size_of(&pinned, 3));
    println!("grid {grace:?} each; pinned Grace {grace_pinned:?}, Alan {alan_pinned:?}");
    assert!(grace_pinned.0 > grace.0 && alan_pinned.0 < grace.0, "{pinned:?}");
    // Nothing changed: nothing is sent again.
    harness.run();
    assert!(commands.views().is_empty(), "the same view sent again");
}

/// A meeting of sixteen, us and "Guest 2" to "Guest 16", and how loud each is.
fn sixteen_in_the_meeting(events: &mpsc::Sender<Event>) -> Arc<AudioLevels> {
    let joined = joined();
    let Event::Joined { audio_levels, .. } = &joined else {
        unreachable!()
    };
    let levels = Arc::clone(audio_levels);
    send(events, joined);
    for id in 2..=16 {
        send(events, Event::PeerJoined(peer(id, &format!("Guest {id}"), true, true)));
    }
    levels
}

/// The tile of "Guest `id`", if drawn.
fn guest_tile<State>(harness: &Harness<'_, State>, id: PeerId) -> Option<egui::Rect> {
    harness
        .query_by_role_and_label(Role::Group, &format!("Video of Guest {id}"))
        .map(|node| node.rect())
}

/// Asserts that the last view sent gives every guest its tile's size as drawn, `0x0` for
/// those not drawn; returns the sizes by id.
fn view_is_as_drawn<State>(harness: &Harness<'_, State>, commands: &mut Commands) -> Vec<(PeerId, u32, u32)> {
    let view = commands.views().pop().expect("a view sent");
    assert_eq!(view.len(), 15, "everyone but us, once: {view:?}");
    for size in &view {
        let drawn = guest_tile(harness, size.id).map_or((0, 0), |tile| {
            (tile.width().round() as u32, tile.height().round() as u32)
        });
        assert_eq!((size.width, size.height), drawn, "Guest {}", size.id);
    }
    view.iter().map(|size| (size.id, size.width, size.height)).collect()
}

#[test]
fn a_gallery_too_full_for_the_window_shows_pages_and_only_their_cameras_are_sent() {
    let (mut harness, events, mut commands) = meeting_harness();
    let levels = sixteen_in_the_meeting(&events);
    harness.run();
    snapshot(&mut harness, "meeting_gallery_pages");
    // Our own tile and the first others on the first page; the page controls below them.
    harness.get_by_label("Page 1 of 2");
    assert!(harness.get_by_label("Previous page").accesskit_node().is_disabled());
    let next = harness.get_by_label("Next page");
    let lowest_tile = harness
        .get_all_by_role(Role::Group)
        .map(|tile| tile.rect().max.y)
        .fold(0.0, f32::max);
    assert!(next.rect().min.y > lowest_tile, "the controls are below the tiles");
    harness.get_by_role_and_label(Role::Group, "Video of Ada Lovelace (you)");
    let first_page = view_is_as_drawn(&harness, &mut commands);
    let shown = |view: &[(PeerId, u32, u32)]| -> Vec<PeerId> {
        view.iter()
            .filter(|(_, width, _)| *width > 0)
            .map(|(id, ..)| *id)
            .collect()
    };
    let on_first_page = shown(&first_page);
    assert!(
        on_first_page.contains(&2) && !on_first_page.contains(&16),
        "{first_page:?}"
    );
    // No smaller than readable.
    let readable = super::grid::MIN_TILE_WIDTH as u32;
    assert!(
        first_page.iter().all(|(_, width, _)| *width == 0 || *width >= readable),
        "{first_page:?}"
    );

    // The next page shows the others (not us), and the meeting is told at once.
    next.click();
    harness.run();
    harness.get_by_label("Page 2 of 2");
    assert!(harness.get_by_label("Next page").accesskit_node().is_disabled());
    assert!(
        harness
            .query_by_role_and_label(Role::Group, "Video of Ada Lovelace (you)")
            .is_none()
    );
    let second_page = shown(&view_is_as_drawn(&harness, &mut commands));
    assert!(second_page.contains(&16), "{second_page:?}");
    assert!(on_first_page.iter().all(|id| !second_page.contains(id)));
    // Back by keyboard.
    harness.get_by_label("Previous page").focus();
    harness.key_press(Key::Enter);
    harness.run();
    harness.get_by_label("Page 1 of 2");
    assert_eq!(shown(&view_is_as_drawn(&harness, &mut commands)), on_first_page);

    // Someone on the second page speaks: they take the first page's last place, and keep
    // it when they stop, until the page changes.
    let last_place = *on_first_page.last().expect("others on the first page");
    levels.update_remote(16, &[0.5; 960]);
    harness.run();
    on_tile(&harness, "Guest 16", "Guest 16");
    let with_speaker = shown(&view_is_as_drawn(&harness, &mut commands));
    assert!(
        with_speaker.contains(&16) && !with_speaker.contains(&last_place),
        "{with_speaker:?}"
    );
    for _ in 0..10 {
        levels.update_remote(16, &[0.0; 960]);
    }
    harness.state().advance(Duration::from_secs(2));
    harness.run();
    assert!(
        guest_tile(&harness, 16).is_some(),
        "the speaker stays while on this page"
    );
    // The one whose place they took speaks: back in it, and the guest leaves.
    levels.update_remote(last_place, &[0.5; 960]);
    harness.run();
    assert_eq!(shown(&view_is_as_drawn(&harness, &mut commands)), on_first_page);
    harness.get_by_label("Next page").click();
    harness.run();
    harness.get_by_label("Previous page").click();
    harness.run();
    assert_eq!(shown(&view_is_as_drawn(&harness, &mut commands)), on_first_page);
}

#[test]
fn speaker_view_shows_the_latest_speaker_large_and_is_switched_by_button_or_shortcut() {
    let (mut harness, events, mut commands) = meeting_harness();
    let levels = sixteen_in_the_meeting(&events);
    harness.run();
    let largest_other = |view: &[(PeerId, u32, u32)], large: PeerId| {
        view.iter()
            .filter(|(id, ..)| *id != large)
            .map(|(_, width, _)| *width)
            .max()
            .unwrap_or(0)
    };
    let width_of = |view: &[(PeerId, u32, u32)], id: PeerId| {
        view.iter()
            .find(|(shown, ..)| *shown == id)
            .map_or(0, |(_, width, _)| *width)
    };
    // Nobody has spoken yet: the first other is large; we are in the strip below.
    harness.get_by_label("👤 Speaker view").click();
    harness.run();
    let view = view_is_as_drawn(&harness, &mut commands);
    assert!(width_of(&view, 2) > 2 * largest_other(&view, 2), "{view:?}");
    let large = guest_tile(&harness, 2).expect("Guest 2 drawn");
    let ours = harness
        .get_by_role_and_label(Role::Group, "Video of Ada Lovelace (you)")
        .rect();
    assert!(ours.min.y > large.max.y, "our own tile is in the strip");
    assert!(harness.query_by_label("Next page").is_none(), "no pages");
    assert!(
        view.iter().any(|(_, width, _)| *width == 0),
        "the strip cannot hold fifteen: {view:?}"
    );
    snapshot(&mut harness, "meeting_speaker_view");

    // Guest 15 spoke, then Guest 12: Guest 12 is large, Guest 15 next in the strip.
    levels.update_remote(15, &[0.5; 960]);
    harness.run();
    levels.update_remote(12, &[0.9; 960]);
    harness.run();
    let view = view_is_as_drawn(&harness, &mut commands);
    assert!(width_of(&view, 12) > 2 * largest_other(&view, 12), "{view:?}");
    assert!(
        width_of(&view, 15) > 0,
        "the one who spoke before is in the strip: {view:?}"
    );

    // Alt+W: the gallery again, everyone alike, in pages; Alt+W once more: speaker view.
    harness.key_press_modifiers(Modifiers::ALT, Key::W);
    harness.run();
    harness.get_by_label("Page 1 of 2");
    let gallery = view_is_as_drawn(&harness, &mut commands);
    let widths: std::collections::BTreeSet<u32> =
        gallery.iter().map(|(_, width, _)| *width).filter(|w| *w > 0).collect();
    assert_eq!(widths.len(), 1, "alike: {gallery:?}");
    harness.key_press_modifiers(Modifiers::ALT, Key::W);
    harness.run();
    let view = view_is_as_drawn(&harness, &mut commands);
    assert!(width_of(&view, 12) > 2 * largest_other(&view, 12), "{view:?}");
    // The choice stays while a tile is pinned and let go (Guest 12 large again); the
    // button says where it leads.
    double_click(&mut harness, "Video of Guest 15");
    double_click(&mut harness, "Video of Guest 15, pinned");
    assert!(guest_tile(&harness, 12).is_some_and(|tile| tile.width() > large.width() - 1.0));
    harness.get_by_label("⊞ Gallery view").click();
    harness.run();
    harness.get_by_label("Page 1 of 2");
    harness.get_by_label("👤 Speaker view");
}

#[test]
fn the_tiles_mark_who_is_muted_hosting_reconnecting_and_pinned() {
    let (mut harness, events, _commands) = meeting_harness();
    send(&events, joined());
    send(&events, Event::PeerJoined(peer(2, "Grace Hopper", true, true)));
    let mut alan = peer(3, "Alan Turing", false, true);
    alan.is_host = true;
    send(&events, Event::PeerJoined(alan));
    harness.run();
    on_tile(&harness, "Ada Lovelace (you)", "Ada Lovelace (you) · host");
    on_tile(&harness, "Grace Hopper", "Grace Hopper");
    on_tile(&harness, "Alan Turing", "🔇 Alan Turing · host");
    // Camera on, no picture yet.
    on_tile(&harness, "Grace Hopper", "connecting video…");
    on_tile(&harness, "Alan Turing", "connecting video…");

    send(
        &events,
        Event::Reconnecting {
            id: 2,
            reconnecting: true,
        },
    );
    let unmuted = peer(3, "Alan Turing", true, true).media;
    send(&events, Event::MediaState { id: 3, media: unmuted });
    harness.run();
    on_tile(&harness, "Grace Hopper", "Grace Hopper · reconnecting…");
    on_tile(&harness, "Alan Turing", "Alan Turing · host");
    assert!(harness.query_by_label("🔇 Alan Turing · host").is_none());
    send(
        &events,
        Event::Reconnecting {
            id: 2,
            reconnecting: false,
        },
    );
    harness.run();
    on_tile(&harness, "Grace Hopper", "Grace Hopper");
    assert!(harness.query_by_label_contains("reconnecting").is_none());

    // Each tile shows how well that person's connection carries them, and why.
    assert!(
        harness.query_by_label_contains("Connection:").is_none(),
        "not measured yet"
    );
    let measured = |id, loss_pct, fps| PeerStats {
        id,
        rtt_ms: Some(4.0),
        loss_pct,
        fps,
        ..PeerStats::default()
    };
    send(
        &events,
        Event::Stats(vec![measured(2, 0.0, 30.0), measured(3, 9.0, 0.0)]),
    );
    harness.run();
    on_tile(&harness, "Grace Hopper", "Connection: good");
    on_tile(&harness, "Alan Turing", "Connection: poor (9.0 % of packets lost)");
    assert!(harness.query_by_label_contains("Connection: fair").is_none());

    // A double-click pins a tile, another unpins it.
    assert!(harness.query_by_label_contains("pinned").is_none());
    double_click(&mut harness, "Video of Grace Hopper");
    harness.get_by_role_and_label(Role::Group, "Video of Grace Hopper, pinned");
    double_click(&mut harness, "Video of Grace Hopper, pinned");
    assert!(harness.query_by_label_contains("pinned").is_none());

    // The header counts the time in the meeting by the screen's clock.
    harness.get_by_label("3 in the meeting · 0:00");
    harness.state().advance(Duration::from_secs(65 * 60 + 59));
    harness.run();
    harness.get_by_label("3 in the meeting · 1:05:59");
}

/// The colours drawn at the centres of the top-left and top-right quarters of the picture
/// (16:9) on the tile labelled `label`, and where.
fn top_quarters<State>(harness: &mut Harness<'_, State>, label: &str) -> [([u8; 4], (u32, u32)); 2] {
    let tile = harness.get_by_role_and_label(Role::Group, label).rect();
    let picture = fit(tile, 16.0 / 9.0);
    let image = harness.render().expect("rendered");
    [0.25, 0.75].map(|across| {
        let at = picture.min + picture.size() * egui::vec2(across, 0.25);
        let at = (at.x as u32, at.y as u32);
        (image.get_pixel(at.0, at.1).0, at)
    })
}

#[test]
fn our_own_picture_is_mirrored_unless_turned_off_and_others_are_not() {
    let (mut harness, events, mut commands) = meeting_harness();
    send(&events, joined());
    send(&events, Event::PeerJoined(peer(2, "Grace Hopper", true, true)));
    send(
        &events,
        Event::Video {
            id: 2,
            feed: VideoFeed::Camera,
            slot: slot_with(quadrants(1280, 720, COLOURS)),
        },
    );
    harness.run();
    // Ours: left and right swapped, as a mirror shows us. Grace's: as it is.
    let [left, right] = top_quarters(&mut harness, "Video of Ada Lovelace (you)");
    assert_drawn(left.0, left.1, COLOURS[1]);
    assert_drawn(right.0, right.1, COLOURS[0]);
    let [left, right] = top_quarters(&mut harness, "Video of Grace Hopper");
    assert_drawn(left.0, left.1, COLOURS[0]);
    assert_drawn(right.0, right.1, COLOURS[1]);

    // Turned off in the devices window: ours as it is too, and remembered. Only the screen
    // changes: nothing is sent.
    harness.get_by_label("⚙ Devices").click();
    harness.run();
    assert!(harness.state().settings.mirror_self_view, "on unless turned off");
    harness.get_by_label("Mirror my video").click();
    harness.run();
    assert!(!harness.state().settings.mirror_self_view, "kept for the next meeting");
    let [left, right] = top_quarters(&mut harness, "Video of Ada Lovelace (you)");
    assert_drawn(left.0, left.1, COLOURS[0]);
    assert_drawn(right.0, right.1, COLOURS[1]);
    assert!(commands.try_recv().is_err(), "nothing sent");
}

#[test]
fn our_own_tile_is_hidden_from_its_menu_and_shown_again_only_on_our_screen() {
    let (mut harness, events, mut commands) = meeting_harness();
    send(&events, joined());
    send(&events, Event::PeerJoined(peer(2, "Grace Hopper", true, true)));
    harness.run();
    let ours = "Video of Ada Lovelace (you)";
    let grace_before = harness
        .get_by_role_and_label(Role::Group, "Video of Grace Hopper")
        .rect();
    assert!(harness.query_by_label("Self view hidden").is_none());
    harness.get_by_role_and_label(Role::Group, ours).click_secondary();
    harness.run();
    harness.get_by_label("Hide self view").click();
    harness.run();
    assert!(harness.query_by_role_and_label(Role::Group, ours).is_none(), "hidden");
    harness.get_by_label("Self view hidden");
    // The others' tiles take the room; only how large they are drawn is told, as always.
    let grace = harness
        .get_by_role_and_label(Role::Group, "Video of Grace Hopper")
        .rect();
    assert!(grace.width() > grace_before.width(), "{grace:?} after {grace_before:?}");
    assert!(commands.try_recv().is_err(), "nothing but the view is sent");
    assert!(
        commands.views().iter().flatten().all(|size| size.id == 2),
        "only Grace's camera is in the view"
    );
    harness.get_by_label("Show").click();
    harness.run();
    harness.get_by_role_and_label(Role::Group, ours);
    assert!(harness.query_by_label("Self view hidden").is_none());
    assert!(commands.try_recv().is_err(), "nothing sent");
}

#[test]
fn f1_or_question_mark_lists_every_shortcut_and_escape_closes_the_list() {
    let (mut harness, events, _commands) = meeting_harness();
    send(&events, joined());
    harness.run();
    assert!(harness.query_by_label("Keyboard shortcuts").is_none());
    harness.key_press(Key::F1);
    harness.run();
    harness.get_by_label("Keyboard shortcuts");
    for (keys, does) in [
        ("Alt+A", "Microphone on or off"),
        ("Alt+V", "Camera on or off"),
        ("Alt+H", "Chat open or closed"),
        ("Alt+U", "Participants open or closed"),
        ("Alt+S", "Share the screen, or stop sharing"),
        ("Alt+Y", "Raise or lower your hand"),
        ("Alt+W", "Speaker view or gallery view"),
        ("Alt+Q", "Leave the meeting"),
        ("F1 or ?", "This list of shortcuts"),
    ] {
        let keys = harness.get_by_label(keys).rect();
        let does = harness.get_by_label(does).rect();
        assert!(
            (keys.center().y - does.center().y).abs() < 4.0,
            "{keys:?} beside {does:?}"
        );
    }
    harness.key_press(Key::Escape);
    harness.run();
    assert!(
        harness.query_by_label("Keyboard shortcuts").is_none(),
        "Escape closes it"
    );

    harness.key_press_modifiers(Modifiers::SHIFT, Key::Questionmark);
    harness.run();
    harness.get_by_label("Keyboard shortcuts");
    harness.get_by_label("Close window").click();
    harness.run();
    assert!(
        harness.query_by_label("Keyboard shortcuts").is_none(),
        "closed by its button"
    );

    // A question mark typed in the chat stays in the chat.
    harness.key_press_modifiers(Modifiers::ALT, Key::H);
    harness.run();
    harness.key_press_modifiers(Modifiers::SHIFT, Key::Questionmark);
    harness.run();
    assert!(
        harness.query_by_label("Keyboard shortcuts").is_none(),
        "typing in the chat"
    );
}

#[test]
fn alone_in_the_meeting_the_tiles_offer_the_link_to_invite_others() {
    let (mut harness, events, _commands) = meeting_harness();
    send(&events, joined());
    harness.run();
    harness.get_by_label("You are the only one here");
    snapshot_in_both_themes(&mut harness, "meeting_invite");
    let card = harness.get_by_label("Copy link").rect();
    for shown in ["videomeet://192.168.1.20:47800/ABCD2345", "ABCD2345", "tea for two"] {
        assert!(harness.query_by_label(shown).is_some(), "{shown:?} on the card");
    }
    harness.get_by_label("Copy link").click();
    harness.step();
    let copied = harness.output().platform_output.commands.iter().any(|command| {
        matches!(command, egui::OutputCommand::CopyText(text) if text == "videomeet://192.168.1.20:47800/ABCD2345")
    });
    assert!(copied, "the link is copied");
    harness.run();
    let feedback = harness.get_by_label("Copied").rect();
    assert!(
        (feedback.center().y - card.center().y).abs() < 1.0,
        "{feedback:?} where {card:?} was"
    );

    // Our own tile hidden too, in speaker view: no tile at all, the card still there.
    harness
        .get_by_role_and_label(Role::Group, "Video of Ada Lovelace (you)")
        .click_secondary();
    harness.run();
    harness.get_by_label("Hide self view").click();
    harness.key_press_modifiers(Modifiers::ALT, Key::W);
    harness.run();
    assert!(harness.query_by_role(Role::Group).is_none(), "no tile");
    harness.get_by_label("You are the only one here");

    send(&events, Event::PeerJoined(peer(2, "Grace Hopper", true, true)));
    harness.run();
    assert!(
        harness.query_by_label("You are the only one here").is_none(),
        "gone once someone is here"
    );
    assert!(harness.query_by_label("Copy link").is_none());
}

#[test]
fn a_shared_screen_is_shown_large_and_our_own_share_starts_and_stops() {
    let (mut harness, events, mut commands) = meeting_harness();
    send(&events, joined());
    send(&events, Event::PeerJoined(peer(2, "Grace Hopper", true, true)));
    send(&events, Event::PeerJoined(peer(3, "Alan Turing", true, true)));
    for (id, feed, colours) in [
        (2, VideoFeed::Camera, [COLOURS[3], COLOURS[2], COLOURS[1], COLOURS[0]]),
        (3, VideoFeed::Camera, [COLOURS[1], COLOURS[1], COLOURS[2], COLOURS[2]]),
        (2, VideoFeed::Screen, COLOURS),
    ] {
        send(
            &events,
            Event::Video {
                id,
                feed,
                slot: slot_with(quadrants(1280, 720, colours)),
            },
        );
    }
    let sharing = MediaState {
        mic: true,
        camera: true,
        screen: true,
        hand: None,
        camera_size: None,
        recording: false,
    };
    send(&events, Event::MediaState { id: 2, media: sharing });
    harness.run();
    snapshot(&mut harness, "meeting_screen_share");
    // The screen is narrower than its tile: its name sits on the picture's corner, not in
    // the bar beside it.
    let tile = harness
        .get_by_role_and_label(Role::Group, "Video of Grace Hopper's screen")
        .rect();
    let name = harness.get_by_label("Grace Hopper's screen").rect();
    assert!(name.min.x > tile.min.x + 40.0, "name at {name:?} in the tile {tile:?}");

    // Our own share: the picker lists what can be shared; a click shares it.
    harness.get_by_label("🖥 Share screen").click();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        // The picker shows a spinner while it looks: step instead of waiting to settle.
        harness.step();
        let listed = harness.query_all_by_label_contains("Display 1").next().is_some();
        let refused = harness.query_by_label_contains("not available").is_some();
        if listed || refused {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the picker shows neither screens nor a reason"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    if std::env::var_os("DISPLAY").is_none() {
        harness.get_by_label_contains("screen sharing is not available here");
        return;
    }
    let display = videomeet_media::screen::list_screens()
        .expect("screens are listed")
        .into_iter()
        .next()
        .expect("displays come first");
    harness.step();
    // The thumbnail's button (its tooltip, when shown, has the same words).
    harness
        .get_by_role_and_label(Role::Button, &format!("Share {}", display.name))
        .click();
    harness.run();
    let shared = match commands.try_recv() {
        Ok(Command::ShareScreen(choice)) => choice,
        other => panic!("expected a share, got {other:?}"),
    };
    assert_eq!(shared, display);
    assert!(
        harness.query_by_label("Share your screen").is_none(),
        "the picker closes"
    );
    send(&events, Event::Sharing(Some(shared.name.clone())));
    harness.run();
    harness.get_by_label(&format!("🖥 You are sharing {}", shared.name));
    harness.get_by_label("Stop sharing").click();
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::StopSharing));
    harness.key_press_modifiers(Modifiers::ALT, Key::S);
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::StopSharing), "Alt+S stops too");
    send(&events, Event::Sharing(None));
    harness.run();
    assert!(harness.query_by_label("Stop sharing").is_none());
    harness.get_by_label("🖥 Share screen");

    // The host lets several share at once from the meeting info.
    harness.get_by_label("ℹ Meeting info").click();
    harness.run();
    harness
        .get_by_label("Several people may share their screens at once")
        .click();
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::AllowManySharers(true)));
    harness.get_by_label("Lock the meeting: nobody new can join").click();
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::LockMeeting(true)));
    harness.get_by_label("Guests wait until I let them in").click();
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::AskToJoin(true)));
    // The host can read the passcode again and copy it; the meeting was not announced,
    // and the window does not claim it was.
    harness.get_by_label("tea for two");
    harness.get_by_label("The meeting is not announced: others join by its link or address.");
    assert!(
        harness
            .query_by_label("Others on the network also find the meeting in their list.")
            .is_none()
    );
    // Browsers join by the page's link: shown, as a code for phones, with the certificate's
    // fingerprint, and copied by its button.
    harness.get_by_label("https://192.168.1.20:47800/ABCD2345");
    harness.get_by_label("A code with the browser link, for a phone's camera");
    harness.get_by_label(
        "3F:9A:11:C2:7E:05:D8:64\nB0:2C:91:4E:AA:17:63:F8\n0D:52:C9:3B:E4:76:1A:8F\n25:6E:D0:B3:48:9C:07:E1",
    );
    harness.get_by_label("Copy browser link").click();
    harness.step();
    let copied = harness.output().platform_output.commands.iter().any(|command| {
        matches!(command, egui::OutputCommand::CopyText(text) if text == "https://192.168.1.20:47800/ABCD2345")
    });
    assert!(copied, "the browser link is copied");
    harness.run();
    snapshot(&mut harness, "meeting_info");
}

#[test]
fn echo_cancellation_is_switched_in_the_devices_window_and_remembered() {
    let (mut harness, events, mut commands) = meeting_harness();
    send(&events, joined());
    harness.run();
    harness.get_by_label("⚙ Devices").click();
    harness.run();
    assert!(harness.state().settings.voice_processing, "on unless turned off");
    harness.get_by_label("Echo cancellation and noise suppression").click();
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::UseVoiceProcessing(false)));
    assert!(!harness.state().settings.voice_processing, "kept for the next meeting");
    harness.get_by_label("Echo cancellation and noise suppression").click();
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::UseVoiceProcessing(true)));
}

#[test]
fn the_host_sees_who_asks_to_join_and_lets_them_in_or_turns_them_away() {
    let (mut harness, events, mut commands) = meeting_harness();
    send(&events, joined());
    send(&events, Event::PeerJoined(peer(2, "Grace Hopper", true, true)));
    for (knock, name) in [(7, "Alan Turing"), (8, "Mallory")] {
        send(
            &events,
            Event::Knocking {
                knock,
                name: name.into(),
            },
        );
    }
    harness.run();
    snapshot(&mut harness, "meeting_knocking");
    harness.get_by_label("🚪 Alan Turing asks to join");
    let let_in: Vec<_> = harness.get_all_by_label("Let in").collect();
    assert_eq!(let_in.len(), 2, "one bar for each waiting guest");
    let_in[0].click();
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::Admit(7)));
    assert!(harness.query_by_label("🚪 Alan Turing asks to join").is_none());
    harness.get_by_label("Turn away").click();
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::Deny(8)));
    // A knock that ends elsewhere (the guest gave up) leaves the screen too.
    send(
        &events,
        Event::Knocking {
            knock: 9,
            name: "Eve".into(),
        },
    );
    harness.run();
    harness.get_by_label("🚪 Eve asks to join");
    send(&events, Event::KnockEnded(9));
    harness.run();
    assert!(harness.query_by_label("🚪 Eve asks to join").is_none());
    // In the background, a knock is a desktop notification.
    harness.state_mut().focused = false;
    send(
        &events,
        Event::Knocking {
            knock: 10,
            name: "Bob".into(),
        },
    );
    harness.run();
    let notices = std::mem::take(&mut harness.state_mut().screen.notices);
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].summary, "Bob asks to join Standup");
}

#[test]
fn chat_counts_unread_messages_and_sends_on_enter() {
    let (mut harness, events, mut commands) = meeting_harness();
    send(&events, joined());
    send(&events, Event::PeerJoined(peer(2, "Grace Hopper", true, true)));
    for (seq, text) in [(1, "hello"), (2, "can you hear me?")] {
        send(
            &events,
            Event::Chat {
                from: 2,
                name: "Grace Hopper".into(),
                text: text.into(),
                sent_at_ms: 1_700_000_000_000,
                seq,
                to: None,
            },
        );
    }
    harness.run();
    harness.get_by_label("💬 Chat (2)");
    // Alt+H opens the chat with the cursor in the message field, ready to answer.
    harness.key_press_modifiers(Modifiers::ALT, Key::H);
    harness.run();
    harness.get_by_label("can you hear me?");
    harness.get_by_label("💬 Chat");
    let field = harness.get_by_role(Role::TextInput);
    assert!(field.is_focused(), "the message field has the keyboard");
    field.type_text("yes, loud and clear");
    harness.run();
    harness.key_press(Key::Enter);
    harness.run();
    assert_eq!(
        commands.try_recv().ok(),
        Some(Command::Chat("yes, loud and clear".into()))
    );
}

#[test]
fn notices_come_only_while_the_window_is_in_the_background() {
    let (mut harness, events, _commands) = meeting_harness();
    send(&events, joined());
    send(&events, Event::PeerJoined(peer(2, "Grace Hopper", true, true)));
    harness.run();
    assert!(
        harness.state().screen.notices.is_empty(),
        "people already there are not news"
    );
    harness.state_mut().focused = false;
    send(&events, Event::PeerJoined(peer(3, "Alan Turing", true, true)));
    send(
        &events,
        Event::Chat {
            from: 3,
            name: "Alan Turing".into(),
            text: "hi all".into(),
            sent_at_ms: 1_700_000_000_000,
            seq: 1,
            to: None,
        },
    );
    harness.run();
    let notices = std::mem::take(&mut harness.state_mut().screen.notices);
    assert_eq!(notices.len(), 2);
    assert_eq!(notices[0].summary, "Alan Turing joined Standup");
    assert_eq!(notices[1].body, "hi all");
}

#[test]
fn participants_leaving_and_the_meeting_ending_are_shown() {
    let (mut harness, events, _commands) = meeting_harness();
    send(&events, joined());
    send(&events, Event::PeerJoined(peer(2, "Grace Hopper", true, true)));
    harness.run();
    harness.get_by_label_contains("People (2)");
    send(
        &events,
        Event::PeerLeft {
            id: 2,
            reason: LeaveReason::ConnectionLost,
        },
    );
    harness.run();
    harness.get_by_label("Grace Hopper lost their connection.");
    harness.get_by_label_contains("People (1)");
    // A notice stays 8 seconds by the screen's clock.
    harness.state().advance(Duration::from_millis(7900));
    harness.run();
    harness.get_by_label("Grace Hopper lost their connection.");
    harness.state().advance(Duration::from_millis(200));
    harness.run();
    assert!(harness.query_by_label("Grace Hopper lost their connection.").is_none());
    // The host is told what it did, in its own words; the newest news shows, the oldest
    // gives way, and none covers the control bar.
    for (id, name) in [
        (3, "Alan Turing"),
        (4, "Barbara Liskov"),
        (5, "Edsger Dijkstra"),
        (6, "Frances Allen"),
        (7, "John Backus"),
    ] {
        send(&events, Event::PeerJoined(peer(id, name, true, true)));
        send(
            &events,
            Event::PeerLeft {
                id,
                reason: LeaveReason::Removed,
            },
        );
    }
    harness.run();
    snapshot(&mut harness, "meeting_news");
    harness.get_by_label("You removed John Backus.");
    assert!(
        harness.query_by_label("You removed Alan Turing.").is_none(),
        "only the newest four"
    );
    assert!(harness.query_by_label_contains("was removed by the host").is_none());
    let bar = harness.get_by_label("Leave").rect();
    for name in ["Barbara Liskov", "Edsger Dijkstra", "Frances Allen", "John Backus"] {
        let line = harness.get_by_label(&format!("You removed {name}.")).rect();
        assert!(line.max.y < bar.min.y, "the news about {name} covers the control bar");
    }
    send(&events, Event::Ended(EndReason::HostLost));
    harness.run();
    assert_eq!(
        harness.state().ended.as_deref(),
        Some("The connection to the host was lost.")
    );
}

#[test]
fn home_offers_the_update_check_and_shows_a_newer_release() {
    let mut harness = home_harness(Vec::new());
    assert!(
        !harness.state().settings.check_for_updates,
        "off unless the user allows it"
    );
    harness
        .get_by_label("Check for a newer version when Video Meet starts (needs the internet)")
        .click();
    harness.run();
    assert!(harness.state().settings.check_for_updates);
    harness.state_mut().home.update = Some(crate::update::Release {
        version: "9.0.0".into(),
        page: "https://github.com/videomeet/videomeet/releases/tag/v9.0.0".into(),
    });
    harness.run();
    harness.get_by_label("Video Meet 9.0.0 is available:");
    harness.get_by_label("release page");
}

/// At the narrowest window (640 px) every control is on screen, Leave included, and
/// "You are muted" appearing while a muted microphone hears speech moves no button.
#[test]
fn every_control_fits_a_narrow_window_and_none_moves_while_talking_muted() {
    let (mut harness, events, mut commands) = meeting_harness();
    harness.set_size(egui::vec2(640.0, 480.0));
    let joined = joined();
    let Event::Joined { audio_levels, .. } = &joined else {
        unreachable!()
    };
    let levels = Arc::clone(audio_levels);
    send(&events, joined);
    harness.run();
    // The bar settles: frames after the first change nothing.
    harness.run_steps(5);
    let controls = [
        "Leave",
        "🎤 Mute",
        "📷 Stop video",
        "🖥 Share screen",
        "⏺ Record",
        "💬 Chat",
        "👥 People (1)",
        "📊 Statistics",
        "⚙ Devices",
        "👤 Speaker view",
    ];
    let window = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(640.0, 480.0));
    for label in controls {
        let rect = harness.get_by_label(label).rect();
        assert!(window.contains_rect(rect), "{label} at {rect:?} is not in the window");
    }
    harness.get_by_label("🎤 Mute").click();
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::SetMic(false)));
    let before: Vec<egui::Rect> = controls[2..].iter().map(|l| harness.get_by_label(l).rect()).collect();
    levels.local.update(&[0.5; 960]);
    harness.run();
    harness.get_by_label("You are muted");
    let after: Vec<egui::Rect> = controls[2..].iter().map(|l| harness.get_by_label(l).rect()).collect();
    assert_eq!(before, after, "buttons moved when \"You are muted\" appeared");
}

#[test]
fn hands_are_raised_shown_in_order_and_lowered_by_the_host() {
    let (mut harness, events, mut commands) = meeting_harness();
    send(&events, joined());
    let mut grace = peer(2, "Grace Hopper", true, true);
    grace.media.hand = Some(2);
    let mut alan = peer(3, "Alan Turing", true, true);
    alan.media.hand = Some(1);
    send(&events, Event::PeerJoined(grace));
    send(&events, Event::PeerJoined(alan));
    send(&events, Event::PeerJoined(peer(4, "Barbara Liskov", true, true)));
    harness.run();
    on_tile(&harness, "Grace Hopper", "✋ Grace Hopper");
    on_tile(&harness, "Barbara Liskov", "Barbara Liskov");
    // People lists raised hands first, in the order they went up.
    harness.get_by_label_contains("People (4)").click();
    harness.run();
    let row = |name: &str| harness.get_by_label(name).rect().min.y;
    assert!(row("Alan Turing") < row("Grace Hopper"), "Alan's hand went up first");
    assert!(
        row("Grace Hopper") < row("Ada Lovelace (you)"),
        "raised hands come first"
    );
    harness.get_by_label("✋ 1");
    // Names and buttons share the panel's width without drawing over each other.
    for name in ["Alan Turing", "Grace Hopper", "Barbara Liskov"] {
        // The People panel's, on the right (a tile's caption may say the same).
        let label = harness
            .get_all_by_label(name)
            .map(|node| node.rect())
            .max_by(|a, b| a.min.x.total_cmp(&b.min.x))
            .expect("listed");
        let at_the_end = ["More", "Lower hand", "🎤", "🔇", "📷"];
        for sign in at_the_end.iter().flat_map(|text| harness.query_all_by_label(text)) {
            assert!(!sign.rect().intersects(label), "{name} at {label:?} under {sign:?}");
        }
    }
    snapshot_in_both_themes(&mut harness, "meeting_hands");
    // The host lowers a hand; a button (or Alt+Y) raises ours.
    harness.get_all_by_label("Lower hand").next().unwrap().click();
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::LowerHand(3)));
    harness.get_by_label("✋ Raise hand").click();
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::RaiseHand(true)));
    harness.get_by_label("✋ Lower hand");
    harness.key_press_modifiers(Modifiers::ALT, Key::Y);
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::RaiseHand(false)));
}

#[test]
fn reactions_are_sent_from_the_bar_and_shown_over_the_picture_for_a_moment() {
    let (mut harness, events, mut commands) = meeting_harness();
    send(&events, joined());
    send(&events, Event::PeerJoined(peer(2, "Grace Hopper", true, true)));
    harness.run();
    harness.get_by_label("😀 React").click();
    harness.run();
    harness.get_by_label("👍").click();
    harness.run();
    assert_eq!(commands.try_recv().ok(), Some(Command::React("👍".into())));
    send(
        &events,
        Event::Reaction {
            from: 2,
            emoji: "🎉".into(),
        },
    );
    harness.run();
    on_tile(&harness, "Grace Hopper", "Grace Hopper reacts 🎉");
    harness.state().advance(Duration::from_millis(4100));
    harness.run();
    assert!(
        harness.query_by_label("Grace Hopper reacts 🎉").is_none(),
        "gone after 4 s"
    );
}

mod files;
mod history;
mod moderation;
mod recording;

#[test]
fn a_guest_who_is_handed_the_meeting_hosts_it_and_everyone_hears_who_hosts() {
    let (mut harness, events, mut commands) = meeting_harness_as(false);
    send(&events, joined());
    send(
        &events,
        Event::PeerJoined(PeerInfo {
            is_host: true,
            ..peer(2, "Grace Hopper", true, true)
        }),
    );
    send(&events, Event::PeerJoined(peer(3, "Alan Turing", true, true)));
    harness.run();
    // Grace leaves and hands the meeting over to us: we host it now, with its passcode.
    send(
        &events,
        Event::PeerLeft {
            id: 2,
            reason: LeaveReason::Left,
        },
    );
    let Event::Joined { meeting, .. } = joined() else {
        unreachable!()
    };
    send(
        &events,
        Event::HostChanged {
            host: 1,
            meeting,
            link: "videomeet://192.168.1.21:47800/ABCD2345".into(),
            web_page: None,
            passcode: Some("mint tea".into()),
        },
    );
    harness.run();
    harness.get_by_label("Grace Hopper left.");
    harness.get_by_label("You host the meeting now.");
    harness.get_by_label("ℹ Meeting info").click();
    harness.run();
    harness.get_by_label("Lock the meeting: nobody new can join");
    harness.get_by_label_contains("mint tea");
    harness.get_by_label_contains("videomeet://192.168.1.21:47800/ABCD2345");
    // Leaving now asks whether Alan should host next.
    harness.key_press_modifiers(Modifiers::ALT, Key::Q);
    harness.run();
    harness.get_by_label("Leave; Alan Turing hosts").click();
    harness.run();
    let sent: Vec<Command> = std::iter::from_fn(|| commands.try_recv().ok()).collect();
    assert!(sent.contains(&Command::HandOver), "{sent:?}");
    send(
        &events,
        Event::Ended(EndReason::HandedOver {
            to: "Alan Turing".into(),
        }),
    );
    harness.run();
    assert_eq!(
        harness.state().ended.as_deref(),
        Some("You left the meeting; Alan Turing hosts it now.")
    );
}
