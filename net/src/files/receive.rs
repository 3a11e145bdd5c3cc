//! The receiving side of one transfer: bytes into a `.part` file beside where the file
//! goes, checked, and named only when whole.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ring::digest::{Context, SHA256};
use tokio::io::{AsyncWriteExt, BufWriter};
use webrtc::data_channel::{DataChannel, DataChannelEvent};

use super::name::free_path;
use super::{Canceller, Control, Meter, Outcome, ProgressSink, hex, let_go};

/// Where a received file goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaveTo {
    /// Into this folder, under the offer's name made safe (numbered when it is taken).
    Folder(PathBuf),
    /// This very path, chosen in a save dialog (replaced when it exists).
    File(PathBuf),
}

/// Receives the `size` bytes named `name` (already made safe) on `channel` and saves them
/// as `to` says; stops when `cancel` is used, the sender cancels, sends more than `size`
/// or a hash that does not match. Whatever ends it but success removes the `.part` file.
pub async fn receive(
    channel: Arc<dyn DataChannel>,
    name: &str,
    size: u64,
    to: &SaveTo,
    progress: ProgressSink,
    cancel: Canceller,
) -> Outcome {
    let (folder, part) = match to {
        SaveTo::Folder(folder) => (folder.clone(), free_path(folder, &format!("{name}.part"))),
        SaveTo::File(path) => {
            let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let file_name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let part = free_path(&folder, &format!("{file_name}.part"));
            (folder, part)
        }
    };
    let outcome = match write_part(channel.as_ref(), &folder, &part, size, progress, &cancel).await {
        Ok(()) => finish(&part, name, to).await,
        Err(outcome) => outcome,
    };
    if !matches!(outcome, Outcome::Saved(_)) {
        let _ = tokio::fs::remove_file(&part).await;
    }
    match &outcome {
        // The sender has said its last word.
        Outcome::Saved(_) => Control::Received.send_on(channel.as_ref()).await,
        Outcome::Cancelled { by_us: true, .. } => {
            let reason = "the receiver cancelled".to_owned();
            Control::Cancel { reason }.say_last(channel.as_ref()).await;
        }
        Outcome::Failed(reason) => {
            Control::Cancel { reason: reason.clone() }
                .say_last(channel.as_ref())
                .await
        }
        _ => let_go(channel.as_ref()).await,
    }
    outcome
}

/// Writes the bytes to `part` until the sender's hash comes and matches; `Err` with the
/// outcome otherwise.
async fn write_part(
    channel: &dyn DataChannel,
    folder: &Path,
    part: &Path,
    size: u64,
    progress: ProgressSink,
    cancel: &Canceller,
) -> Result<(), Outcome> {
    let failed = |what: &str, error: std::io::Error| Outcome::Failed(format!("could not {what}: {error}"));
    tokio::fs::create_dir_all(folder)
        .await
        .map_err(|error| failed(&format!("make the folder {}", folder.display()), error))?;
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(part)
        .await
        .map_err(|error| failed(&format!("write {}", part.display()), error))?;
    let mut file = BufWriter::with_capacity(1024 * 1024, file);
    let mut meter = Meter::new(size, progress);
    let mut hash = Context::new(&SHA256);
    let mut received: u64 = 0;
    loop {
        let event = tokio::select! {
            () = cancel.cancelled() => return Err(Outcome::Cancelled { by_us: true, reason: None }),
            event = channel.poll() => event,
        };
        match event {
            Some(DataChannelEvent::OnMessage(message)) if !message.is_string => {
                received += message.data.len() as u64;
                if received > size {
                    return Err(Outcome::Failed(format!(
                        "the sender sent more than the {size} bytes it offered"
                    )));
                }
                hash.update(&message.data);
                file.write_all(&message.data)
                    .await
                    .map_err(|error| failed(&format!("write {}", part.display()), error))?;
                meter.add(message.data.len());
            }
            Some(DataChannelEvent::OnMessage(message)) => match serde_json::from_slice::<Control>(&message.data) {
                Ok(Control::End { sha256 }) => {
                    if received != size {
                        return Err(Outcome::Failed(format!(
                            "the sender stopped after {received} of the {size} bytes it offered"
                        )));
                    }
                    if sha256 != hex(hash.finish().as_ref()) {
                        return Err(Outcome::Failed(
                            "the file arrived damaged (its SHA-256 does not match)".into(),
                        ));
                    }
                    file.flush()
                        .await
                        .map_err(|error| failed(&format!("write {}", part.display()), error))?;
                    file.into_inner()
                        .sync_all()
                        .await
                        .map_err(|error| failed(&format!("write {}", part.display()), error))?;
                    return Ok(());
                }
                Ok(Control::Cancel { reason }) => {
                    return Err(Outcome::Cancelled {
                        by_us: false,
                        reason: Some(reason),
                    });
                }
                _ => return Err(Outcome::Failed("the sender sent something unexpected".into())),
            },
            Some(DataChannelEvent::OnClose) | None => {
                return Err(Outcome::Failed("the connection to the sender closed".into()));
            }
            Some(_) => {}
        }
    }
}

/// Gives the whole `part` file its name: in a folder, a free one (never replacing a file
/// that appeared meanwhile); a chosen path, replaced.
async fn finish(part: &Path, name: &str, to: &SaveTo) -> Outcome {
    let result = match to {
        SaveTo::File(path) => tokio::fs::rename(part, path).await.map(|()| path.clone()),
        SaveTo::Folder(folder) => rename_without_replacing(part, folder, name).await,
    };
    match result {
        Ok(path) => Outcome::Saved(path),
        Err(error) => Outcome::Failed(format!("could not name the file: {error}")),
    }
}

/// Links `part` under a free name in `folder` and removes it: a link, unlike a rename,
/// fails when the name is taken. On file systems without links, a rename to a name found
/// free a moment before.
async fn rename_without_replacing(part: &Path, folder: &Path, name: &str) -> std::io::Result<PathBuf> {
    for _ in 0..100 {
        let path = free_path(folder, name);
        match tokio::fs::hard_link(part, &path).await {
            Ok(()) => {
                tokio::fs::remove_file(part).await?;
                return Ok(path);
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(_) => {
                tokio::fs::rename(part, &path).await?;
                return Ok(path);
            }
        }
    }
    Err(std::io::Error::other("no free name in the folder"))
}
