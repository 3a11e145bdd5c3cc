//! The recording's picture, made from everyone's newest decoded frame.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::label::Labels;
use super::layout::{Layout, Rect};
use super::{Participant, Scene, Voice};
use crate::audio::AudioLevels;
use crate::audio::level::{SPEAKER_HOLD, SPEAKING_LEVEL};
use crate::frame::VideoFrame;
use crate::slot::VideoSlot;
use crate::video::scale::shrink;

/// Luma of the background and of an empty tile: dark greys, lighter than video black.
const BACKGROUND: u8 = 40;
const EMPTY_TILE: u8 = 64;

/// One picture source's newest frame and its last drawing, reused while nothing changes.
#[derive(Default)]
struct Source {
    frame: VideoFrame,
    generation: u64,
    scaled: VideoFrame,
    /// The generation and place `scaled` was made for.
    scaled_for: Option<(u64, Rect)>,
    used: bool,
}

/// The large picture: its slot when there is one to draw, and its name.
type MainPicture<'a> = (Option<&'a Arc<VideoSlot>>, String);

/// Draws scenes into pictures of one size.
pub struct Compositor {
    canvas: VideoFrame,
    sources: HashMap<usize, Source>,
    labels: Labels,
    /// Who is in the large picture when nobody shares, and since when they last spoke.
    speaker: Option<(Voice, Instant)>,
}

impl Compositor {
    /// A compositor for pictures of `width` x `height`.
    pub fn new((width, height): (u32, u32)) -> Self {
        Self {
            canvas: VideoFrame::new(width, height),
            sources: HashMap::new(),
            labels: Labels::default(),
            speaker: None,
        }
    }

    /// Draws `scene` as it is now: the first shared screen large, else the active speaker
    /// (as `levels` tell), everyone else's camera in the strip below, each with their name.
    pub fn compose(&mut self, scene: &Scene, levels: &AudioLevels, now: Instant) -> &VideoFrame {
        self.follow_speaker(scene, levels, now);
        let size = (self.canvas.width(), self.canvas.height());
        let sharer = scene.participants.iter().find(|p| p.screen.is_some());
        let (main, strip): (Option<MainPicture<'_>>, Vec<&Participant>) = match sharer {
            Some(sharer) => (
                Some((sharer.screen.as_ref(), format!("{}'s screen", sharer.name))),
                scene.participants.iter().collect(),
            ),
            None => {
                let speaker = self.main_speaker(scene);
                let strip = scene
                    .participants
                    .iter()
                    .filter(|p| Some(p.voice) != speaker.map(|s| s.voice))
                    .collect();
                (speaker.map(|p| (p.camera.as_ref(), p.name.clone())), strip)
            }
        };
        let layout = Layout::new(size, strip.len());
        fill(&mut self.canvas, (0, 0, size.0, size.1), BACKGROUND);
        if let Some((slot, name)) = main {
            let drawn = slot.is_some_and(|slot| self.draw_picture(slot, layout.main, &name, size.1 / 30));
            if !drawn {
                // A camera that is off: the name stands in the large picture.
                self.draw_name_only(layout.main, &name, size.1 / 12);
            }
        }
        self.draw_strip(&layout, &strip);
        self.finish()
    }

    fn finish(&mut self) -> &VideoFrame {
        self.sources.retain(|_, source| std::mem::take(&mut source.used));
        self.canvas.capture_time_us = crate::clock::now_us();
        &self.canvas
    }

    fn draw_strip(&mut self, layout: &Layout, strip: &[&Participant]) {
        for (place, participant) in layout.strip.iter().zip(strip) {
            let label = (place.height / 9).max(12);
            let drawn = participant
                .camera
                .as_ref()
                .is_some_and(|camera| self.draw_picture(camera, *place, &participant.name, label));
            if !drawn {
                fill(
                    &mut self.canvas,
                    (place.x, place.y, place.width, place.height),
                    EMPTY_TILE,
                );
                self.draw_name_only(*place, &participant.name, label);
            }
        }
    }

    /// Draws the newest frame of `slot` fitted into `place` with `name` at its corner; false
    /// when the slot has no frame yet.
    fn draw_picture(&mut self, slot: &Arc<VideoSlot>, place: Rect, name: &str, label: u32) -> bool {
        let source = self.sources.entry(Arc::as_ptr(slot) as usize).or_default();
        source.used = true;
        if let Some(generation) = slot.read_if_newer(source.generation, &mut source.frame) {
            source.generation = generation;
        }
        if source.generation == 0 {
            return false;
        }
        let fitted = place.fit((source.frame.width(), source.frame.height()));
        if source.scaled_for != Some((source.generation, fitted)) {
            scale(&source.frame, fitted.width, fitted.height, &mut source.scaled);
            source.scaled_for = Some((source.generation, fitted));
        }
        blit(&source.scaled, &mut self.canvas, (fitted.x, fitted.y));
        self.labels.draw(
            &mut self.canvas,
            name,
            (fitted.x, fitted.y + fitted.height),
            label,
            fitted.width,
        );
        true
    }

    fn draw_name_only(&mut self, place: Rect, name: &str, size: u32) {
        let left = place.x + place.width / 8;
        let bottom = place.y + place.height / 2 + size / 2;
        self.labels
            .draw(&mut self.canvas, name, (left & !1, bottom), size, place.width * 3 / 4);
    }

    /// The loudest participant above the speaking level becomes the speaker, and stays so
    /// until someone else speaks (at least [`SPEAKER_HOLD`] on screen, so the picture does
    /// not flicker between two people talking at once).
    fn follow_speaker(&mut self, scene: &Scene, levels: &AudioLevels, now: Instant) {
        let loudest = scene
            .participants
            .iter()
            .map(|p| {
                let level = match p.voice {
                    Voice::Ours => levels.local.get(),
                    Voice::Theirs(source) => levels.remote(source),
                };
                (p.voice, level)
            })
            .filter(|&(_, level)| level > SPEAKING_LEVEL)
            .max_by(|a, b| a.1.total_cmp(&b.1));
        match (loudest, self.speaker) {
            (Some((voice, _)), Some((current, since)))
                if voice != current && now.duration_since(since) >= SPEAKER_HOLD =>
            {
                self.speaker = Some((voice, now));
            }
            (Some((voice, _)), None) => self.speaker = Some((voice, now)),
            _ => {}
        }
    }

    /// The speaker, or before anyone spoke (or once they left) the first other participant,
    /// or ourselves when alone.
    fn main_speaker<'a>(&self, scene: &'a Scene) -> Option<&'a Participant> {
        let by_voice = |voice| scene.participants.iter().find(|p| p.voice == voice);
        self.speaker
            .and_then(|(voice, _)| by_voice(voice))
            .or_else(|| scene.participants.iter().find(|p| p.voice != Voice::Ours))
            .or_else(|| scene.participants.first())
    }
}

fn fill(canvas: &mut VideoFrame, (x, y, width, height): (u32, u32, u32, u32), luma: u8) {
    let (y_stride, uv_stride) = (canvas.y_stride(), canvas.uv_stride());
    let (plane_y, u, v) = canvas.planes_mut();
    for row in y..y + height {
        plane_y[row as usize * y_stride + x as usize..][..width as usize].fill(luma);
    }
    for plane in [u, v] {
        for row in y / 2..(y + height) / 2 {
            plane[row as usize * uv_stride + x as usize / 2..][..width as usize / 2].fill(128);
        }
    }
}

/// Copies `picture` into `canvas` with its top-left corner at (`x`, `y`), both even.
fn blit(picture: &VideoFrame, canvas: &mut VideoFrame, (x, y): (u32, u32)) {
    let (width, height) = (
        picture.width().min(canvas.width() - x) as usize,
        picture.height().min(canvas.height() - y) as usize,
    );
    let (y_stride, uv_stride) = (canvas.y_stride(), canvas.uv_stride());
    let (from_y, from_u, from_v) = picture.planes();
    let (to_y, to_u, to_v) = canvas.planes_mut();
    let (x, y) = (x as usize, y as usize);
    for row in 0..height {
        to_y[(y + row) * y_stride + x..][..width].copy_from_slice(&from_y[row * picture.y_stride()..][..width]);
    }
    for (from, to) in [(from_u, to_u), (from_v, to_v)] {
        for row in 0..height / 2 {
            to[(y / 2 + row) * uv_stride + x / 2..][..width / 2]
                .copy_from_slice(&from[row * picture.uv_stride()..][..width / 2]);
        }
    }
}

/// `source` at `width` x `height`: shrunk with an area filter, enlarged bilinearly.
fn scale(source: &VideoFrame, width: u32, height: u32, out: &mut VideoFrame) {
    if width <= source.width() && height <= source.height() {
        shrink(source, width, height, out);
        return;
    }
    out.resize(width, height);
    let (from_y, from_u, from_v) = source.planes();
    let (src_w, src_h) = (source.width() as usize, source.height() as usize);
    let (out_w, out_h) = (out.width() as usize, out.height() as usize);
    let (y_stride, uv_stride) = (source.y_stride(), source.uv_stride());
    let (out_y_stride, out_uv_stride) = (out.y_stride(), out.uv_stride());
    let (to_y, to_u, to_v) = out.planes_mut();
    enlarge((from_y, y_stride, src_w, src_h), (to_y, out_y_stride, out_w, out_h));
    for (from, to) in [(from_u, to_u), (from_v, to_v)] {
        enlarge(
            (from, uv_stride, src_w / 2, src_h / 2),
            (to, out_uv_stride, out_w / 2, out_h / 2),
        );
    }
}

/// A plane: samples, stride, width, height.
type Plane<'a, T> = (T, usize, usize, usize);

/// Bilinear resampling with 8-bit weights.
fn enlarge((src, src_stride, src_w, src_h): Plane<'_, &[u8]>, (dst, dst_stride, dst_w, dst_h): Plane<'_, &mut [u8]>) {
    if src_w == 0 || src_h == 0 || dst_w == 0 || dst_h == 0 {
        return;
    }
    // Where each output sample falls between two input samples, and how far along.
    let taps = |out: usize, from: usize| -> Vec<(usize, usize, u32)> {
        (0..out)
            .map(|i| {
                let position = ((i as f32 + 0.5) * from as f32 / out as f32 - 0.5).max(0.0);
                let first = (position as usize).min(from - 1);
                let weight = ((position - first as f32) * 256.0) as u32;
                (first, (first + 1).min(from - 1), weight.min(256))
            })
            .collect()
    };
    let (columns, rows) = (taps(dst_w, src_w), taps(dst_h, src_h));
    for (out_row, &(top, bottom, down)) in rows.iter().enumerate() {
        let (upper, lower) = (&src[top * src_stride..], &src[bottom * src_stride..]);
        let line = &mut dst[out_row * dst_stride..][..dst_w];
        for (sample, &(left, right, across)) in line.iter_mut().zip(&columns) {
            let mix = |row: &[u8]| u32::from(row[left]) * (256 - across) + u32::from(row[right]) * across;
            *sample = ((mix(upper) * (256 - down) + mix(lower) * down) >> 16) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::stamp::{Stamp, draw_stamp, find_stamps};
    use std::time::Duration;

    fn slot_with(width: u32, height: u32, counter: u32) -> Arc<VideoSlot> {
        let mut frame = VideoFrame::new(width, height);
        frame.planes_mut().0.fill(160);
        draw_stamp(
            &mut frame,
            Stamp {
                counter,
                capture_time_us: 1,
            },
        );
        let slot = Arc::new(VideoSlot::default());
        slot.publish(&mut frame);
        slot
    }

    fn person(name: &str, voice: Voice, camera: Option<Arc<VideoSlot>>) -> Participant {
        Participant {
            name: name.into(),
            voice,
            camera,
            screen: None,
        }
    }

    /// The stamps in a picture: (counter, x, y, cell).
    fn stamps(picture: &VideoFrame) -> Vec<(u32, usize, usize, f32)> {
        let (width, height) = (picture.width() as usize, picture.height() as usize);
        // As a screen shows it: video black (16) is black (0).
        let full_range: Vec<u8> = picture
            .planes()
            .0
            .iter()
            .map(|&y| (u32::from(y.saturating_sub(16)) * 255 / 219).min(255) as u8)
            .collect();
        let mut found: Vec<_> = find_stamps(&full_range, width, height)
            .into_iter()
            .map(|f| (f.stamp.counter, f.x, f.y, f.cell))
            .collect();
        found.sort_by_key(|f| f.0);
        found
    }

    #[test]
    fn the_speaker_is_large_and_the_others_in_the_strip_and_a_share_takes_the_large_place() {
        let levels = AudioLevels::default();
        let (ours, bob, carol) = (slot_with(640, 360, 1), slot_with(640, 360, 2), slot_with(640, 360, 3));
        let mut scene = Scene {
            participants: vec![
                person("Me", Voice::Ours, Some(ours)),
                person("Bob", Voice::Theirs(2), Some(bob)),
                person("Carol", Voice::Theirs(3), Some(carol)),
            ],
        };
        let mut compositor = Compositor::new((1280, 720));
        let now = Instant::now();
        let picture = compositor.compose(&scene, &levels, now);
        let found = stamps(picture);
        assert_eq!(found.len(), 3, "{found:?}");
        // Before anyone speaks: the first other participant is large.
        let (large, small): (Vec<&(u32, usize, usize, f32)>, Vec<_>) = found.iter().partition(|f| f.2 < 540);
        assert_eq!(large.iter().map(|f| f.0).collect::<Vec<_>>(), [2]);
        assert!(large[0].3 > 10.0, "cells enlarged: {:?}", large[0]);
        assert_eq!(small.iter().map(|f| f.0).collect::<Vec<_>>(), [1, 3]);

        // Carol speaks: she takes the large picture.
        let loud = [0.5f32; 960];
        for _ in 0..20 {
            levels.update_remote(3, &loud);
        }
        let picture = compositor.compose(&scene, &levels, now + Duration::from_secs(2));
        let large: Vec<u32> = stamps(picture).iter().filter(|f| f.2 < 540).map(|f| f.0).collect();
        assert_eq!(large, [3]);

        // Bob shares: his screen is large, and every camera is in the strip.
        scene.participants[1].screen = Some(slot_with(1920, 1080, 9));
        let picture = compositor.compose(&scene, &levels, now + Duration::from_secs(4));
        let found = stamps(picture);
        let large: Vec<u32> = found.iter().filter(|f| f.2 < 540).map(|f| f.0).collect();
        let small: Vec<u32> = found.iter().filter(|f| f.2 >= 540).map(|f| f.0).collect();
        assert_eq!((large, small), (vec![9], vec![1, 2, 3]));
    }

    #[test]
    fn a_camera_that_is_off_leaves_its_name_and_no_picture() {
        let levels = AudioLevels::default();
        let scene = Scene {
            participants: vec![
                person("Me", Voice::Ours, None),
                person("Bob", Voice::Theirs(2), Some(Arc::new(VideoSlot::default()))),
            ],
        };
        let mut compositor = Compositor::new((1280, 720));
        let picture = compositor.compose(&scene, &levels, Instant::now());
        assert!(stamps(picture).is_empty());
        let luma = picture.planes().0;
        let light = luma.iter().filter(|&&p| p > 180).count();
        assert!(light > 100, "names are written: {light} light pixels");
    }

    #[test]
    fn enlarging_keeps_flat_areas_and_edges_in_place() {
        let mut small = VideoFrame::new(4, 2);
        small.planes_mut().0.copy_from_slice(&[0, 0, 200, 200, 0, 0, 200, 200]);
        let mut large = VideoFrame::default();
        scale(&small, 16, 8, &mut large);
        let row = &large.planes().0[..16];
        assert_eq!(&row[..3], &[0, 0, 0]);
        assert_eq!(&row[13..], &[200, 200, 200]);
        assert!(row.windows(2).all(|pair| pair[0] <= pair[1]), "{row:?}");
    }
}
