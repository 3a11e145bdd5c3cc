//! The program's icon as pixels, for the window's title bar and task switcher (X11, Windows,
//! and macOS' Dock, which would otherwise show egui's), and for the tray icon on Windows and
//! macOS, where it carries a badge for our state.

use eframe::egui::IconData;

/// The icon at 64x64, as the desktop themes have it.
const PNG: &[u8] = include_bytes!("../../assets/icons/hicolor/64x64/apps/videomeet.png");

/// The icon's pixels.
pub fn pixels() -> IconData {
    // The file is part of the program and checked by a test: it decodes.
    eframe::icon_data::from_png_bytes(PNG).unwrap_or_default()
}

/// A small disc on a corner of the icon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    not(any(windows, target_os = "macos", test)),
    allow(dead_code, reason = "badges are drawn where the tray shows pixels")
)]
pub enum Badge {
    /// Red, bottom right: our microphone is off.
    Muted,
    /// Green, top right: we share our screen.
    Sharing,
}

impl Badge {
    fn colour(self) -> [u8; 4] {
        match self {
            Self::Muted => [0xd9, 0x30, 0x25, 0xff],
            Self::Sharing => [0x1e, 0x9e, 0x4a, 0xff],
        }
    }
}

/// `icon` with each of `badges` drawn on it: a disc of a third of its width, ringed in white
/// so it shows on any panel.
#[cfg_attr(
    not(any(windows, target_os = "macos", test)),
    allow(dead_code, reason = "badges are drawn where the tray shows pixels")
)]
pub fn with_badges(icon: &IconData, badges: &[Badge]) -> IconData {
    let mut badged = icon.clone();
    let (width, height) = (icon.width as usize, icon.height as usize);
    let radius = width as f32 / 6.0;
    for badge in badges {
        let centre_y = match badge {
            Badge::Muted => height as f32 - radius,
            Badge::Sharing => radius,
        };
        let centre_x = width as f32 - radius;
        for y in 0..height {
            for x in 0..width {
                let distance = ((x as f32 + 0.5 - centre_x).powi(2) + (y as f32 + 0.5 - centre_y).powi(2)).sqrt();
                let colour = if distance <= radius - 1.5 {
                    badge.colour()
                } else if distance <= radius {
                    [0xff, 0xff, 0xff, 0xff]
                } else {
                    continue;
                };
                let at = (y * width + x) * 4;
                badged.rgba[at..at + 4].copy_from_slice(&colour);
            }
        }
    }
    badged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pixel(icon: &IconData, x: usize, y: usize) -> [u8; 4] {
        let at = (y * icon.width as usize + x) * 4;
        icon.rgba[at..at + 4].try_into().expect("four bytes")
    }

    #[test]
    fn the_icon_decodes_at_its_size() {
        let icon = pixels();
        assert_eq!((icon.width, icon.height), (64, 64));
        assert_eq!(icon.rgba.len(), 64 * 64 * 4);
        assert!(icon.rgba.chunks(4).any(|pixel| pixel[3] == 0xff), "something is drawn");
    }

    #[test]
    fn badges_sit_on_their_corners_and_leave_the_rest() {
        let icon = pixels();
        let muted = with_badges(&icon, &[Badge::Muted]);
        assert_eq!(pixel(&muted, 53, 53), Badge::Muted.colour());
        assert_eq!(pixel(&muted, 53, 10), pixel(&icon, 53, 10), "top right untouched");
        assert_eq!(pixel(&muted, 10, 53), pixel(&icon, 10, 53), "bottom left untouched");
        let both = with_badges(&icon, &[Badge::Muted, Badge::Sharing]);
        assert_eq!(pixel(&both, 53, 53), Badge::Muted.colour());
        assert_eq!(pixel(&both, 53, 10), Badge::Sharing.colour());
        assert_eq!(with_badges(&icon, &[]).rgba, icon.rgba);
    }
}
