//! A machine-readable stamp drawn into test pictures: frame counter and capture time.
//!
//! The stamp is a grid of black and white cells in the top-left corner, large enough
//! to survive H.264 at low bitrates. A CRC tells a readable stamp from a damaged one.
//!
//! ```text
//!  16 cells wide, 7 rows = 112 bits:
//!  [ counter: 32 bits ][ capture time (us): 64 bits ][ CRC-16: 16 bits ]
//!  row-major, most significant bit first; white = 1, black = 0
//! ```

use crate::frame::VideoFrame;

const COLUMNS: u32 = 16;
const ROWS: u32 = 7;
const BITS: usize = (COLUMNS * ROWS) as usize;
const BLACK: u8 = 16;
const WHITE: u8 = 235;

/// What a stamp carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    /// Frame number at the source.
    pub counter: u32,
    /// Capture time in microseconds (see [`crate::clock::now_us`]).
    pub capture_time_us: u64,
}

/// Side of one stamp cell in pixels for a picture of this height: a multiple of 8, at
/// least 8, so cells line up with the codec's 8x8 transform blocks.
pub fn cell_px(height: u32) -> u32 {
    (height / 24 / 8 * 8).max(8)
}

/// Width and height in pixels of the stamp area for a picture of this height.
pub fn area_px(height: u32) -> (u32, u32) {
    let cell = cell_px(height);
    (COLUMNS * cell, ROWS * cell)
}

/// Draws `stamp` into the top-left corner of `frame` (luma cells, neutral chroma).
pub fn draw_stamp(frame: &mut VideoFrame, stamp: Stamp) {
    let cell = cell_px(frame.height()) as usize;
    let (area_w, area_h) = area_px(frame.height());
    if area_w > frame.width() || area_h > frame.height() {
        return;
    }
    let bits = encode_bits(stamp);
    let (y_stride, uv_stride) = (frame.y_stride(), frame.uv_stride());
    let (y, u, v) = frame.planes_mut();
    for (index, bit) in bits.iter().enumerate() {
        let (column, row) = (index % COLUMNS as usize, index / COLUMNS as usize);
        let value = if *bit { WHITE } else { BLACK };
        for line in row * cell..(row + 1) * cell {
            let start = line * y_stride + column * cell;
            y[start..start + cell].fill(value);
        }
    }
    let (chroma_w, chroma_h) = (area_w as usize / 2, area_h as usize / 2);
    for line in 0..chroma_h {
        let start = line * uv_stride;
        u[start..start + chroma_w].fill(128);
        v[start..start + chroma_w].fill(128);
    }
}

/// Reads the stamp back from a (decoded) picture; `None` when it is missing or damaged.
/// A picture the sender halved once or twice to fit a thin network carries its stamp
/// shrunk alike, and is read too.
pub fn read_stamp(frame: &VideoFrame) -> Option<Stamp> {
    read_cells(frame).or_else(|| {
        let (width, height) = (frame.width() as usize, frame.height() as usize);
        [2, 4].into_iter().find_map(|shrunk| {
            let cell = cell_px(frame.height() * shrunk) as f32 / shrunk as f32;
            read_scaled((frame.planes().0, frame.y_stride()), width, height, (0, 0), cell)
        })
    })
}

/// Reads a stamp drawn at this picture's own size.
fn read_cells(frame: &VideoFrame) -> Option<Stamp> {
    let cell = cell_px(frame.height()) as usize;
    let (area_w, area_h) = area_px(frame.height());
    if area_w > frame.width() || area_h > frame.height() {
        return None;
    }
    let stride = frame.y_stride();
    let luma = frame.planes().0;
    // Average the middle half of each cell: edges blur and ring under compression.
    let (from, to) = (cell / 4, cell - cell / 4);
    let mut bits = [false; BITS];
    for (index, bit) in bits.iter_mut().enumerate() {
        let (column, row) = (index % COLUMNS as usize, index / COLUMNS as usize);
        let mut sum = 0u32;
        for line in row * cell + from..row * cell + to {
            let start = line * stride + column * cell;
            sum += luma[start + from..start + to]
                .iter()
                .map(|&p| u32::from(p))
                .sum::<u32>();
        }
        let mean = sum / ((to - from) * (to - from)) as u32;
        *bit = mean > u32::from(BLACK + WHITE) / 2;
    }
    decode_bits(&bits)
}

/// A stamp found in a screenshot, with where it is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FoundStamp {
    /// What it says.
    pub stamp: Stamp,
    /// Its top-left corner in the screenshot.
    pub x: usize,
    /// Its top-left corner in the screenshot.
    pub y: usize,
    /// Its cell size in screenshot pixels.
    pub cell: f32,
}

impl FoundStamp {
    /// Its width in screenshot pixels.
    pub fn width(&self) -> usize {
        (COLUMNS as f32 * self.cell).round() as usize
    }
}

/// Finds every readable stamp in a grey-scale picture showing videos at any scale, such as
/// a screenshot of the meeting grid (`luma`: `width` x `height`, one byte per pixel, 0 is
/// black). A stamp's first row is black (frame counters stay below 65 536 for over half an
/// hour at 30 fps), which gives away its corner and cell size; the CRC rejects the rest.
pub fn find_stamps(luma: &[u8], width: usize, height: usize) -> Vec<FoundStamp> {
    /// Darker than this is stamp black; window and tile backgrounds are lighter.
    const DARK: u8 = 12;
    let mut found: Vec<FoundStamp> = Vec::new();
    if luma.len() < width * height {
        return found;
    }
    for y in 0..height {
        let row = &luma[y * width..(y + 1) * width];
        let mut x = 0;
        while x < width {
            if row[x] > DARK {
                x += 1;
                continue;
            }
            let start = x;
            while x < width && row[x] <= DARK {
                x += 1;
            }
            let cell = (x - start) as f32 / COLUMNS as f32;
            if cell < 3.0
                || found
                    .iter()
                    .any(|f| f.x.abs_diff(start) <= f.cell as usize && y < f.y + (f.cell * 7.0) as usize)
            {
                continue;
            }
            if let Some(stamp) = read_scaled((luma, width), width, height, (start, y), cell) {
                found.push(FoundStamp {
                    stamp,
                    x: start,
                    y,
                    cell,
                });
            }
        }
    }
    found
}

/// Reads a stamp with its corner at `origin` and cells `cell` pixels wide.
fn read_scaled(
    (luma, stride): (&[u8], usize),
    width: usize,
    height: usize,
    origin: (usize, usize),
    cell: f32,
) -> Option<Stamp> {
    let mut bits = [false; BITS];
    for (index, bit) in bits.iter_mut().enumerate() {
        let (column, row) = (index % COLUMNS as usize, index / COLUMNS as usize);
        let x = origin.0 + ((column as f32 + 0.5) * cell) as usize;
        let y = origin.1 + ((row as f32 + 0.5) * cell) as usize;
        if x + 1 >= width || y + 1 >= height {
            return None;
        }
        let sum: u32 = [(x, y), (x + 1, y), (x, y + 1), (x + 1, y + 1)]
            .iter()
            .map(|&(x, y)| u32::from(luma[y * stride + x]))
            .sum();
        *bit = sum / 4 > 128;
    }
    decode_bits(&bits)
}

fn encode_bits(stamp: Stamp) -> [bool; BITS] {
    let payload = payload_bytes(stamp);
    let crc = crc16(&payload);
    let mut bytes = [0u8; BITS / 8];
    bytes[..12].copy_from_slice(&payload);
    bytes[12..].copy_from_slice(&crc.to_be_bytes());
    let mut bits = [false; BITS];
    for (index, bit) in bits.iter_mut().enumerate() {
        *bit = bytes[index / 8] & (0x80 >> (index % 8)) != 0;
    }
    bits
}

fn decode_bits(bits: &[bool; BITS]) -> Option<Stamp> {
    let mut bytes = [0u8; BITS / 8];
    for (index, bit) in bits.iter().enumerate() {
        if *bit {
            bytes[index / 8] |= 0x80 >> (index % 8);
        }
    }
    let (payload, crc) = bytes.split_at(12);
    if crc16(payload).to_be_bytes() != crc {
        return None;
    }
    let counter = u32::from_be_bytes(payload[..4].try_into().ok()?);
    let capture_time_us = u64::from_be_bytes(payload[4..].try_into().ok()?);
    Some(Stamp {
        counter,
        capture_time_us,
    })
}

fn payload_bytes(stamp: Stamp) -> [u8; 12] {
    let mut payload = [0u8; 12];
    payload[..4].copy_from_slice(&stamp.counter.to_be_bytes());
    payload[4..].copy_from_slice(&stamp.capture_time_us.to_be_bytes());
    payload
}

/// CRC-16/CCITT-FALSE.
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc = 0xFFFFu16;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAMP: Stamp = Stamp {
        counter: 0xDEAD_BEEF,
        capture_time_us: 1_795_000_000_123_456,
    };

    #[test]
    fn stamp_round_trips_at_common_sizes() {
        for (width, height) in [(320, 240), (640, 360), (1280, 720), (1920, 1080)] {
            let mut frame = VideoFrame::new(width, height);
            draw_stamp(&mut frame, STAMP);
            assert_eq!(read_stamp(&frame), Some(STAMP), "{width}x{height}");
        }
    }

    #[test]
    fn a_stamp_is_read_from_a_picture_halved_once_or_twice() {
        let mut frame = VideoFrame::new(1280, 720);
        draw_stamp(&mut frame, STAMP);
        let mut shrunk = VideoFrame::default();
        for (width, height) in [(640, 360), (320, 180)] {
            crate::video::scale::shrink(&frame, width, height, &mut shrunk);
            assert_eq!(read_stamp(&shrunk), Some(STAMP), "{width}x{height}");
        }
    }

    #[test]
    fn a_blank_or_damaged_picture_has_no_stamp() {
        let mut frame = VideoFrame::new(320, 240);
        assert_eq!(read_stamp(&frame), None);
        draw_stamp(&mut frame, STAMP);
        // Flip one cell: the CRC must catch it.
        let cell = cell_px(240) as usize;
        let stride = frame.y_stride();
        let y = frame.planes_mut().0;
        for line in 0..cell {
            for pixel in &mut y[line * stride + 3 * cell..line * stride + 4 * cell] {
                *pixel = if *pixel > 128 { BLACK } else { WHITE };
            }
        }
        assert_eq!(read_stamp(&frame), None);
    }

    #[test]
    fn stamps_are_found_at_any_scale_in_a_larger_picture() {
        let first = Stamp {
            counter: 1234,
            capture_time_us: 1_795_000_000_123_456,
        };
        let second = Stamp { counter: 99, ..first };
        // A 1000x600 grey screen with two pictures scaled down (nearest pixel) at odd places.
        let (width, height) = (1000, 600);
        let mut screen = vec![40u8; width * height];
        for (stamp, (left, top), scale) in [(first, (13, 21), 0.37f32), (second, (520, 300), 0.61)] {
            let mut frame = VideoFrame::new(1280, 720);
            frame.planes_mut().0.fill(150);
            draw_stamp(&mut frame, stamp);
            let (w, h) = ((1280.0 * scale) as usize, (720.0 * scale) as usize);
            for y in 0..h.min(height - top) {
                for x in 0..w.min(width - left) {
                    let (sx, sy) = ((x as f32 / scale) as usize, (y as f32 / scale) as usize);
                    // Limited-range luma to the screen's full range, as the shader does.
                    let value = (f32::from(frame.planes().0[sy * frame.y_stride() + sx]) - 16.0) * 255.0 / 219.0;
                    screen[(top + y) * width + left + x] = value.clamp(0.0, 255.0) as u8;
                }
            }
        }
        let found = find_stamps(&screen, width, height);
        let stamps: Vec<(Stamp, usize, usize)> = found.iter().map(|f| (f.stamp, f.x, f.y)).collect();
        assert_eq!(stamps, vec![(first, 13, 21), (second, 520, 300)]);
        assert!(find_stamps(&vec![40u8; width * height], width, height).is_empty());
        assert!(find_stamps(&[0u8; 10], width, height).is_empty(), "too short a buffer");
    }

    #[test]
    fn too_small_a_picture_is_not_stamped() {
        let mut frame = VideoFrame::new(64, 48);
        draw_stamp(&mut frame, STAMP);
        assert_eq!(read_stamp(&frame), None);
    }
}
