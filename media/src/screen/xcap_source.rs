//! macOS and Windows: displays and windows through xcap.
//!
//! xcap's pictures do not include the mouse pointer.

use super::{ChannelOrder, ScreenChoice, ScreenError, ScreenKind, ScreenPicture};

fn failed(error: impl std::fmt::Display) -> ScreenError {
    ScreenError::Failed(error.to_string())
}

pub(super) fn list_screens() -> Result<Vec<ScreenChoice>, ScreenError> {
    let mut screens = Vec::new();
    for (index, monitor) in xcap::Monitor::all().map_err(failed)?.into_iter().enumerate() {
        let (Ok(id), Ok(width), Ok(height)) = (monitor.id(), monitor.width(), monitor.height()) else {
            continue;
        };
        screens.push(ScreenChoice {
            kind: ScreenKind::Display,
            id,
            name: format!("Display {} ({width}x{height})", index + 1),
        });
    }
    for window in xcap::Window::all().map_err(failed)? {
        if window.is_minimized().unwrap_or(false) {
            continue;
        }
        let (Ok(id), Ok(title)) = (window.id(), window.title()) else {
            continue;
        };
        if title.trim().is_empty() {
            continue;
        }
        let name = match window.app_name() {
            Ok(app) if !app.is_empty() && app != title => format!("{title} ({app})"),
            _ => title,
        };
        screens.push(ScreenChoice {
            kind: ScreenKind::Window,
            id,
            name,
        });
    }
    Ok(screens)
}

enum Target {
    Monitor(xcap::Monitor),
    Window(xcap::Window),
}

/// An open xcap capture.
pub(super) struct Capture {
    target: Target,
}

impl Capture {
    pub(super) fn open(choice: &ScreenChoice) -> Result<Self, ScreenError> {
        let target = match choice.kind {
            ScreenKind::Display => xcap::Monitor::all()
                .map_err(failed)?
                .into_iter()
                .find(|monitor| monitor.id().ok() == Some(choice.id))
                .map(Target::Monitor),
            ScreenKind::Window => xcap::Window::all()
                .map_err(failed)?
                .into_iter()
                .find(|window| window.id().ok() == Some(choice.id))
                .map(Target::Window),
        };
        let target = target.ok_or_else(|| ScreenError::Gone(choice.name.clone()))?;
        Ok(Self { target })
    }

    pub(super) fn grab(&mut self, choice: &ScreenChoice, picture: &mut ScreenPicture) -> Result<(), ScreenError> {
        let image = match &self.target {
            Target::Monitor(monitor) => monitor.capture_image().map_err(failed)?,
            // A window that can no longer be captured has been closed.
            Target::Window(window) => window
                .capture_image()
                .map_err(|_| ScreenError::Gone(choice.name.clone()))?,
        };
        picture.width = image.width();
        picture.height = image.height();
        picture.order = ChannelOrder::Rgba;
        picture.data = image.into_raw();
        Ok(())
    }

    /// xcap cannot tell when the screen changes: the caller looks at its own pace.
    pub(super) fn wait_for_damage(&mut self, _until: std::time::Instant, _interrupt: &dyn Fn() -> bool) -> bool {
        false
    }
}
