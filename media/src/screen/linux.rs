//! Linux: X11 where the session is X11, the desktop portal where it is Wayland.

use super::{ScreenChoice, ScreenError, ScreenPicture, portal, x11};

pub(super) fn list_screens() -> Result<Vec<ScreenChoice>, ScreenError> {
    if portal::in_use() {
        return Err(ScreenError::DesktopPicks);
    }
    x11::list_screens()
}

/// An open capture through either.
pub(super) enum Capture {
    X11(Box<x11::Capture>),
    Portal(portal::Capture),
}

impl Capture {
    pub(super) fn open(choice: &ScreenChoice) -> Result<Self, ScreenError> {
        Ok(if portal::in_use() {
            Self::Portal(portal::Capture::open(choice)?)
        } else {
            Self::X11(Box::new(x11::Capture::open(choice)?))
        })
    }

    pub(super) fn grab(&mut self, choice: &ScreenChoice, picture: &mut ScreenPicture) -> Result<(), ScreenError> {
        match self {
            Self::X11(capture) => capture.grab(choice, picture),
            Self::Portal(capture) => capture.grab(choice, picture),
        }
    }

    pub(super) fn wait_for_damage(&mut self, until: std::time::Instant, interrupt: &dyn Fn() -> bool) -> bool {
        match self {
            Self::X11(capture) => capture.wait_for_damage(until, interrupt),
            Self::Portal(capture) => capture.wait_for_damage(until, interrupt),
        }
    }
}
