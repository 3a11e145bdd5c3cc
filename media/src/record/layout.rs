//! Where each picture goes in a recording: one large picture (the shared screen, else the
//! active speaker) above a strip of everyone else's cameras.

/// A rectangle of the recording's picture, in pixels; corners and sides are even, so that
/// it covers whole chroma samples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Rect {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

impl Rect {
    /// The largest rectangle of `width` x `height`'s shape that fits in this one, centred.
    pub fn fit(&self, (width, height): (u32, u32)) -> Rect {
        if width == 0 || height == 0 {
            return *self;
        }
        let scale = f64::min(
            f64::from(self.width) / f64::from(width),
            f64::from(self.height) / f64::from(height),
        );
        let even = |side: f64| (side as u32 & !1).max(2);
        let (fit_w, fit_h) = (
            even(f64::from(width) * scale).min(self.width),
            even(f64::from(height) * scale).min(self.height),
        );
        Rect {
            x: (self.x + (self.width - fit_w) / 2) & !1,
            y: (self.y + (self.height - fit_h) / 2) & !1,
            width: fit_w,
            height: fit_h,
        }
    }
}

/// Gap between the strip's tiles, and around them.
const GAP: u32 = 4;

/// The places of a recording's pictures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The large picture.
    pub main: Rect,
    /// The strip's tiles, left to right.
    pub strip: Vec<Rect>,
}

impl Layout {
    /// The places for a picture of `size` with one large picture and `others` small ones:
    /// the strip takes the bottom quarter (nothing when there are no others), its tiles 16:9
    /// and centred, narrower when many must fit.
    pub fn new((width, height): (u32, u32), others: usize) -> Self {
        if others == 0 {
            return Self {
                main: Rect {
                    x: 0,
                    y: 0,
                    width,
                    height,
                },
                strip: Vec::new(),
            };
        }
        let strip_height = (height / 4) & !1;
        let main = Rect {
            x: 0,
            y: 0,
            width,
            height: height - strip_height,
        };
        let count = others as u32;
        let tile_height = strip_height - 2 * GAP;
        let tile_width = ((width - GAP) / count - GAP).min(tile_height * 16 / 9) & !1;
        let tile_height = (tile_height.min(tile_width * 9 / 16) & !1).max(2);
        let row_width = count * tile_width + (count - 1) * GAP;
        let left = ((width - row_width) / 2) & !1;
        let top = (main.height + (strip_height - tile_height) / 2) & !1;
        let strip = (0..count)
            .map(|index| Rect {
                x: left + index * (tile_width + GAP),
                y: top,
                width: tile_width.max(2),
                height: tile_height,
            })
            .collect();
        Self { main, strip }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(inner: Rect, outer: (u32, u32)) -> bool {
        inner.x + inner.width <= outer.0 && inner.y + inner.height <= outer.1
    }

    #[test]
    fn alone_the_picture_is_all_main() {
        let layout = Layout::new((1280, 720), 0);
        assert_eq!(
            layout.main,
            Rect {
                x: 0,
                y: 0,
                width: 1280,
                height: 720
            }
        );
        assert!(layout.strip.is_empty());
    }

    #[test]
    fn the_strip_holds_every_other_below_the_main_picture_without_overlap() {
        for size in [(1280, 720), (1920, 1080)] {
            for others in 1..=24 {
                let layout = Layout::new(size, others);
                assert_eq!(layout.strip.len(), others);
                assert_eq!(layout.main.height, size.1 - size.1 / 4);
                for (index, tile) in layout.strip.iter().enumerate() {
                    assert!(inside(*tile, size), "{size:?} {others}: {tile:?} outside");
                    assert!(tile.y >= layout.main.height, "{tile:?} over the main picture");
                    assert!([tile.x, tile.y, tile.width, tile.height].iter().all(|v| v % 2 == 0));
                    if let Some(next) = layout.strip.get(index + 1) {
                        assert!(tile.x + tile.width < next.x, "{tile:?} overlaps {next:?}");
                    }
                }
            }
        }
        // Three others at 720p: 16:9 tiles of the strip's height.
        let layout = Layout::new((1280, 720), 3);
        assert_eq!((layout.strip[0].width, layout.strip[0].height), (304, 170));
    }

    #[test]
    fn a_picture_keeps_its_shape_centred_in_its_place() {
        let main = Rect {
            x: 0,
            y: 0,
            width: 1280,
            height: 540,
        };
        assert_eq!(
            main.fit((640, 360)),
            Rect {
                x: 160,
                y: 0,
                width: 960,
                height: 540
            }
        );
        assert_eq!(main.fit((1920, 1080)), main.fit((1280, 720)));
        let tall = main.fit((360, 640));
        assert_eq!((tall.height, tall.y), (540, 0));
        assert!(tall.width < 320 && tall.x > 400);
    }
}
