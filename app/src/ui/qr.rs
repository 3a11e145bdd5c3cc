//! A QR code of a link, for phones to scan off the screen.

use qrcode::{Color, QrCode};

/// Light modules a QR code needs around it to be read.
const QUIET_ZONE: usize = 4;

/// `text` as a QR code picture, one pixel per module with the quiet zone around it; `None`
/// when it is too long for one.
pub fn picture(text: &str) -> Option<egui::ColorImage> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let modules = code.width();
    let side = modules + 2 * QUIET_ZONE;
    let colors = code.to_colors();
    let mut pixels = vec![egui::Color32::WHITE; side * side];
    for (index, color) in colors.iter().enumerate() {
        if *color == Color::Dark {
            let (x, y) = (index % modules + QUIET_ZONE, index / modules + QUIET_ZONE);
            pixels[y * side + x] = egui::Color32::BLACK;
        }
    }
    Some(egui::ColorImage::new([side, side], pixels))
}

/// A QR code drawn in the window, made again only when its text changes.
#[derive(Default)]
pub struct QrTexture {
    shown: Option<(String, egui::TextureHandle)>,
}

impl QrTexture {
    /// Draws `text`'s code `size` points wide, sharp (each module a whole block), with
    /// `label` as its name for screen readers.
    pub fn show(&mut self, ui: &mut egui::Ui, text: &str, size: f32, label: &str) {
        if self.shown.as_ref().is_none_or(|(shown, _)| shown != text) {
            self.shown = picture(text).map(|picture| {
                let texture = ui
                    .ctx()
                    .load_texture("meeting-qr", picture, egui::TextureOptions::NEAREST);
                (text.to_owned(), texture)
            });
        }
        if let Some((_, texture)) = &self.shown {
            let image = egui::Image::new(texture)
                .fit_to_exact_size(egui::vec2(size, size))
                .alt_text(label);
            ui.add(image);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_becomes_a_square_code_with_its_quiet_zone() {
        let picture = picture("https://192.168.1.20:47800/ABCD2345").expect("a code");
        let [width, height] = picture.size;
        assert_eq!(width, height);
        // Version 3 (29 modules) holds a link this long, with four light modules each side.
        assert_eq!(width, 29 + 2 * QUIET_ZONE);
        assert!(
            picture.pixels[..width * QUIET_ZONE]
                .iter()
                .all(|p| *p == egui::Color32::WHITE)
        );
        // A finder pattern's corner, dark, just inside the quiet zone.
        assert_eq!(picture.pixels[QUIET_ZONE * width + QUIET_ZONE], egui::Color32::BLACK);
        assert!(super::picture(&"x".repeat(8000)).is_none(), "too long for a code");
    }
}
