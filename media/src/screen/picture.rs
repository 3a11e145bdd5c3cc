//! A captured screen picture: 32 bits a pixel, rows packed, and the pointer drawn into it.

/// Byte order of the four bytes of a pixel (the fourth is unused or alpha).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ChannelOrder {
    /// Blue, green, red, unused: X11 and Windows.
    #[default]
    Bgra,
    /// Red, green, blue, alpha: xcap's pictures.
    Rgba,
}

/// One screen picture. Its buffer is reused from grab to grab.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScreenPicture {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Byte order of each pixel.
    pub order: ChannelOrder,
    /// `width * height * 4` bytes, row after row.
    pub data: Vec<u8>,
}

/// A mouse pointer picture: premultiplied ARGB in `u32`s (alpha in the top byte), with its
/// top-left corner at (`x`, `y`) in picture coordinates (may be partly outside).
pub struct Pointer<'a> {
    /// Left edge.
    pub x: i32,
    /// Top edge.
    pub y: i32,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height` pixels.
    pub argb: &'a [u32],
}

impl ScreenPicture {
    /// The colour at (`x`, `y`) as red, green, blue.
    pub fn rgb(&self, x: u32, y: u32) -> (u8, u8, u8) {
        let i = (y as usize * self.width as usize + x as usize) * 4;
        let p = &self.data[i..i + 4];
        match self.order {
            ChannelOrder::Bgra => (p[2], p[1], p[0]),
            ChannelOrder::Rgba => (p[0], p[1], p[2]),
        }
    }

    /// Draws the pointer over the picture (alpha blending; the part outside is cut off).
    pub fn draw_pointer(&mut self, pointer: &Pointer<'_>) {
        if pointer.argb.len() < pointer.width as usize * pointer.height as usize {
            return;
        }
        let (red, blue) = match self.order {
            ChannelOrder::Bgra => (2, 0),
            ChannelOrder::Rgba => (0, 2),
        };
        for row in 0..pointer.height as i32 {
            let y = pointer.y + row;
            if y < 0 || y >= self.height as i32 {
                continue;
            }
            for column in 0..pointer.width as i32 {
                let x = pointer.x + column;
                if x < 0 || x >= self.width as i32 {
                    continue;
                }
                let argb = pointer.argb[(row * pointer.width as i32 + column) as usize];
                let alpha = argb >> 24;
                if alpha == 0 {
                    continue;
                }
                let i = (y as usize * self.width as usize + x as usize) * 4;
                let pixel = &mut self.data[i..i + 4];
                let source = [(argb >> 16) & 0xff, (argb >> 8) & 0xff, argb & 0xff];
                for (channel, value) in [(red, source[0]), (1, source[1]), (blue, source[2])] {
                    // Premultiplied: out = source + destination * (1 - alpha).
                    let below = u32::from(pixel[channel]) * (255 - alpha) / 255;
                    pixel[channel] = (value + below).min(255) as u8;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn white(width: u32, height: u32) -> ScreenPicture {
        ScreenPicture {
            width,
            height,
            order: ChannelOrder::Bgra,
            data: vec![255; (width * height * 4) as usize],
        }
    }

    #[test]
    fn the_pointer_is_blended_and_cut_at_the_edges() {
        let mut picture = white(4, 4);
        // Opaque black, then half-transparent red (premultiplied), then fully transparent.
        let argb = [0xff00_0000, 0x8080_0000, 0x0000_0000, 0xff00_0000];
        picture.draw_pointer(&Pointer {
            x: 2,
            y: -1,
            width: 2,
            height: 2,
            argb: &argb,
        });
        // Row -1 is outside; row 0 gets the second row of the pointer.
        assert_eq!(picture.rgb(2, 0), (255, 255, 255), "transparent leaves the screen");
        assert_eq!(picture.rgb(3, 0), (0, 0, 0), "opaque black covers it");
        assert_eq!(picture.rgb(1, 0), (255, 255, 255), "left of the pointer untouched");
        assert_eq!(picture.rgb(2, 1), (255, 255, 255), "below the pointer untouched");
        let mut picture = white(2, 1);
        picture.draw_pointer(&Pointer {
            x: 0,
            y: 0,
            width: 2,
            height: 1,
            argb: &argb[..2],
        });
        assert_eq!(picture.rgb(0, 0), (0, 0, 0));
        let (r, g, b) = picture.rgb(1, 0);
        assert_eq!(r, 255, "red stays full");
        assert!(
            (126..=128).contains(&g) && g == b,
            "half of white shows through: {g} {b}"
        );
    }

    #[test]
    fn a_short_pointer_buffer_is_ignored() {
        let mut picture = white(2, 2);
        picture.draw_pointer(&Pointer {
            x: 0,
            y: 0,
            width: 2,
            height: 2,
            argb: &[0xff00_0000],
        });
        assert_eq!(picture, white(2, 2));
    }
}
