//! The tray icon while in a meeting: show the window, mute or unmute, video on or off, leave;
//! its tooltip and overlay say whether we are muted and whether we share.
//!
//! - Linux: a StatusNotifierItem on the session bus (the `ksni` crate, over the zbus the
//!   program already has), which KDE Plasma, GNOME with its AppIndicator extension, Xfce,
//!   Cinnamon, Budgie and others show.
//! - Elsewhere (Windows, macOS) there is no tray icon yet: the log says so.
//!
//! Best effort, like holding the screen on: with no session bus, or nothing showing tray
//! icons, the meeting goes on without one and the log says why. The icon is put up on a
//! thread of its own, so a slow bus never holds the window up.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};

/// What the user chose in the tray's menu.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    not(target_os = "linux"),
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
    shown: Arc<Mutex<Option<platform::Shown>>>,
    actions: Receiver<TrayAction>,
    state: TrayState,
}

impl Tray {
    /// Puts the icon up showing `state`; `wake` is called with each choice made in its menu
    /// (to redraw the window, which then takes it with [`Tray::actions`]).
    pub fn show(state: TrayState, wake: impl Fn() + Send + Sync + 'static) -> Self {
        let (chosen, actions) = sync_channel(QUEUED);
        let shown = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&shown);
        let first = state.clone();
        let started = std::thread::Builder::new().name("tray".into()).spawn(move || {
            let choose = Chooser {
                chosen,
                wake: Arc::new(wake),
            };
            match platform::show(first, choose) {
                Ok(icon) => *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(icon),
                Err(reason) => tracing::info!("no tray icon: {reason}"),
            }
        });
        if let Err(error) = started {
            tracing::warn!(%error, "no tray icon");
        }
        Self { shown, actions, state }
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
        if let Some(icon) = &*self.shown.lock().unwrap_or_else(PoisonError::into_inner) {
            platform::update(icon, state);
        }
    }
}

impl Drop for Tray {
    fn drop(&mut self) {
        if let Some(icon) = self.shown.lock().unwrap_or_else(PoisonError::into_inner).take() {
            platform::remove(icon);
        }
    }
}

/// Hands a choice to the window and wakes it.
#[derive(Clone)]
#[cfg_attr(
    not(target_os = "linux"),
    allow(dead_code, reason = "used only where there is a tray")
)]
struct Chooser {
    chosen: SyncSender<TrayAction>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

#[cfg_attr(
    not(target_os = "linux"),
    allow(dead_code, reason = "used only where there is a tray")
)]
impl Chooser {
    fn choose(&self, action: TrayAction) {
        let _ = self.chosen.try_send(action);
        (self.wake)();
    }
}

#[cfg(target_os = "linux")]
mod platform {
    use ksni::blocking::TrayMethods;
    use ksni::menu::{MenuItem, StandardItem};

    use super::{Chooser, TrayAction, TrayState};

    /// The icon on the session bus.
    pub(super) type Shown = ksni::blocking::Handle<MeetingTray>;

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

        /// One line on what we send: "Muted · camera off · sharing your screen".
        fn summary(&self) -> String {
            let mut parts = vec![if self.state.mic { "Microphone on" } else { "Muted" }];
            parts.push(if self.state.camera { "camera on" } else { "camera off" });
            if self.state.sharing {
                parts.push("sharing your screen");
            }
            parts.join(" · ")
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
                description: self.summary(),
                ..Default::default()
            }
        }

        fn activate(&mut self, _x: i32, _y: i32) {
            self.choose.choose(TrayAction::Show);
        }

        fn menu(&self) -> Vec<MenuItem<Self>> {
            vec![
                self.item("Show Video Meet", TrayAction::Show),
                MenuItem::Separator,
                self.item(if self.state.mic { "Mute" } else { "Unmute" }, TrayAction::ToggleMic),
                self.item(
                    if self.state.camera { "Stop video" } else { "Start video" },
                    TrayAction::ToggleCamera,
                ),
                MenuItem::Separator,
                self.item("Leave the meeting", TrayAction::Leave),
            ]
        }
    }

    pub(super) fn show(state: TrayState, choose: Chooser) -> Result<Shown, String> {
        MeetingTray { state, choose }.spawn().map_err(|error| error.to_string())
    }

    pub(super) fn update(icon: &Shown, state: TrayState) {
        icon.update(move |tray| tray.state = state);
    }

    pub(super) fn remove(icon: Shown) {
        // Waited for, briefly: the icon goes with the meeting, not seconds later.
        icon.shutdown().wait();
    }
}

#[cfg(not(target_os = "linux"))]
mod platform {
    use super::{Chooser, TrayState};

    pub(super) type Shown = ();

    pub(super) fn show(_state: TrayState, _choose: Chooser) -> Result<Shown, String> {
        Err("not built for this system yet".into())
    }

    pub(super) fn update(_icon: &Shown, _state: TrayState) {}

    pub(super) fn remove(_icon: Shown) {}
}
