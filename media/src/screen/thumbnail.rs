//! Small pictures of displays and windows for the share picker.

use super::{ScreenCapture, ScreenChoice, ScreenError, ScreenPicture};

/// A small RGBA picture.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Thumbnail {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 4` bytes: red, green, blue, alpha.
    pub rgba: Vec<u8>,
}

impl Thumbnail {
    /// Captures `choice` once and shrinks it to fit `max_width` x `max_height`.
    pub fn capture(choice: &ScreenChoice, max_width: u32, max_height: u32) -> Result<Self, ScreenError> {
        let mut picture = ScreenPicture::default();
        ScreenCapture::open(choice)?.grab(&mut picture)?;
        Ok(Self::of(&picture, max_width, max_height))
    }

    /// `picture` shrunk to fit `max_width` x `max_height`, keeping its shape; each pixel is
    /// the average of the block it covers, so thin lines fade instead of vanishing.
    pub fn of(picture: &ScreenPicture, max_width: u32, max_height: u32) -> Self {
        if picture.width == 0 || picture.height == 0 {
            return Self::default();
        }
        let scale = f64::min(
            f64::from(max_width.max(1)) / f64::from(picture.width),
            f64::from(max_height.max(1)) / f64::from(picture.height),
        )
        .min(1.0);
        let width = ((f64::from(picture.width) * scale).round() as u32).max(1);
        let height = ((f64::from(picture.height) * scale).round() as u32).max(1);
        let mut rgba = Vec::with_capacity((width * height * 4) as usize);
        let span = |i: u32, out: u32, size: u32| {
            let start = (u64::from(i) * u64::from(size) / u64::from(out)) as u32;
            let end = ((u64::from(i) + 1) * u64::from(size) / u64::from(out)) as u32;
            start..end.max(start + 1).min(size)
        };
        for ty in 0..height {
            let rows = span(ty, height, picture.height);
            for tx in 0..width {
                let columns = span(tx, width, picture.width);
                let (mut sum, mut count) = ([0u32; 3], 0u32);
                // Sample at most 4x4 points of the block: plenty for a thumbnail.
                let row_step = (rows.len() / 4).max(1);
                let column_step = (columns.len() / 4).max(1);
                for y in rows.clone().step_by(row_step) {
                    for x in columns.clone().step_by(column_step) {
                        let (r, g, b) = picture.rgb(x, y);
                        sum[0] += u32::from(r);
                        sum[1] += u32::from(g);
                        sum[2] += u32::from(b);
                        count += 1;
                    }
                }
                let count = count.max(1);
                rgba.extend_from_slice(&[
                    (sum[0] / count) as u8,
                    (sum[1] / count) as u8,
                    (sum[2] / count) as u8,
                    255,
                ]);
            }
        }
        Self { width, height, rgba }
    }
}

#[cfg(test)]
mod tests {
    use super::super::ChannelOrder;
    use super::*;

    #[test]
    fn thumbnails_keep_shape_and_colour() {
        // Left half red, right half blue, 400x100, BGRA.
        let mut data = Vec::new();
        for _ in 0..100 {
            for x in 0..400 {
                data.extend_from_slice(if x < 200 { &[0, 0, 255, 0] } else { &[255, 0, 0, 0] });
            }
        }
        let picture = ScreenPicture {
            width: 400,
            height: 100,
            order: ChannelOrder::Bgra,
            data,
        };
        let small = Thumbnail::of(&picture, 100, 100);
        assert_eq!((small.width, small.height), (100, 25));
        assert_eq!(&small.rgba[..4], &[255, 0, 0, 255]);
        assert_eq!(&small.rgba[small.rgba.len() - 4..], &[0, 0, 255, 255]);
        let same = Thumbnail::of(&picture, 1000, 1000);
        assert_eq!((same.width, same.height), (400, 100), "never enlarged");
        assert_eq!(Thumbnail::of(&ScreenPicture::default(), 10, 10), Thumbnail::default());
    }
}
