//! Names written into a recording's picture: white text on a dark band, in the font the
//! window uses.

use std::collections::HashMap;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};

use crate::frame::VideoFrame;

/// Space around the text inside its band, in pixels.
const PADDING: u32 = 4;
/// Labels kept ready to draw; a meeting has few names.
const KEPT: usize = 64;

/// A rendered line of text: coverage from 0 (none) to 255 (full).
struct Rendered {
    width: u32,
    height: u32,
    coverage: Vec<u8>,
}

/// Renders and draws names, keeping each rendered name for the next pictures.
pub struct Labels {
    font: FontRef<'static>,
    rendered: HashMap<(String, u32), Rendered>,
}

impl Default for Labels {
    fn default() -> Self {
        Self {
            // The font is built into the program: it always parses.
            font: FontRef::try_from_slice(epaint_default_fonts::UBUNTU_LIGHT).expect("the built-in font"),
            rendered: HashMap::new(),
        }
    }
}

impl Labels {
    /// Draws `text` `size` pixels high with its band's bottom-left corner at (`x`, `bottom`),
    /// cut to `max_width`.
    pub fn draw(&mut self, canvas: &mut VideoFrame, text: &str, (x, bottom): (u32, u32), size: u32, max_width: u32) {
        if self.rendered.len() > KEPT {
            self.rendered.clear();
        }
        let key = (text.to_owned(), size);
        if !self.rendered.contains_key(&key) {
            let rendered = render(&self.font, text, size);
            self.rendered.insert(key.clone(), rendered);
        }
        let Some(text) = self.rendered.get(&key) else { return };
        let band_w = (text.width + 2 * PADDING)
            .min(max_width)
            .min(canvas.width().saturating_sub(x));
        let band_h = (text.height + 2 * PADDING).min(bottom);
        let top = bottom - band_h;
        darken(canvas, (x, top, band_w, band_h));
        let stride = canvas.y_stride();
        let luma = canvas.planes_mut().0;
        for row in 0..text.height.min(band_h.saturating_sub(PADDING)) {
            let line = (top + PADDING + row) as usize * stride;
            for column in 0..text.width.min(band_w.saturating_sub(PADDING)) {
                let cover = u32::from(text.coverage[(row * text.width + column) as usize]);
                let pixel = &mut luma[line + (x + PADDING + column) as usize];
                *pixel = ((u32::from(*pixel) * (255 - cover) + 235 * cover) / 255) as u8;
            }
        }
    }
}

/// Dims a band to a fifth of its brightness, its colour towards grey, for text to stand on.
fn darken(canvas: &mut VideoFrame, (x, y, width, height): (u32, u32, u32, u32)) {
    let (y_stride, uv_stride) = (canvas.y_stride(), canvas.uv_stride());
    let (luma, u, v) = canvas.planes_mut();
    for row in y..y + height {
        let line = &mut luma[row as usize * y_stride + x as usize..][..width as usize];
        for pixel in line {
            *pixel = 16 + (*pixel).saturating_sub(16) / 5;
        }
    }
    for plane in [u, v] {
        for row in y / 2..(y + height) / 2 {
            let line = &mut plane[row as usize * uv_stride + x as usize / 2..][..width as usize / 2];
            for sample in line {
                *sample = ((u16::from(*sample) + 128) / 2) as u8;
            }
        }
    }
}

fn render(font: &FontRef<'static>, text: &str, size: u32) -> Rendered {
    let scaled = font.as_scaled(PxScale::from(size as f32));
    let ascent = scaled.ascent();
    let height = (ascent - scaled.descent()).ceil().max(1.0) as u32;
    let mut caret = 0.0f32;
    let mut previous = None;
    let mut glyphs = Vec::new();
    for character in text.chars().filter(|c| !c.is_control()) {
        let id = scaled.glyph_id(character);
        if let Some(previous) = previous {
            caret += scaled.kern(previous, id);
        }
        glyphs.push(id.with_scale_and_position(scaled.scale(), point(caret, ascent)));
        caret += scaled.h_advance(id);
        previous = Some(id);
    }
    let width = caret.ceil().max(1.0) as u32;
    let mut coverage = vec![0u8; (width * height) as usize];
    for glyph in glyphs {
        let Some(outlined) = font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outlined.px_bounds();
        outlined.draw(|gx, gy, cover| {
            let (px, py) = (bounds.min.x as i32 + gx as i32, bounds.min.y as i32 + gy as i32);
            if px >= 0 && py >= 0 && (px as u32) < width && (py as u32) < height {
                let cell = &mut coverage[(py as u32 * width + px as u32) as usize];
                *cell = (*cell).max((cover.clamp(0.0, 1.0) * 255.0) as u8);
            }
        });
    }
    Rendered {
        width,
        height,
        coverage,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_written_light_on_a_dark_band() {
        let mut canvas = VideoFrame::new(320, 180);
        canvas.planes_mut().0.fill(200);
        let mut labels = Labels::default();
        labels.draw(&mut canvas, "Alice", (10, 170), 20, 300);
        let luma = canvas.planes().0;
        let band: Vec<u8> = (140..170)
            .flat_map(|y| (10..60).map(move |x| luma[y * 320 + x]))
            .collect();
        let (light, dark) = (
            band.iter().filter(|&&p| p > 180).count(),
            band.iter().filter(|&&p| p < 60).count(),
        );
        assert!(light > 40, "text drawn: {light} light pixels");
        assert!(dark > band.len() / 2, "the band is dark: {dark} of {}", band.len());
        assert_eq!(luma[100 * 320 + 100], 200, "nothing above the band changed");
        assert_eq!(luma[175 * 320 + 30], 200, "nothing below the band changed");
    }

    #[test]
    fn a_long_name_stays_within_its_width_and_the_picture() {
        let mut canvas = VideoFrame::new(64, 48);
        let mut labels = Labels::default();
        canvas.planes_mut().0.fill(200);
        labels.draw(&mut canvas, &"W".repeat(200), (40, 48), 30, 20);
        let luma = canvas.planes().0;
        assert!(
            (0..48).all(|y| luma[y * 64 + 39] == 200),
            "nothing left of the band changed"
        );
        assert!(
            (0..48).all(|y| luma[y * 64 + 61] == 200),
            "the band is cut at its width"
        );
        assert!((0..48).any(|y| luma[y * 64 + 50] < 60), "the band is drawn");
    }
}
