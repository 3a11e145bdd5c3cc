//! Systems without a screen capture backend: every call says so.

use super::{ScreenChoice, ScreenError, ScreenPicture};

fn unsupported() -> ScreenError {
    ScreenError::Unsupported(format!("{} is not supported yet", std::env::consts::OS))
}

pub(super) fn list_screens() -> Result<Vec<ScreenChoice>, ScreenError> {
    Err(unsupported())
}

/// Never constructed.
pub(super) struct Capture;

impl Capture {
    pub(super) fn open(_: &ScreenChoice) -> Result<Self, ScreenError> {
        Err(unsupported())
    }

    pub(super) fn grab(&mut self, _: &ScreenChoice, _: &mut ScreenPicture) -> Result<(), ScreenError> {
        Err(unsupported())
    }

    pub(super) fn wait_for_damage(&mut self, _until: std::time::Instant, _interrupt: &dyn Fn() -> bool) -> bool {
        false
    }
}
