//! Reassembles H.264 access units from RTP packets as soon as their last packet is in.
//!
//! A generic sample builder releases a frame only when the first packet of the *next*
//! frame arrives (to learn the frame's duration), which adds a whole frame interval
//! (33 ms at 30 fps) to every frame's latency. Here a frame is released the moment its
//! packets are contiguous up to the marker bit; gaps wait briefly for retransmission.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rtc::rtp::Packet;
use videomeet_media::sequence::SequenceUnwrapper;

use crate::depacketize::Depacketizer;

/// Packets held at most; a stream that never completes a frame cannot grow memory.
pub(crate) const MAX_BUFFERED_PACKETS: usize = 1024;

/// What the assembler hands out.
#[derive(Debug, PartialEq, Eq)]
pub enum Assembled {
    /// A complete access unit in Annex B form.
    Frame(Bytes),
    /// Packets were lost and a frame was given up: the decoder needs a keyframe.
    Lost,
}

/// Puts RTP packets of one H.264 stream back into access units.
pub struct FrameAssembler {
    /// Packets by extended (wrap-free) sequence number, with their arrival time.
    buffer: BTreeMap<u64, (Instant, Packet)>,
    /// Extended sequence number of the next frame's first packet.
    next: Option<u64>,
    sequences: SequenceUnwrapper,
    max_wait: Duration,
}

impl FrameAssembler {
    /// An assembler that waits up to `max_wait` for a missing packet.
    pub fn new(max_wait: Duration) -> Self {
        Self {
            buffer: BTreeMap::new(),
            next: None,
            sequences: SequenceUnwrapper::default(),
            max_wait,
        }
    }

    /// Packets held now.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Takes in one packet that arrived at `now`.
    pub fn push(&mut self, now: Instant, packet: Packet) {
        let sequence = self.sequences.extend(packet.header.sequence_number);
        if self.next.is_some_and(|next| sequence < next) {
            return; // a late copy of something already released or given up
        }
        if self.buffer.len() >= MAX_BUFFERED_PACKETS {
            self.buffer.pop_first();
        }
        self.buffer.insert(sequence, (now, packet));
    }

    /// The next complete frame or loss report, if any.
    pub fn pop(&mut self, now: Instant) -> Option<Assembled> {
        let (&first, _) = self.buffer.first_key_value()?;
        let start = *self.next.get_or_insert(first);
        let timestamp = self.buffer.get(&start).map(|(_, p)| p.header.timestamp);
        let mut expected = start;
        for (&sequence, (_, packet)) in self.buffer.range(start..) {
            let in_frame = sequence == expected && Some(packet.header.timestamp) == timestamp;
            if !in_frame {
                break;
            }
            if packet.header.marker {
                return Some(self.release(start, sequence));
            }
            expected += 1;
        }
        // Incomplete: a packet is missing (or the frame's start or marker was lost). Wait
        // for a retransmission, but not past `max_wait` once later packets are here.
        let oldest = self.buffer.values().map(|(at, _)| *at).min()?;
        let later_data = self.buffer.keys().any(|&s| s > expected);
        if later_data && now.saturating_duration_since(oldest) >= self.max_wait {
            self.give_up_until_next_frame(expected);
            return Some(Assembled::Lost);
        }
        None
    }

    fn release(&mut self, start: u64, end: u64) -> Assembled {
        let mut depacketizer = Depacketizer::default();
        let mut unit = BytesMut::new();
        let mut damaged = false;
        for sequence in start..=end {
            if let Some((_, packet)) = self.buffer.remove(&sequence) {
                damaged |= depacketizer.push(&packet.payload, &mut unit).is_err();
            }
        }
        damaged |= depacketizer.finish().is_err();
        self.next = Some(end + 1);
        if damaged || unit.is_empty() {
            Assembled::Lost
        } else {
            Assembled::Frame(unit.freeze())
        }
    }

    /// Drops the broken frame: everything before the first packet that starts a new
    /// timestamp after `missing`.
    fn give_up_until_next_frame(&mut self, missing: u64) {
        let broken_timestamp = self
            .next
            .and_then(|n| self.buffer.get(&n))
            .map(|(_, p)| p.header.timestamp);
        let resume = self
            .buffer
            .range(missing..)
            .find(|(_, (_, p))| Some(p.header.timestamp) != broken_timestamp)
            .map(|(&s, _)| s);
        match resume {
            Some(resume) => {
                self.buffer = self.buffer.split_off(&resume);
                self.next = Some(resume);
            }
            None => {
                self.buffer.clear();
                self.next = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtp::Header;

    /// A single-NAL packet (type 1, non-IDR slice) with two payload bytes.
    fn packet(sequence: u16, timestamp: u32, marker: bool, byte: u8) -> Packet {
        Packet {
            header: Header {
                sequence_number: sequence,
                timestamp,
                marker,
                ..Default::default()
            },
            payload: Bytes::from(vec![0x41, byte, byte]),
        }
    }

    const START: &[u8] = &[0, 0, 0, 1, 0x41];

    fn frame(bytes: &[u8]) -> Assembled {
        let mut unit = Vec::new();
        for byte in bytes {
            unit.extend_from_slice(START);
            unit.extend_from_slice(&[*byte, *byte]);
        }
        Assembled::Frame(Bytes::from(unit))
    }

    #[test]
    fn a_frame_is_released_on_its_marker_packet() {
        let now = Instant::now();
        let mut assembler = FrameAssembler::new(Duration::from_millis(100));
        assembler.push(now, packet(10, 90, false, 1));
        assert_eq!(assembler.pop(now), None);
        assembler.push(now, packet(11, 90, true, 2));
        assert_eq!(assembler.pop(now), Some(frame(&[1, 2])));
        assert_eq!(assembler.pop(now), None);
    }

    #[test]
    fn reordered_packets_are_put_back_in_order_across_the_wrap() {
        let now = Instant::now();
        let mut assembler = FrameAssembler::new(Duration::from_millis(100));
        assembler.push(now, packet(65_534, 90, false, 1));
        assembler.push(now, packet(0, 90, true, 3));
        assert_eq!(assembler.pop(now), None, "waiting for 65535");
        assembler.push(now, packet(65_535, 90, false, 2));
        assert_eq!(assembler.pop(now), Some(frame(&[1, 2, 3])));
        assembler.push(now, packet(1, 180, true, 4));
        assert_eq!(assembler.pop(now), Some(frame(&[4])));
    }

    #[test]
    fn a_lost_packet_gives_up_its_frame_after_the_wait_and_resumes() {
        let start = Instant::now();
        let mut assembler = FrameAssembler::new(Duration::from_millis(100));
        assembler.push(start, packet(1, 90, false, 1));
        // 2 is lost.
        assembler.push(start, packet(3, 90, true, 3));
        assembler.push(start, packet(4, 180, true, 4));
        assert_eq!(assembler.pop(start + Duration::from_millis(50)), None, "still waiting");
        assert_eq!(assembler.pop(start + Duration::from_millis(100)), Some(Assembled::Lost));
        assert_eq!(assembler.pop(start + Duration::from_millis(100)), Some(frame(&[4])));
        // The retransmission arriving late is ignored.
        assembler.push(start, packet(2, 90, false, 2));
        assert_eq!(assembler.pop(start + Duration::from_millis(100)), None);
    }

    #[test]
    fn garbage_payloads_are_reported_not_panicked_on() {
        let now = Instant::now();
        let mut assembler = FrameAssembler::new(Duration::from_millis(100));
        let mut junk = packet(7, 1, true, 0);
        junk.payload = Bytes::from_static(&[0x7C]); // a one-byte FU-A: too short
        assembler.push(now, junk);
        assert_eq!(assembler.pop(now), Some(Assembled::Lost));
    }
}
