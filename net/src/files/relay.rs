//! A forwarding host passing one transfer through: the receiver's channel to it, and its
//! channel to the sender, joined.

use std::sync::Arc;

use webrtc::data_channel::{DataChannel, DataChannelEvent};

use super::{Control, let_go};

/// Passes messages both ways between `receiver` and `sender` until either says its last
/// word (or the connection goes). While the receiver's channel is full the sender's is not read, so the
/// sender slows to the receiver's pace.
pub async fn relay(receiver: Arc<dyn DataChannel>, sender: Arc<dyn DataChannel>) {
    loop {
        let (event, to) = tokio::select! {
            event = sender.poll() => (event, &receiver),
            event = receiver.poll() => (event, &sender),
        };
        match event {
            Some(DataChannelEvent::OnMessage(message)) => {
                let (sent, last) = if message.is_string {
                    let Ok(text) = std::str::from_utf8(&message.data) else {
                        break;
                    };
                    let last = matches!(
                        serde_json::from_str(text),
                        Ok(Control::Received | Control::Cancel { .. })
                    );
                    (to.send_text(text).await, last)
                } else {
                    (to.send(message.data).await, false)
                };
                if sent.is_err() || last {
                    break;
                }
            }
            Some(DataChannelEvent::OnClose) | None => break,
            Some(_) => {}
        }
    }
    tokio::join!(let_go(sender.as_ref()), let_go(receiver.as_ref()));
}
