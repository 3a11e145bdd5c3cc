//! The tray icon while in a meeting: show the window, mute or unmute, video on or off, leave;
//! its tooltip and overlay say whether we are muted and whether we share.
//!
//! - Linux: a StatusNotifierItem on the session bus (the `ksni` crate, over the zbus the
//!   program already has), which KDE Plasma, GNOME with its AppIndicator extension, Xfce,
//!   Cinnamon, Budgie and others show.
//!   Put up on a thread of its own, so a slow bus never holds the window up.
//! - Windows (the notification area) and macOS (the menu bar): the `tray-icon` crate, on the
//!   window's own thread, whose event loop carries the icon's messages. Our state is a badge
//!   on the icon (red: muted, green: sharing) and a line in its tooltip.
//!
//! Best effort, like holding the screen on: with no session bus, or nothing showing tray
//! icons, the meeting goes on without one and the log says why.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// What the user chose in the tray's menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    not(any(target_os = "linux", windows, target_os = "macos")),
    allow(dead_code, reason = "chosen only where there is a tray")
)]
pub enum TrayAction {
    /// Bring the window to the front.
    Show,
    /// Mute or unmute.
    ToggleMic,
    /// Video on or off.
    ToggleCamera,
    /// Leave the meeting (the host is asked first, in the window).
    Leave,
}

/// What the tray shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrayState {
    /// The meeting's title.
    pub title: String,
    /// Our microphone is on.
    pub mic: bool,
    /// Our camera is on.
    pub camera: bool,
    /// We share our screen.
    pub sharing: bool,
}

/// Menu choices queued for the window at most; more are dropped (nobody clicks that fast).
const QUEUED: usize = 16;

/// The tray icon; dropping it takes it away.
pub struct Tray {
    icon: platform::Icon,
    actions: Receiver<TrayAction>,
    state: TrayState,
}

impl Tray {
    /// Puts the icon up showing `state`; `wake` is called with each choice made in its menu
    /// (to redraw the window, which then takes it with [`Tray::actions`]). Called on the
    /// window's thread.
    pub fn show(state: TrayState, wake: impl Fn() + Send + Sync + 'static) -> Self {
        let (chosen, actions) = sync_channel(QUEUED);
        let choose = Chooser {
            chosen,
            wake: Arc::new(wake),
        };
        Self {
            icon: platform::Icon::show(state.clone(), choose),
            actions,
            state,
        }
    }

    /// What was chosen in the menu since the last call.
    pub fn actions(&self) -> Vec<TrayAction> {
        self.actions.try_iter().collect()
    }

    /// Shows `state`, when it changed.
    pub fn update(&mut self, state: TrayState) {
        if state == self.state {
            return;
        }
        self.state = state.clone();
        self.icon.update(state);
    }
}

/// Hands a choice to the window and wakes it.
#[derive(Clone)]
#[cfg_attr(
    not(any(target_os = "linux", windows, target_os = "macos")),
    allow(dead_code, reason = "used only where there is a tray")
)]
struct Chooser {
    chosen: SyncSender<TrayAction>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

#[cfg_attr(
    not(any(target_os = "linux", windows, target_os = "macos")),
    allow(dead_code, reason = "used only where there is a tray")
)]
impl Chooser {
    fn choose(&self, action: TrayAction) {
        let _ = self.chosen.try_send(action);
        (self.wake)();
    }
}

impl TrayState {
    /// One line on what we send: "Muted · camera off · sharing your screen".
    #[cfg_attr(
        not(any(target_os = "linux", windows, target_os = "macos")),
        allow(dead_code, reason = "used only where there is a tray")
    )]
    fn summary(&self) -> String {
        let mut parts = vec![if self.mic { "Microphone on" } else { "Muted" }];
        parts.push(if self.camera { "camera on" } else { "camera off" });
        if self.sharing {
            parts.push("sharing your screen");
        }
        parts.join(" · ")
    }

    /// The menu's words for turning the microphone and the camera the other way.
    #[cfg_attr(
        not(any(target_os = "linux", windows, target_os = "macos")),
        allow(dead_code, reason = "used only where there is a tray")
    )]
    fn toggles(&self) -> (&'static str, &'static str) {
        (
            if self.mic { "Mute" } else { "Unmute" },
            if self.camera { "Stop video" } else { "Start video" },
        )
    }
}

#[cfg(target_os = "linux")]
mod platform {
    use std::sync::{Arc, Mutex, PoisonError};

    use ksni::blocking::TrayMethods;
    use ksni::menu::{MenuItem, StandardItem};

    use super::{Chooser, TrayAction, TrayState};

    /// The icon on the session bus, once the thread putting it up has done so.
    pub(super) struct Icon {
        shown: Arc<Mutex<Option<ksni::blocking::Handle<MeetingTray>>>>,
    }

    impl Icon {
        pub(super) fn show(state: TrayState, choose: Chooser) -> Self {
            let shown = Arc::new(Mutex::new(None));
            let slot = Arc::clone(&shown);
            let started = std::thread::Builder::new().name("tray".into()).spawn(move || {
                match (MeetingTray { state, choose }).spawn() {
                    Ok(icon) => *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(icon),
                    Err(error) => tracing::info!("no tray icon: {error}"),
                }
            });
            if let Err(error) = started {
                tracing::warn!(%error, "no tray icon");
            }
            Self { shown }
        }

        pub(super) fn update(&self, state: TrayState) {
            if let Some(icon) = &*self.shown.lock().unwrap_or_else(PoisonError::into_inner) {
                icon.update(move |tray| tray.state = state);
            }
        }
    }

    impl Drop for Icon {
        fn drop(&mut self) {
            if let Some(icon) = self.shown.lock().unwrap_or_else(PoisonError::into_inner).take() {
                // Waited for, briefly: the icon goes with the meeting, not seconds later.
                icon.shutdown().wait();
            }
        }
    }

    pub(super) struct MeetingTray {
        state: TrayState,
        choose: Chooser,
    }

    impl MeetingTray {
        fn item(&self, label: &str, action: TrayAction) -> MenuItem<Self> {
            StandardItem {
                label: label.into(),
                activate: Box::new(move |tray: &mut Self| tray.choose.choose(action)),
                ..Default::default()
            }
            .into()
        }
    }

    impl ksni::Tray for MeetingTray {
        fn id(&self) -> String {
            "videomeet".into()
        }

        fn title(&self) -> String {
            format!("Video Meet: {}", self.state.title)
        }

        fn icon_name(&self) -> String {
            "videomeet".into()
        }

        fn overlay_icon_name(&self) -> String {
            match (self.state.mic, self.state.sharing) {
                (false, _) => "microphone-sensitivity-muted".into(),
                (true, true) => "video-display".into(),
                (true, false) => String::new(),
            }
        }

        fn tool_tip(&self) -> ksni::ToolTip {
            ksni::ToolTip {
                title: self.title(),
                description: self.state.summary(),
                ..Default::default()
            }
        }

        fn activate(&mut self, _x: i32, _y: i32) {
            self.choose.choose(TrayAction::Show);
        }

        fn menu(&self) -> Vec<MenuItem<Self>> {
            let (mic, camera) = self.state.toggles();
            vec![
                self.item("Show Video Meet", TrayAction::Show),
                MenuItem::Separator,
                self.item(mic, TrayAction::ToggleMic),
                self.item(camera, TrayAction::ToggleCamera),
                MenuItem::Separator,
                self.item("Leave the meeting", TrayAction::Leave),
            ]
        }
    }
}

#[cfg(any(windows, target_os = "macos"))]
mod platform {
    use std::sync::{Mutex, Once, PoisonError};

    use eframe::egui::IconData;
    use tray_icon::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
    use tray_icon::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};

    use super::{Chooser, TrayAction, TrayState};
    use crate::icon::{self, Badge};

    /// Where the icon's clicks and menu choices go: the meeting's window while it has an
    /// icon up. The crate's handlers are set once for the whole program, meetings come and go.
    static CHOOSER: Mutex<Option<Chooser>> = Mutex::new(None);
    static HANDLERS: Once = Once::new();

    /// The menu's entries, by the ids the crate hands back.
    const ACTIONS: [(&str, TrayAction); 4] = [
        ("show", TrayAction::Show),
        ("mic", TrayAction::ToggleMic),
        ("camera", TrayAction::ToggleCamera),
        ("leave", TrayAction::Leave),
    ];

    fn choose(action: TrayAction) {
        if let Some(chooser) = &*CHOOSER.lock().unwrap_or_else(PoisonError::into_inner) {
            chooser.choose(action);
        }
    }

    fn handle_events() {
        HANDLERS.call_once(|| {
            MenuEvent::set_event_handler(Some(|event: MenuEvent| {
                if let Some((_, action)) = ACTIONS.iter().find(|(id, _)| event.id == *id) {
                    choose(*action);
                }
            }));
            TrayIconEvent::set_event_handler(Some(|event: TrayIconEvent| {
                if let TrayIconEvent::Click {
                    button: MouseButton::Left,
                    button_state: MouseButtonState::Up,
                    ..
                } = event
                {
                    choose(TrayAction::Show);
                }
            }));
        });
    }

    /// The icon, with the menu entries whose words change.
    pub(super) struct Icon {
        shown: Option<Shown>,
    }

    struct Shown {
        tray: TrayIcon,
        mic: MenuItem,
        camera: MenuItem,
        plain: IconData,
    }

    impl Icon {
        pub(super) fn show(state: TrayState, choose: Chooser) -> Self {
            handle_events();
            *CHOOSER.lock().unwrap_or_else(PoisonError::into_inner) = Some(choose);
            let shown = Shown::new(&state)
                .inspect_err(|reason| tracing::info!("no tray icon: {reason}"))
                .ok();
            Self { shown }
        }

        pub(super) fn update(&self, state: TrayState) {
            if let Some(shown) = &self.shown {
                shown.show(&state);
            }
        }
    }

    impl Drop for Icon {
        fn drop(&mut self) {
            // The icon goes with its TrayIcon; choices made after are nobody's.
            self.shown.take();
            CHOOSER.lock().unwrap_or_else(PoisonError::into_inner).take();
        }
    }

    impl Shown {
        fn new(state: &TrayState) -> Result<Self, String> {
            let (mic_words, camera_words) = state.toggles();
            let item = |id: &str, words: &str| MenuItem::with_id(id, words, true, None);
            let mic = item("mic", mic_words);
            let camera = item("camera", camera_words);
            let menu = Menu::with_items(&[
                &item("show", "Show Video Meet"),
                &PredefinedMenuItem::separator(),
                &mic,
                &camera,
                &PredefinedMenuItem::separator(),
                &item("leave", "Leave the meeting"),
            ])
            .map_err(|error| error.to_string())?;
            let tray = TrayIconBuilder::new()
                .with_id("videomeet")
                .with_menu(Box::new(menu))
                .with_menu_on_left_click(cfg!(target_os = "macos"))
                .build()
                .map_err(|error| error.to_string())?;
            let shown = Self {
                tray,
                mic,
                camera,
                plain: icon::pixels(),
            };
            shown.show(state);
            Ok(shown)
        }

        fn show(&self, state: &TrayState) {
            let (mic, camera) = state.toggles();
            self.mic.set_text(mic);
            self.camera.set_text(camera);
            let mut badges = Vec::new();
            if !state.mic {
                badges.push(Badge::Muted);
            }
            if state.sharing {
                badges.push(Badge::Sharing);
            }
            let badged = icon::with_badges(&self.plain, &badges);
            let picture = tray_icon::Icon::from_rgba(badged.rgba, badged.width, badged.height)
                .map_err(|error| error.to_string())
                .and_then(|picture| self.tray.set_icon(Some(picture)).map_err(|error| error.to_string()));
            if let Err(error) = picture {
                tracing::info!(%error, "the tray icon's picture was not changed");
            }
            let tooltip = format!("Video Meet: {}\n{}", state.title, state.summary());
            if let Err(error) = self.tray.set_tooltip(Some(tooltip)) {
                tracing::info!(%error, "the tray icon's tooltip was not changed");
            }
        }
    }
}

#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
mod platform {
    use super::{Chooser, TrayState};

    pub(super) struct Icon;

    impl Icon {
        pub(super) fn show(_state: TrayState, _choose: Chooser) -> Self {
            tracing::info!("no tray icon: not built for this system");
            Self
        }

        pub(super) fn update(&self, _state: TrayState) {}
    }
}
