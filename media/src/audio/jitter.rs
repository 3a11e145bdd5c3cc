//! A jitter buffer for one remote Opus stream: reorders, waits a little, and fills gaps with
//! forward error correction or concealment so playout never stalls.

use std::collections::BTreeMap;

use crate::codec::OpusDecoder;
use crate::frame::AudioFrame;
use crate::sequence::SequenceUnwrapper;

/// Frames buffered before playout starts, at the least: one on a clean LAN path. The
/// buffer deepens by itself when packets come late or go missing (see [`JitterBuffer::pop`]).
const MIN_DEPTH: usize = 1;
/// Frames buffered at the most before old ones are skipped to catch up (200 ms).
const MAX_DEPTH: usize = 10;
/// Consecutive missing frames after which the stream counts as stopped (500 ms).
const STOPPED_AFTER: u32 = 25;
/// Calm frames (no late or missing packet) before the buffer gets a frame shallower again,
/// at the least (1 s): a single late packet costs a second of 20 ms more delay, not the call.
/// Once calm that long, it gets a frame shallower every such while.
const MIN_HOLD: u32 = 50;
/// The same at the most (10 s), for a path whose packets keep coming late.
const MAX_HOLD: u32 = 500;

/// How a frame handed out by [`JitterBuffer::pop`] was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Playout {
    /// Decoded from its own packet.
    Decoded,
    /// Rebuilt from the next packet's FEC data.
    Recovered,
    /// Invented by concealment: the packet is lost or late.
    Concealed,
    /// Silence: the stream has not started, or stopped.
    Silent,
}

/// Reorders and decodes one stream's packets into a steady flow of 20 ms frames.
pub struct JitterBuffer {
    packets: BTreeMap<u64, Vec<u8>>,
    next: Option<u64>,
    sequences: SequenceUnwrapper,
    decoder: OpusDecoder,
    target_depth: usize,
    playing: bool,
    missing_in_a_row: u32,
    /// Frames played since a packet last came late or went missing.
    calm: u32,
    /// Calm frames after which the buffer gets a frame shallower: doubles when late packets
    /// come back soon after it shrank, halves when they stay away.
    hold: u32,
}

impl JitterBuffer {
    /// An empty buffer with its own decoder.
    pub fn new() -> Result<Self, crate::codec::CodecError> {
        Ok(Self {
            packets: BTreeMap::new(),
            next: None,
            sequences: SequenceUnwrapper::default(),
            decoder: OpusDecoder::new()?,
            target_depth: MIN_DEPTH,
            playing: false,
            missing_in_a_row: 0,
            // As after a long calm: the first late packet is held for the shortest while.
            calm: 4 * MAX_HOLD,
            hold: MIN_HOLD,
        })
    }

    /// Frames of delay the buffer currently aims for.
    pub fn target_depth(&self) -> usize {
        self.target_depth
    }

    /// Takes in a packet with its RTP sequence number.
    pub fn push(&mut self, sequence: u16, payload: Vec<u8>) {
        let sequence = self.sequences.extend(sequence);
        if self.next.is_some_and(|next| sequence < next) {
            // Too late to play: wait longer from now on.
            self.deepen();
            return;
        }
        self.packets.insert(sequence, payload);
        while self.packets.len() > 4 * MAX_DEPTH {
            self.packets.pop_first();
        }
    }

    /// The next 20 ms of this stream.
    pub fn pop(&mut self, out: &mut AudioFrame) -> Playout {
        if !self.playing {
            if self.packets.len() < self.target_depth {
                out.samples.fill(0.0);
                return Playout::Silent;
            }
            self.playing = true;
            self.next = self.packets.keys().next().copied();
        }
        // Running too far behind (the sender's clock is faster, or a burst arrived): skip.
        while self.packets.len() > self.target_depth + MAX_DEPTH / 2 {
            if let Some((sequence, _)) = self.packets.pop_first() {
                self.next = Some(sequence + 1);
            }
        }
        let Some(next) = self.next else {
            out.samples.fill(0.0);
            return Playout::Silent;
        };
        self.next = Some(next + 1);
        self.calm = self.calm.saturating_add(1);
        // Calm for the hold: trusted again, a frame shallower every second from then on.
        if self.calm >= self.hold && (self.calm - self.hold).is_multiple_of(MIN_HOLD) {
            self.target_depth = (self.target_depth - 1).max(MIN_DEPTH);
            // Holding more than that: skip the oldest frame, 20 ms less delay from now on.
            if self.packets.len() > self.target_depth && self.packets.remove(&next).is_some() {
                self.next = Some(next + 2);
                return self.play(next + 1, out);
            }
        }
        self.play(next, out)
    }

    /// A packet came late or went missing: one frame deeper from now on, held longer when
    /// this happens again soon after the last time.
    fn deepen(&mut self) {
        self.target_depth = (self.target_depth + 1).min(MAX_DEPTH);
        self.hold = if self.calm < 4 * self.hold {
            (self.hold * 2).min(MAX_HOLD)
        } else {
            (self.hold / 2).max(MIN_HOLD)
        };
        self.calm = 0;
    }

    /// Plays frame `next`: decoded, rebuilt from the following packet, or concealed.
    fn play(&mut self, next: u64, out: &mut AudioFrame) -> Playout {
        let played = if let Some(packet) = self.packets.remove(&next) {
            self.decoder.decode(&packet, out).map(|()| Playout::Decoded)
        } else if let Some(following) = self.packets.get(&(next + 1)) {
            self.decoder.recover(following, out).map(|()| Playout::Recovered)
        } else if self.packets.is_empty() {
            // Nothing here yet: the packet is late, or lost with no later one to rebuild it
            // from. Conceal this frame but keep waiting for it: the buffer is one frame
            // deeper from now on, which lets a late packet play and a lost one be rebuilt
            // from the next packet's FEC data.
            self.next = Some(next);
            self.deepen();
            self.decoder.conceal(out).map(|()| Playout::Concealed)
        } else {
            self.decoder.conceal(out).map(|()| Playout::Concealed)
        };
        let played = played.unwrap_or_else(|_| {
            // A damaged packet: conceal it like a lost one.
            match self.decoder.conceal(out) {
                Ok(()) => Playout::Concealed,
                Err(_) => {
                    out.samples.fill(0.0);
                    Playout::Silent
                }
            }
        });
        if played == Playout::Concealed {
            self.missing_in_a_row += 1;
            if self.missing_in_a_row >= STOPPED_AFTER {
                // The sender went quiet or away: rebuffer when it comes back.
                self.playing = false;
                self.missing_in_a_row = 0;
            }
        } else {
            self.missing_in_a_row = 0;
        }
        played
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::TestTone;
    use crate::audio::goertzel::amplitude;
    use crate::codec::{OpusConfig, OpusEncoder};

    fn packets(count: usize) -> Vec<Vec<u8>> {
        let tone = TestTone::new(440.0);
        let mut encoder = OpusEncoder::new(OpusConfig::default()).unwrap();
        let mut frame = AudioFrame::default();
        (0..count)
            .map(|index| {
                tone.render(100_000 + index as u64 * 20_000, &mut frame);
                let mut packet = Vec::new();
                encoder.encode(&frame, &mut packet).unwrap();
                packet
            })
            .collect()
    }

    #[test]
    fn reordered_and_lost_packets_still_play_smoothly() {
        let packets = packets(40);
        let mut buffer = JitterBuffer::new().unwrap();
        let mut out = AudioFrame::default();
        let mut kinds = Vec::new();
        let mut played = Vec::new();
        // Arrival: pairs swapped, packet 20 lost, around the 16-bit wrap.
        let order: Vec<usize> = (0..40)
            .map(|i| if i % 2 == 0 { i + 1 } else { i - 1 })
            .filter(|&i| i != 20)
            .collect();
        for (step, index) in order.iter().enumerate() {
            buffer.push(65_520u16.wrapping_add(*index as u16), packets[*index].clone());
            if step >= 1 {
                kinds.push(buffer.pop(&mut out));
                played.extend_from_slice(&out.samples[..]);
            }
        }
        assert_eq!(
            kinds.iter().filter(|k| **k == Playout::Recovered).count(),
            1,
            "{kinds:?}"
        );
        assert!(!kinds.contains(&Playout::Concealed), "{kinds:?}");
        assert!(amplitude(&played[9_600..], 440.0) > 0.2);
    }

    #[test]
    fn a_late_packet_deepens_the_buffer_and_still_plays_and_silence_follows_a_stop() {
        let packets = packets(60);
        let mut buffer = JitterBuffer::new().unwrap();
        let mut out = AudioFrame::default();
        for (index, packet) in packets.iter().enumerate().take(3) {
            buffer.push(index as u16, packet.clone());
        }
        assert_eq!(buffer.pop(&mut out), Playout::Decoded);
        assert_eq!(buffer.pop(&mut out), Playout::Decoded);
        assert_eq!(buffer.pop(&mut out), Playout::Decoded);
        assert_eq!(buffer.pop(&mut out), Playout::Concealed, "packet 3 has not come");
        assert_eq!(buffer.target_depth(), MIN_DEPTH + 1, "one frame deeper");
        // It comes a frame late and still plays; packet 4, on time, follows.
        buffer.push(3, packets[3].clone());
        buffer.push(4, packets[4].clone());
        assert_eq!(buffer.pop(&mut out), Playout::Decoded);
        assert_eq!(buffer.pop(&mut out), Playout::Decoded);
        // A packet for a frame already played is too late: dropped, and the buffer deepens.
        buffer.push(2, packets[2].clone());
        assert_eq!(buffer.target_depth(), MIN_DEPTH + 2);
        // Nothing more arrives: concealment, then silence.
        let kinds: Vec<Playout> = (0..40).map(|_| buffer.pop(&mut out)).collect();
        assert_eq!(kinds.last(), Some(&Playout::Silent));
        assert!(out.samples.iter().all(|&s| s == 0.0));
    }

    #[test]
    fn delay_a_burst_added_goes_again_after_a_calm_while() {
        let packets = packets(800);
        let mut buffer = JitterBuffer::new().unwrap();
        let mut out = AudioFrame::default();
        // Three packets at once (a busy moment), then one per frame.
        for (index, packet) in packets.iter().enumerate().take(3) {
            buffer.push(index as u16, packet.clone());
        }
        let mut kinds = Vec::new();
        let mut depths = Vec::new();
        for (index, packet) in packets.iter().enumerate().skip(3) {
            kinds.push(buffer.pop(&mut out));
            depths.push(buffer.packets.len());
            buffer.push(index as u16, packet.clone());
        }
        assert_eq!(depths[0], 2, "two frames wait behind the one played");
        assert_eq!(depths.last(), Some(&0), "back to one frame: nothing waits behind it");
        assert!(kinds.iter().all(|kind| *kind == Playout::Decoded), "no frame invented");
    }

    /// Plays `frames` frames, one packet sent per frame, each arriving `lateness(index)`
    /// frames late; the buffer's target depth after each frame.
    fn depths_with_late_packets(frames: usize, lateness: impl Fn(usize) -> usize) -> Vec<usize> {
        let packets = packets(frames);
        let mut buffer = JitterBuffer::new().unwrap();
        let mut out = AudioFrame::default();
        let mut in_flight: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        let mut depths = Vec::new();
        for frame in 0..frames {
            in_flight.entry(frame + lateness(frame)).or_default().push(frame);
            for index in in_flight.remove(&frame).unwrap_or_default() {
                buffer.push(index as u16, packets[index].clone());
            }
            buffer.pop(&mut out);
            depths.push(buffer.target_depth());
        }
        depths
    }

    #[test]
    fn a_lone_late_packet_adds_delay_for_about_a_second() {
        let depths = depths_with_late_packets(600, |index| usize::from(index == 100));
        assert_eq!(depths[99], MIN_DEPTH);
        assert!(depths[101] > MIN_DEPTH, "the late packet deepens the buffer");
        let deep_frames = depths.iter().filter(|&&depth| depth > MIN_DEPTH).count();
        assert!(
            deep_frames <= MIN_HOLD as usize + 2,
            "deeper for {deep_frames} frames after one late packet"
        );
    }

    #[test]
    fn packets_late_again_and_again_keep_the_buffer_deep_longer() {
        // A packet late every 1.2 s: soon after each shrink, so the hold grows, up to 10 s.
        let depths = depths_with_late_packets(1_500, |index| usize::from(index % 60 == 30));
        let deep_late = depths[1_000..].iter().filter(|&&depth| depth > MIN_DEPTH).count();
        assert!(
            deep_late >= 450,
            "deeper {deep_late} of the last 500 frames: {depths:?}"
        );
    }

    #[test]
    fn a_rough_start_does_not_keep_its_delay() {
        // The first 4 s: packets up to 5 frames late (joins, a busy machine); then calm.
        let depths = depths_with_late_packets(1_500, |index| if index < 200 { index % 6 } else { 0 });
        assert!(depths[199] >= 4, "deep after the rough start: {}", depths[199]);
        // Held at most 10 s, then a frame shallower each second.
        let back = depths.iter().rposition(|&depth| depth > MIN_DEPTH).unwrap_or(0);
        assert!(back < 200 + 500 + 10 * 50, "shallow again only after frame {back}");
    }

    #[test]
    fn garbage_packets_are_concealed_not_fatal() {
        let mut buffer = JitterBuffer::new().unwrap();
        let mut out = AudioFrame::default();
        for sequence in 0..4u16 {
            buffer.push(sequence, vec![0xFF; 3]);
        }
        for _ in 0..4 {
            assert_ne!(buffer.pop(&mut out), Playout::Decoded);
            assert!(out.samples.iter().all(|s| s.is_finite()));
        }
    }
}
