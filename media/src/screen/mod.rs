//! Screen sources: the displays and windows that can be shared, and capture of one of them,
//! mouse pointer included, as 32-bit pictures.
//!
//! On Linux with X11 the capture speaks to the X server itself over one connection kept open
//! for the whole share (the pointer comes from XFIXES). On Wayland the desktop's own dialog
//! picks what to share ([`ask_desktop`]) and the pictures come through its portal and
//! PipeWire. macOS and Windows go through xcap.

pub mod pace;
mod picture;
mod thumbnail;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
mod portal;
#[cfg(target_os = "linux")]
pub mod test_portal;
#[cfg(target_os = "linux")]
pub mod test_window;
#[cfg(target_os = "linux")]
mod x11;
#[cfg(target_os = "linux")]
use linux as platform;
#[cfg(target_os = "linux")]
pub use portal::{LastShared, ask_desktop, last_shared};

/// Where no desktop dialog picks what to share, nothing was shared through one.
#[cfg(not(target_os = "linux"))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastShared {
    /// The name the share was shown under.
    pub name: String,
}

/// Nothing was shared through a desktop's dialog here.
#[cfg(not(target_os = "linux"))]
pub fn last_shared() -> Option<LastShared> {
    None
}

/// The desktop has no dialog that picks what to share here: [`list_screens`] lists it all.
#[cfg(not(target_os = "linux"))]
pub fn ask_desktop(_again: Option<&LastShared>) -> Result<ScreenChoice, ScreenError> {
    Err(ScreenError::Unsupported(
        "the desktop has no dialog to pick a screen here".into(),
    ))
}

#[cfg(any(target_os = "macos", target_os = "windows"))]
mod xcap_source;
#[cfg(any(target_os = "macos", target_os = "windows"))]
use xcap_source as platform;

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
mod unsupported;
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
use unsupported as platform;

pub use pace::ScreenPace;
pub use picture::{ChannelOrder, Pointer, ScreenPicture};
pub use thumbnail::Thumbnail;

/// How often a wait looks whether it is to end early.
const INTERRUPT_CHECK: std::time::Duration = std::time::Duration::from_millis(4);

/// A display or a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScreenKind {
    /// A whole display (monitor).
    Display,
    /// One program window.
    Window,
}

/// What to share: a display or a window, by the platform's id, with a name to show.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ScreenChoice {
    /// Display or window.
    pub kind: ScreenKind,
    /// The platform's id (X11 window or RandR monitor index, xcap id).
    pub id: u32,
    /// "Display 1 (1920x1080)" or the window's title.
    pub name: String,
}

impl std::fmt::Display for ScreenChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// Why the screen cannot be listed or captured.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ScreenError {
    /// This system offers no way in that we support yet.
    #[error("screen sharing is not available here: {0}")]
    Unsupported(String),
    /// The window was closed or the display disconnected.
    #[error("\"{0}\" is no longer there")]
    Gone(String),
    /// The system refused or failed.
    #[error("could not capture the screen: {0}")]
    Failed(String),
    /// The person closed the desktop's dialog without choosing.
    #[error("sharing was cancelled")]
    Cancelled,
    /// This desktop's own dialog picks what to share: ask it ([`ask_desktop`]).
    #[error("this desktop's own dialog picks the display or window to share")]
    DesktopPicks,
}

/// True where the desktop's own dialog picks what to share (Wayland): [`list_screens`] then
/// lists nothing and [`ask_desktop`] asks it.
pub fn desktop_picks() -> bool {
    #[cfg(target_os = "linux")]
    return portal::in_use();
    #[cfg(not(target_os = "linux"))]
    return false;
}

/// Every display and window that can be shared now, displays first; where the desktop picks
/// ([`desktop_picks`]), [`ScreenError::DesktopPicks`].
pub fn list_screens() -> Result<Vec<ScreenChoice>, ScreenError> {
    platform::list_screens()
}

/// An open capture of one display or window.
pub struct ScreenCapture {
    inner: platform::Capture,
    choice: ScreenChoice,
}

impl ScreenCapture {
    /// Opens `choice`; fails at once when it does not exist.
    pub fn open(choice: &ScreenChoice) -> Result<Self, ScreenError> {
        Ok(Self {
            inner: platform::Capture::open(choice)?,
            choice: choice.clone(),
        })
    }

    /// What is captured.
    pub fn choice(&self) -> &ScreenChoice {
        &self.choice
    }

    /// Waits until the picture may have changed: on X11 until the server reports damage or
    /// the pointer moves (or `heartbeat_at`); where the system cannot tell, until `look_at`.
    /// Ends early, within a few milliseconds, once `interrupt` returns true (a viewer asked
    /// for a keyframe: it is answered at once, even while the screen is still).
    pub fn wait_for_change(
        &mut self,
        look_at: std::time::Instant,
        heartbeat_at: std::time::Instant,
        interrupt: &dyn Fn() -> bool,
    ) {
        if !self.inner.wait_for_damage(heartbeat_at, interrupt) {
            while !interrupt() && std::time::Instant::now() < look_at {
                crate::clock::sleep_until(look_at.min(std::time::Instant::now() + INTERRUPT_CHECK));
            }
        }
    }

    /// Captures the current picture, pointer drawn in, into `picture` (its buffer reused).
    pub fn grab(&mut self, picture: &mut ScreenPicture) -> Result<(), ScreenError> {
        self.inner.grab(&self.choice, picture)
    }
}
