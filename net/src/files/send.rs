//! The sending side of one transfer: the file, read as it goes, onto the channel a receiver
//! opened.

use std::path::Path;
use std::sync::Arc;

use bytes::BytesMut;
use ring::digest::{Context, SHA256};
use tokio::io::AsyncReadExt;
use webrtc::data_channel::{DataChannel, DataChannelEvent};

use super::{CHUNK_BYTES, Canceller, Control, Meter, Outcome, ProgressSink, hex};

/// Sends the `size` bytes of the file at `path` on `channel`, then their hash, and waits
/// for the receiver to say it has them; stops when `cancel` is used or the receiver cancels.
/// The file is read a chunk at a time, so memory stays flat however large it is.
pub async fn send(
    channel: Arc<dyn DataChannel>,
    path: &Path,
    size: u64,
    progress: ProgressSink,
    cancel: Canceller,
) -> Outcome {
    let outcome = stream(channel.as_ref(), path, size, progress, &cancel).await;
    let reason = match &outcome {
        Outcome::Failed(reason) => Some(reason.clone()),
        Outcome::Cancelled { by_us: true, .. } => Some("the sender cancelled".into()),
        _ => None,
    };
    // Otherwise the receiver has said its last word.
    if let Some(reason) = reason {
        Control::Cancel { reason }.say_last(channel.as_ref()).await;
    }
    outcome
}

async fn stream(
    channel: &dyn DataChannel,
    path: &Path,
    size: u64,
    progress: ProgressSink,
    cancel: &Canceller,
) -> Outcome {
    let mut file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        Err(error) => return Outcome::Failed(format!("could not read {}: {error}", path.display())),
    };
    let mut meter = Meter::new(size, progress);
    let mut hash = Context::new(&SHA256);
    let mut sent: u64 = 0;
    let mut ended = false;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return Outcome::Cancelled { by_us: true, reason: None },
            event = channel.poll() => match event {
                Some(DataChannelEvent::OnMessage(message)) if message.is_string => {
                    match serde_json::from_slice::<Control>(&message.data) {
                        Ok(Control::Received) if ended => return Outcome::Delivered,
                        Ok(Control::Cancel { reason }) => return Outcome::Cancelled { by_us: false, reason: Some(reason) },
                        _ => return Outcome::Failed("the receiver sent something unexpected".into()),
                    }
                }
                Some(DataChannelEvent::OnMessage(_)) => {
                    return Outcome::Failed("the receiver sent something unexpected".into());
                }
                Some(DataChannelEvent::OnClose) | None => {
                    return Outcome::Failed("the connection to the receiver closed".into());
                }
                Some(_) => {}
            },
            ready = channel.writable(), if !ended => {
                if ready.is_err() {
                    return Outcome::Failed("the connection to the receiver closed".into());
                }
                let want = (size - sent).min(CHUNK_BYTES as u64) as usize;
                if want == 0 {
                    let sha256 = hex(hash.clone().finish().as_ref());
                    Control::End { sha256 }.send_on(channel).await;
                    ended = true;
                    continue;
                }
                let mut chunk = BytesMut::zeroed(want);
                match file.read_exact(&mut chunk).await {
                    Ok(_) => {}
                    Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
                        return Outcome::Failed("the file became shorter after it was offered".into());
                    }
                    Err(error) => return Outcome::Failed(format!("could not read {}: {error}", path.display())),
                }
                hash.update(&chunk);
                if channel.send(chunk).await.is_err() {
                    return Outcome::Failed("the connection to the receiver closed".into());
                }
                sent += want as u64;
                meter.add(want);
            }
        }
    }
}
