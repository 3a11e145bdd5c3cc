//! A video decoder on its own thread, fed access units, publishing to a [`VideoSlot`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use crate::codec::H264Decoder;
use crate::frame::VideoFrame;
use crate::slot::VideoSlot;

/// Access units waiting to be decoded before new ones are dropped.
const QUEUE: usize = 8;

/// Running totals a decoder thread keeps for statistics.
#[derive(Debug, Default)]
pub struct DecodeStats {
    frames: AtomicU64,
    errors: AtomicU64,
    decode_time_us: AtomicU64,
    width: AtomicU32,
    height: AtomicU32,
}

impl DecodeStats {
    /// Frames decoded so far.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    /// Access units the decoder refused so far (damaged, or missing what they refer to):
    /// while this grows, the picture is stuck until the sender sends a keyframe.
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Time spent decoding so far, in microseconds.
    pub fn decode_time_us(&self) -> u64 {
        self.decode_time_us.load(Ordering::Relaxed)
    }

    /// Size of the last decoded picture.
    pub fn frame_size(&self) -> (u32, u32) {
        (self.width.load(Ordering::Relaxed), self.height.load(Ordering::Relaxed))
    }
}

/// One H.264 stream's decoder thread. Dropping it stops the thread without waiting.
pub struct VideoDecoderThread {
    stats: Arc<DecodeStats>,
    units: Option<SyncSender<Vec<u8>>>,
    _thread: JoinHandle<()>,
}

impl VideoDecoderThread {
    /// Starts a thread named `name` that decodes into `slot` and calls `on_frame` after each
    /// published frame (to ask the UI for a repaint).
    pub fn start(name: &str, slot: Arc<VideoSlot>, on_frame: impl Fn() + Send + 'static) -> std::io::Result<Self> {
        let (units, queue) = sync_channel(QUEUE);
        let decoder = H264Decoder::new().map_err(std::io::Error::other)?;
        let stats = Arc::new(DecodeStats::default());
        let thread_stats = Arc::clone(&stats);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || decode_loop(decoder, queue, &slot, &thread_stats, &on_frame))?;
        Ok(Self {
            stats,
            units: Some(units),
            _thread: thread,
        })
    }

    /// The thread's running totals.
    pub fn stats(&self) -> Arc<DecodeStats> {
        Arc::clone(&self.stats)
    }

    /// Queues one access unit (Annex B). False when the queue was full and the unit was
    /// dropped: the caller should ask the sender for a keyframe.
    pub fn push(&self, unit: Vec<u8>) -> bool {
        match self.units.as_ref().map(|units| units.try_send(unit)) {
            Some(Ok(())) => true,
            Some(Err(TrySendError::Full(_) | TrySendError::Disconnected(_))) | None => false,
        }
    }
}

impl Drop for VideoDecoderThread {
    fn drop(&mut self) {
        // Closing the queue ends the loop after the unit in hand.
        self.units.take();
    }
}

fn decode_loop(
    mut decoder: H264Decoder,
    queue: Receiver<Vec<u8>>,
    slot: &VideoSlot,
    stats: &DecodeStats,
    on_frame: &dyn Fn(),
) {
    let mut frame = VideoFrame::default();
    while let Ok(unit) = queue.recv() {
        let started = std::time::Instant::now();
        let decoded = decoder.decode(&unit, &mut frame);
        stats
            .decode_time_us
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        match decoded {
            Ok(true) => {
                stats.frames.fetch_add(1, Ordering::Relaxed);
                stats.width.store(frame.width(), Ordering::Relaxed);
                stats.height.store(frame.height(), Ordering::Relaxed);
                slot.publish(&mut frame);
                on_frame();
            }
            Ok(false) => {}
            Err(error) => {
                stats.errors.fetch_add(1, Ordering::Relaxed);
                tracing::trace!(%error, "undecodable access unit");
            }
        }
    }
}
