//! Camera pixel formats to I420, with SIMD converters (yuvutils-rs) and reused buffers.
//!
//! Colour is BT.601 limited range throughout, which is what an H.264 stream without colour
//! information is decoded as.

use yuvutils_rs::{BufferStoreMut, YuvConversionMode, YuvPackedImage, YuvPlanarImageMut, YuvRange, YuvStandardMatrix};
use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use crate::frame::VideoFrame;

/// Pixel layouts cameras deliver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// Motion JPEG: every frame a JPEG picture.
    Mjpeg,
    /// Packed 4:2:2, Y0 U Y1 V.
    Yuyv,
    /// Y plane, then interleaved U/V at half resolution.
    Nv12,
    /// Packed 8-bit R G B.
    Rgb24,
    /// Packed 8-bit B G R.
    Bgr24,
    /// 8-bit luma only.
    Gray,
    /// Packed 8-bit B G R and an unused or alpha byte (X11 and Windows screens).
    Bgra,
    /// Packed 8-bit R G B A.
    Rgba,
}

/// A camera picture that could not be converted.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ConvertError {
    /// The buffer is smaller than the format and size require.
    #[error("a {format:?} picture of {width}x{height} needs {needed} bytes, got {got}")]
    ShortFrame {
        /// The pixel format.
        format: PixelFormat,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes the picture needs.
        needed: usize,
        /// Bytes delivered.
        got: usize,
    },
    /// The JPEG data is damaged.
    #[error("damaged JPEG picture: {0}")]
    Jpeg(String),
    /// The converter rejected the picture geometry.
    #[error("cannot convert the picture: {0}")]
    Geometry(String),
}

/// Converts camera pictures to I420, keeping its scratch buffer between frames.
#[derive(Default)]
pub struct PixelConverter {
    rgb: Vec<u8>,
}

impl PixelConverter {
    /// Converts one `width` x `height` picture in `format` into `out` (resized to fit).
    pub fn to_i420(
        &mut self,
        format: PixelFormat,
        data: &[u8],
        (width, height): (u32, u32),
        out: &mut VideoFrame,
    ) -> Result<(), ConvertError> {
        let pixels = width as usize * height as usize;
        let needed = match format {
            PixelFormat::Mjpeg => 1,
            PixelFormat::Yuyv => pixels * 2,
            PixelFormat::Nv12 => pixels + pixels.div_ceil(2),
            PixelFormat::Rgb24 | PixelFormat::Bgr24 => pixels * 3,
            PixelFormat::Gray => pixels,
            PixelFormat::Bgra | PixelFormat::Rgba => pixels * 4,
        };
        if data.len() < needed || width == 0 || height == 0 {
            return Err(ConvertError::ShortFrame {
                format,
                width,
                height,
                needed,
                got: data.len(),
            });
        }
        match format {
            PixelFormat::Mjpeg => self.mjpeg_to_i420(data, out),
            PixelFormat::Yuyv => yuyv_to_i420(data, width, height, out),
            PixelFormat::Nv12 => {
                nv12_to_i420(data, width, height, out);
                Ok(())
            }
            PixelFormat::Rgb24 => packed_to_i420(data, (width, height), 3, yuvutils_rs::rgb_to_yuv420, out),
            PixelFormat::Bgr24 => packed_to_i420(data, (width, height), 3, yuvutils_rs::bgr_to_yuv420, out),
            PixelFormat::Bgra => packed_to_i420(data, (width, height), 4, yuvutils_rs::bgra_to_yuv420, out),
            PixelFormat::Rgba => packed_to_i420(data, (width, height), 4, yuvutils_rs::rgba_to_yuv420, out),
            PixelFormat::Gray => {
                out.resize(width, height);
                let stride = out.y_stride();
                let (y, u, v) = out.planes_mut();
                for (dst, src) in y.chunks_exact_mut(stride).zip(data.chunks_exact(width as usize)) {
                    dst[..width as usize].copy_from_slice(src);
                }
                u.fill(128);
                v.fill(128);
                Ok(())
            }
        }
    }

    fn mjpeg_to_i420(&mut self, data: &[u8], out: &mut VideoFrame) -> Result<(), ConvertError> {
        let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
        let mut decoder = JpegDecoder::new_with_options(ZCursor::new(data), options);
        decoder
            .decode_headers()
            .map_err(|e| ConvertError::Jpeg(e.to_string()))?;
        let info = decoder
            .info()
            .ok_or_else(|| ConvertError::Jpeg("no picture header".into()))?;
        let size = decoder
            .output_buffer_size()
            .ok_or_else(|| ConvertError::Jpeg("no picture size".into()))?;
        self.rgb.resize(size, 0);
        decoder
            .decode_into(&mut self.rgb)
            .map_err(|e| ConvertError::Jpeg(e.to_string()))?;
        let size = (u32::from(info.width), u32::from(info.height));
        packed_to_i420(&self.rgb, size, 3, yuvutils_rs::rgb_to_yuv420, out)
    }
}

/// Converts an I420 picture to packed BGRA (alpha 255) in `out`, resized to fit: for showing
/// synthetic pictures in a window of our own.
pub fn i420_to_bgra(frame: &VideoFrame, out: &mut Vec<u8>) -> Result<(), ConvertError> {
    let (width, height) = (frame.width(), frame.height());
    out.resize(width as usize * height as usize * 4, 0);
    let (y, u, v) = frame.planes();
    let (y_stride, uv_stride) = (frame.y_stride() as u32, frame.uv_stride() as u32);
    let planar = yuvutils_rs::YuvPlanarImage {
        y_plane: y,
        y_stride,
        u_plane: u,
        u_stride: uv_stride,
        v_plane: v,
        v_stride: uv_stride,
        width,
        height,
    };
    yuvutils_rs::yuv420_to_bgra(&planar, out, width * 4, YuvRange::Limited, YuvStandardMatrix::Bt601)
        .map_err(|e| ConvertError::Geometry(e.to_string()))
}

fn planar_mut(out: &mut VideoFrame) -> YuvPlanarImageMut<'_, u8> {
    let (width, height) = (out.width(), out.height());
    let (y_stride, uv_stride) = (out.y_stride() as u32, out.uv_stride() as u32);
    let (y, u, v) = out.planes_mut();
    YuvPlanarImageMut {
        y_plane: BufferStoreMut::Borrowed(y),
        y_stride,
        u_plane: BufferStoreMut::Borrowed(u),
        u_stride: uv_stride,
        v_plane: BufferStoreMut::Borrowed(v),
        v_stride: uv_stride,
        width,
        height,
    }
}

/// Odd camera sizes are cropped by one pixel so the chroma planes line up.
fn even(width: u32, height: u32) -> (u32, u32) {
    ((width & !1).max(2), (height & !1).max(2))
}

/// One of yuvutils' packed-RGB converters: picture, data, row stride, range, matrix, mode.
type PackedConverter = fn(
    &mut YuvPlanarImageMut<'_, u8>,
    &[u8],
    u32,
    YuvRange,
    YuvStandardMatrix,
    YuvConversionMode,
) -> Result<(), yuvutils_rs::YuvError>;

/// Packed RGB-like pictures of `channels` bytes a pixel, converted by `convert`.
fn packed_to_i420(
    data: &[u8],
    (width, height): (u32, u32),
    channels: u32,
    convert: PackedConverter,
    out: &mut VideoFrame,
) -> Result<(), ConvertError> {
    let (even_w, even_h) = even(width, height);
    out.resize(even_w, even_h);
    convert(
        &mut planar_mut(out),
        data,
        width * channels,
        YuvRange::Limited,
        YuvStandardMatrix::Bt601,
        YuvConversionMode::default(),
    )
    .map_err(|e| ConvertError::Geometry(e.to_string()))
}

fn yuyv_to_i420(data: &[u8], width: u32, height: u32, out: &mut VideoFrame) -> Result<(), ConvertError> {
    let (even_w, even_h) = even(width, height);
    out.resize(even_w, even_h);
    let packed = YuvPackedImage {
        yuy: data,
        yuy_stride: width * 2,
        width: even_w,
        height: even_h,
    };
    yuvutils_rs::yuyv422_to_yuv420(&mut planar_mut(out), &packed).map_err(|e| ConvertError::Geometry(e.to_string()))
}

/// NV12 is already 4:2:0: copy the luma rows and split the interleaved chroma. This is a
/// byte shuffle, not colour math; the compiler vectorises the split loop.
fn nv12_to_i420(data: &[u8], width: u32, height: u32, out: &mut VideoFrame) {
    let (even_w, even_h) = even(width, height);
    out.resize(even_w, even_h);
    let (src_y, src_uv) = data.split_at(width as usize * height as usize);
    let (y_stride, uv_stride) = (out.y_stride(), out.uv_stride());
    let (y, u, v) = out.planes_mut();
    for (dst, src) in y.chunks_exact_mut(y_stride).zip(src_y.chunks_exact(width as usize)) {
        dst.copy_from_slice(&src[..y_stride]);
    }
    let src_uv_stride = width.next_multiple_of(2) as usize;
    for ((dst_u, dst_v), src) in u
        .chunks_exact_mut(uv_stride)
        .zip(v.chunks_exact_mut(uv_stride))
        .zip(src_uv.chunks(src_uv_stride))
    {
        for ((pu, pv), pair) in dst_u.iter_mut().zip(dst_v.iter_mut()).zip(src.chunks_exact(2)) {
            *pu = pair[0];
            *pv = pair[1];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(format: PixelFormat, width: usize, height: usize, pixel: &[u8]) -> Vec<u8> {
        match format {
            PixelFormat::Nv12 => {
                let mut data = vec![pixel[0]; width * height];
                data.extend(std::iter::repeat_n([pixel[1], pixel[2]], width * height / 4).flatten());
                data
            }
            _ => pixel.repeat(width * height * 3 / pixel.len() * pixel.len() / 3),
        }
    }

    fn center(frame: &VideoFrame) -> (u8, u8, u8) {
        let (y, u, v) = frame.planes();
        let (w, h) = (frame.width() as usize, frame.height() as usize);
        (y[h / 2 * w + w / 2], u[h / 4 * w / 2 + w / 4], v[h / 4 * w / 2 + w / 4])
    }

    #[test]
    fn pure_red_converts_to_bt601_limited_red() {
        let mut converter = PixelConverter::default();
        let mut frame = VideoFrame::default();
        converter
            .to_i420(
                PixelFormat::Rgb24,
                &solid(PixelFormat::Rgb24, 64, 48, &[255, 0, 0]),
                (64, 48),
                &mut frame,
            )
            .unwrap();
        let (y, u, v) = center(&frame);
        // BT.601 limited: red is Y=81, U=90, V=240.
        assert!(
            y.abs_diff(81) <= 2 && u.abs_diff(90) <= 2 && v.abs_diff(240) <= 2,
            "{y} {u} {v}"
        );
        converter
            .to_i420(
                PixelFormat::Bgr24,
                &solid(PixelFormat::Bgr24, 64, 48, &[0, 0, 255]),
                (64, 48),
                &mut frame,
            )
            .unwrap();
        assert!(center(&frame).2.abs_diff(240) <= 2);
        for (format, pixel) in [
            (PixelFormat::Bgra, [0, 0, 255, 0]),
            (PixelFormat::Rgba, [255, 0, 0, 255]),
        ] {
            converter
                .to_i420(format, &pixel.repeat(64 * 48), (64, 48), &mut frame)
                .unwrap();
            let (y, u, v) = center(&frame);
            assert!(
                y.abs_diff(81) <= 2 && u.abs_diff(90) <= 2 && v.abs_diff(240) <= 2,
                "{format:?}: {y} {u} {v}"
            );
        }
    }

    #[test]
    fn bgra_goes_to_i420_and_back() {
        let mut converter = PixelConverter::default();
        let mut frame = VideoFrame::default();
        let sent = [40u8, 200, 90, 255].repeat(32 * 16);
        converter
            .to_i420(PixelFormat::Bgra, &sent, (32, 16), &mut frame)
            .unwrap();
        let mut back = Vec::new();
        i420_to_bgra(&frame, &mut back).unwrap();
        assert_eq!(back.len(), sent.len());
        for (a, b) in back.iter().zip(&sent) {
            assert!(a.abs_diff(*b) <= 3, "{a} vs {b}");
        }
    }

    #[test]
    fn yuyv_and_nv12_keep_their_values() {
        let mut converter = PixelConverter::default();
        let mut frame = VideoFrame::default();
        let yuyv: Vec<u8> = [100u8, 60, 100, 200].repeat(32 * 24);
        converter
            .to_i420(PixelFormat::Yuyv, &yuyv, (64, 24), &mut frame)
            .unwrap();
        assert_eq!(center(&frame), (100, 60, 200));
        let nv12 = solid(PixelFormat::Nv12, 64, 24, &[90, 70, 180]);
        converter
            .to_i420(PixelFormat::Nv12, &nv12, (64, 24), &mut frame)
            .unwrap();
        assert_eq!(center(&frame), (90, 70, 180));
    }

    #[test]
    fn mjpeg_pictures_decode_to_their_colour() {
        let mut jpeg = Vec::new();
        jpeg_encoder::Encoder::new(&mut jpeg, 95)
            .encode(&[255, 0, 0].repeat(64 * 48), 64, 48, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        let mut frame = VideoFrame::default();
        PixelConverter::default()
            .to_i420(PixelFormat::Mjpeg, &jpeg, (64, 48), &mut frame)
            .unwrap();
        assert_eq!((frame.width(), frame.height()), (64, 48));
        let (y, u, v) = center(&frame);
        assert!(
            y.abs_diff(81) <= 4 && u.abs_diff(90) <= 4 && v.abs_diff(240) <= 4,
            "{y} {u} {v}"
        );
    }

    #[test]
    fn short_and_damaged_pictures_are_errors() {
        let mut converter = PixelConverter::default();
        let mut frame = VideoFrame::default();
        for format in [
            PixelFormat::Yuyv,
            PixelFormat::Nv12,
            PixelFormat::Rgb24,
            PixelFormat::Gray,
        ] {
            let result = converter.to_i420(format, &[0; 10], (64, 48), &mut frame);
            assert!(matches!(result, Err(ConvertError::ShortFrame { .. })), "{format:?}");
        }
        let garbage: Vec<u8> = (0..5000u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert!(
            converter
                .to_i420(PixelFormat::Mjpeg, &garbage, (64, 48), &mut frame)
                .is_err()
        );
        assert!(
            converter
                .to_i420(PixelFormat::Mjpeg, &[0xFF, 0xD8, 0xFF], (64, 48), &mut frame)
                .is_err()
        );
    }
}
