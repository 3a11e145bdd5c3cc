//! A video decoder on its own thread, fed access units, publishing to a [`VideoSlot`].

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use crate::codec::H264Decoder;
use crate::frame::VideoFrame;
use crate::slot::VideoSlot;

/// Access units waiting to be decoded before new ones are dropped.
const QUEUE: usize = 8;

/// One H.264 stream's decoder thread. Dropping it stops the thread without waiting.
pub struct VideoDecoderThread {
    units: Option<SyncSender<Vec<u8>>>,
    _thread: JoinHandle<()>,
}

impl VideoDecoderThread {
    /// Starts a thread named `name` that decodes into `slot` and calls `on_frame` after each
    /// published frame (to ask the UI for a repaint).
    pub fn start(name: &str, slot: Arc<VideoSlot>, on_frame: impl Fn() + Send + 'static) -> std::io::Result<Self> {
        let (units, queue) = sync_channel(QUEUE);
        let decoder = H264Decoder::new().map_err(std::io::Error::other)?;
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || decode_loop(decoder, queue, &slot, &on_frame))?;
        Ok(Self {
            units: Some(units),
            _thread: thread,
        })
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

fn decode_loop(mut decoder: H264Decoder, queue: Receiver<Vec<u8>>, slot: &VideoSlot, on_frame: &dyn Fn()) {
    let mut frame = VideoFrame::default();
    while let Ok(unit) = queue.recv() {
        match decoder.decode(&unit, &mut frame) {
            Ok(true) => {
                slot.publish(&mut frame);
                on_frame();
            }
            Ok(false) => {}
            Err(error) => tracing::trace!(%error, "undecodable access unit"),
        }
    }
}
