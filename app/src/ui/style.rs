//! Colours and small building blocks shared by the screens.

use eframe::egui::{self, Color32};

/// Errors the user must act on.
pub const ERROR: Color32 = Color32::from_rgb(0xe5, 0x48, 0x4d);
/// Warnings and hints.
pub const WARNING: Color32 = Color32::from_rgb(0xe8, 0xa3, 0x3d);
/// Neutral information.
pub const INFO: Color32 = Color32::from_rgb(0x3d, 0x8b, 0xe8);
/// The active speaker's frame, level meters.
pub const ACTIVE: Color32 = Color32::from_rgb(0x3f, 0xc0, 0x6e);
/// Tile background behind video and initials.
pub const TILE: Color32 = Color32::from_gray(32);

/// `colour` (one of the tones above) as text on this theme's panels: as it is on dark
/// ones; darker on light ones, where the bright tones read poorly (orange on white has a
/// contrast of about 2:1; these have 4.5:1 or more, as WCAG asks of text).
pub fn readable(ui: &egui::Ui, colour: Color32) -> Color32 {
    if ui.visuals().dark_mode {
        return colour;
    }
    match colour {
        ERROR => Color32::from_rgb(0xb0, 0x1e, 0x23),
        WARNING => Color32::from_rgb(0x8a, 0x52, 0x00),
        INFO => Color32::from_rgb(0x1c, 0x5a, 0xa8),
        ACTIVE => Color32::from_rgb(0x1b, 0x74, 0x3e),
        other => other,
    }
}

/// A framed group of controls.
pub fn card<R>(ui: &mut egui::Ui, add: impl FnOnce(&mut egui::Ui) -> R) -> R {
    egui::Frame::group(ui.style())
        .inner_margin(12.0)
        .corner_radius(8.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            add(ui)
        })
        .inner
}

/// A coloured strip with a message and its buttons.
pub fn banner(ui: &mut egui::Ui, colour: Color32, add: impl FnOnce(&mut egui::Ui)) {
    egui::Frame::new()
        .fill(colour.gamma_multiply(0.25))
        .stroke(egui::Stroke::new(1.0, colour))
        .inner_margin(8.0)
        .corner_radius(6.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal_wrapped(add);
        });
}

/// The main action of a screen (Host, Join now, Let in): filled with the accent colour, so
/// that it stands out from the buttons around it.
pub fn primary_button(text: impl Into<String>) -> egui::Button<'static> {
    egui::Button::new(egui::RichText::new(text.into()).color(Color32::WHITE).strong()).fill(INFO)
}

/// A device button while that device is off (muted, camera off): marked in the error
/// colour, not in the blue that open panels use.
pub fn off_button(text: &str) -> egui::Button<'static> {
    egui::Button::new(egui::RichText::new(text.to_owned()).color(Color32::WHITE)).fill(ERROR.gamma_multiply(0.55))
}

/// A line of news over video: an opaque dark box with light text, edged in `edge` (the
/// warning colour for problems, the information colour for news).
pub fn notice(ui: &mut egui::Ui, edge: Color32, text: &str) {
    egui::Frame::new()
        .fill(Color32::from_gray(28))
        .stroke(egui::Stroke::new(1.5, edge))
        .inner_margin(8.0)
        .corner_radius(6.0)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(egui::RichText::new(text).color(Color32::from_gray(235)));
        });
}

/// A horizontal level meter for a 0..1 loudness.
pub fn level_meter(ui: &mut egui::Ui, level: f32, width: f32) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(egui::vec2(width, 10.0), egui::Sense::hover());
    let painter = ui.painter();
    painter.rect_filled(rect, 3.0, ui.visuals().extreme_bg_color);
    let mut filled = rect;
    filled.set_width(rect.width() * level.clamp(0.0, 1.0));
    let colour = if level > 0.92 { WARNING } else { ACTIVE };
    painter.rect_filled(filled, 3.0, colour);
    response
}

/// "AL" for "Ada Lovelace", "G" for "grace": what camera-off tiles show.
pub fn initials(name: &str) -> String {
    let mut words = name.split_whitespace();
    let first = words.next().and_then(|w| w.chars().next());
    let last = words.last().and_then(|w| w.chars().next());
    first
        .into_iter()
        .chain(last)
        .flat_map(char::to_uppercase)
        .collect::<String>()
        .chars()
        .take(2)
        .collect()
}

/// A stable, pleasant colour for a name (initials backgrounds).
pub fn name_colour(name: &str) -> Color32 {
    let hash = name
        .bytes()
        .fold(2_166_136_261u32, |h, b| (h ^ u32::from(b)).wrapping_mul(16_777_619));
    let hue = (hash % 360) as f32 / 360.0;
    egui::ecolor::Hsva::new(hue, 0.45, 0.55, 1.0).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_take_the_first_and_last_word() {
        assert_eq!(initials("Ada Lovelace"), "AL");
        assert_eq!(initials("grace"), "G");
        assert_eq!(initials("  Jean  Luc   Picard "), "JP");
        assert_eq!(initials(""), "");
        assert_eq!(initials("émile zola"), "ÉZ");
    }

    #[test]
    fn name_colours_are_stable_and_differ() {
        assert_eq!(name_colour("Ada"), name_colour("Ada"));
        assert_ne!(name_colour("Ada"), name_colour("Grace"));
    }
}
