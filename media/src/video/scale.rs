//! Shrinking I420 pictures, for screens larger than what is sent.

use crate::frame::VideoFrame;

/// The size `width` x `height` scaled down (never up) to fit `max_width` x `max_height`,
/// keeping its shape, in even numbers.
pub fn fit_within(width: u32, height: u32, max_width: u32, max_height: u32) -> (u32, u32) {
    if width <= max_width && height <= max_height {
        return (width, height);
    }
    let scale = f64::min(
        f64::from(max_width) / f64::from(width),
        f64::from(max_height) / f64::from(height),
    );
    let even = |side: u32| ((f64::from(side) * scale) as u32 & !1).max(2);
    (even(width), even(height))
}

/// Writes `source` shrunk to `width` x `height` into `out`. Every output pixel averages the
/// block of source pixels it covers (an area filter), which keeps text readable when the
/// scale is far from 1:2.
pub fn shrink(source: &VideoFrame, width: u32, height: u32, out: &mut VideoFrame) {
    out.resize(width, height);
    out.capture_time_us = source.capture_time_us;
    let (src_y, src_u, src_v) = source.planes();
    let (src_y_stride, src_uv_stride) = (source.y_stride(), source.uv_stride());
    let (src_w, src_h) = (source.width() as usize, source.height() as usize);
    let (out_y_stride, out_uv_stride) = (out.y_stride(), out.uv_stride());
    let (out_w, out_h) = (out.width() as usize, out.height() as usize);
    let (y, u, v) = out.planes_mut();
    shrink_plane((src_y, src_y_stride, src_w, src_h), (y, out_y_stride, out_w, out_h));
    let chroma = |w: usize| w.div_ceil(2);
    for (from, to) in [(src_u, u), (src_v, v)] {
        shrink_plane(
            (from, src_uv_stride, chroma(src_w), chroma(src_h)),
            (to, out_uv_stride, chroma(out_w), chroma(out_h)),
        );
    }
}

/// A plane: samples, stride, width, height.
type Plane<'a, T> = (T, usize, usize, usize);

fn shrink_plane(
    (src, src_stride, src_w, src_h): Plane<'_, &[u8]>,
    (dst, dst_stride, dst_w, dst_h): Plane<'_, &mut [u8]>,
) {
    if src_w == 0 || src_h == 0 || dst_w == 0 || dst_h == 0 {
        return;
    }
    // Source columns covered by each output column, computed once per plane.
    let columns: Vec<(usize, usize)> = (0..dst_w).map(|x| span(x, dst_w, src_w)).collect();
    for out_y in 0..dst_h {
        let (top, bottom) = span(out_y, dst_h, src_h);
        let row = &mut dst[out_y * dst_stride..out_y * dst_stride + dst_w];
        for (pixel, &(left, right)) in row.iter_mut().zip(&columns) {
            let mut sum = 0u32;
            for source_row in src[top * src_stride..].chunks(src_stride).take(bottom - top) {
                sum += source_row[left..right].iter().map(|&s| u32::from(s)).sum::<u32>();
            }
            let count = ((bottom - top) * (right - left)) as u32;
            *pixel = ((sum + count / 2) / count) as u8;
        }
    }
}

/// The source range `[start, end)` covered by output sample `i` of `out` over `size` inputs.
fn span(i: usize, out: usize, size: usize) -> (usize, usize) {
    let start = i * size / out;
    let end = ((i + 1) * size / out).max(start + 1).min(size);
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_fit_and_stay_even() {
        assert_eq!(fit_within(1920, 1080, 1920, 1080), (1920, 1080));
        assert_eq!(fit_within(1280, 720, 1920, 1080), (1280, 720), "never enlarged");
        assert_eq!(fit_within(3840, 2160, 1920, 1080), (1920, 1080));
        assert_eq!(fit_within(2560, 1440, 1920, 1080), (1920, 1080));
        assert_eq!(fit_within(3440, 1440, 1920, 1080), (1920, 802));
        assert_eq!(fit_within(1080, 2400, 1920, 1080), (486, 1080));
    }

    /// 8x4, black left of column `edge`, white from it; chroma flat.
    fn edge_at(edge: usize) -> VideoFrame {
        let mut source = VideoFrame::new(8, 4);
        let stride = source.y_stride();
        let (y, u, v) = source.planes_mut();
        for row in y.chunks_mut(stride) {
            for (x, sample) in row.iter_mut().enumerate().take(8) {
                *sample = if x < edge { 16 } else { 235 };
            }
        }
        u.fill(128);
        v.fill(100);
        source
    }

    #[test]
    fn shrinking_averages_and_keeps_edges() {
        let mut out = VideoFrame::default();
        shrink(&edge_at(4), 4, 2, &mut out);
        let (y, u, v) = out.planes();
        assert_eq!(&y[..4], &[16, 16, 235, 235], "a 2:1 shrink keeps an aligned edge sharp");
        assert!(u[..2].iter().all(|&s| s == 128) && v[..2].iter().all(|&s| s == 100));
        shrink(&edge_at(3), 6, 4, &mut out);
        let y = out.planes().0;
        assert_eq!(
            &y[..6],
            &[16, 16, 126, 235, 235, 235],
            "the block across the edge is averaged"
        );
    }
}
