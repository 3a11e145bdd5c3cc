//! A local history of meetings: each meeting joined or hosted, who was there and when, the
//! chat, files and recordings, in an SQLite database in the data folder
//! (`history.sqlite3`).
//!
//! One thread owns the database ([`worker`]); the window and the headless mode only send it
//! messages. A [`Recorder`] turns a meeting's events into records, each written at once,
//! and the home screen asks its questions through [`History`] and picks the answers up
//! when they are ready ([`Pending`]).

mod export;
mod recorder;
mod records;
mod schema;
mod store;
#[cfg(test)]
pub mod testing;
mod times;
mod worker;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

pub use export::file_line;
pub use recorder::Recorder;
pub use records::{Direction, MeetingDetails, MeetingId, MeetingSummary, Said};
pub use times::{Zone, duration_text};
use worker::Request;

/// What a question to the history gets: the answer, or why not in words for the user.
pub type Answer<T> = Result<T, String>;

/// A meeting in progress, as the thread knows which row its records go to.
type Session = u64;

/// Requests waiting for the thread at most; past that a record is left out rather than
/// the window made to wait (the thread writes far faster than meetings talk).
const QUEUE: usize = 512;

/// How long the program waits at its end for the last records to be written.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);

/// The file's name in the data folder.
const FILE_NAME: &str = "history.sqlite3";

/// The way to the history's thread. Clones share the thread, which ends when the last
/// clone is dropped, once it has written what it was sent.
#[derive(Clone)]
pub struct History {
    inner: Arc<Inner>,
}

struct Inner {
    requests: Option<SyncSender<Request>>,
    /// Closed when the thread has ended.
    finished: Mutex<Receiver<()>>,
    sessions: AtomicU64,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.requests.take();
        // Only at the program's end (or a test's): the last records reach the disk.
        let finished = self.finished.get_mut().unwrap_or_else(PoisonError::into_inner);
        let _ = finished.recv_timeout(CLOSE_TIMEOUT);
    }
}

impl History {
    /// The history in the data folder (`VIDEOMEET_DATA_DIR` moves it); `None` when there is
    /// no data folder or no thread could be started.
    pub fn open_default() -> Option<Self> {
        let path = crate::folders::data_dir()?.join(FILE_NAME);
        Self::open(path)
            .inspect_err(|error| tracing::warn!(%error, "the history of meetings could not be started"))
            .ok()
    }

    /// The history in the database at `path`, created if missing. A damaged file is kept
    /// aside and a new one started; one that cannot be opened at all leaves a history that
    /// records nothing and says why when asked.
    pub fn open(path: PathBuf) -> std::io::Result<Self> {
        let (requests, incoming) = sync_channel(QUEUE);
        let (finished_tx, finished) = sync_channel(1);
        worker::spawn(path, incoming, finished_tx)?;
        Ok(Self {
            inner: Arc::new(Inner {
                requests: Some(requests),
                finished: Mutex::new(finished),
                sessions: AtomicU64::new(0),
            }),
        })
    }

    /// A number for a new meeting in progress.
    fn new_session(&self) -> Session {
        self.inner.sessions.fetch_add(1, Ordering::Relaxed)
    }

    /// Hands `request` to the thread without waiting; false if it could not take it.
    fn send(&self, request: Request) -> bool {
        let Some(requests) = &self.inner.requests else {
            return false;
        };
        match requests.try_send(request) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                tracing::warn!("the history is behind: a record was left out");
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    fn ask<T>(&self, request: impl FnOnce(SyncSender<Answer<T>>) -> Request) -> Pending<T> {
        let (reply, answer) = sync_channel(1);
        self.send(request(reply));
        Pending(answer)
    }

    /// The `limit` most recent meetings, newest first.
    pub fn recent(&self, limit: usize) -> Pending<Vec<MeetingSummary>> {
        self.ask(|reply| Request::Recent { limit, reply })
    }

    /// Everything about one meeting (`None` once deleted).
    pub fn details(&self, id: MeetingId) -> Pending<Option<MeetingDetails>> {
        self.ask(|reply| Request::Details { id, reply })
    }

    /// Writes the meeting's chat as a text file in `folder`; the file's path.
    pub fn export_chat(&self, id: MeetingId, folder: PathBuf) -> Pending<PathBuf> {
        self.ask(|reply| Request::ExportChat { id, folder, reply })
    }

    /// Forgets one meeting; questions asked after this see it gone.
    pub fn delete(&self, id: MeetingId) {
        self.send(Request::Delete(id));
    }

    /// Forgets every meeting; questions asked after this see none.
    pub fn clear(&self) {
        self.send(Request::Clear);
    }
}

/// An answer on its way from the history's thread.
pub struct Pending<T>(Receiver<Answer<T>>);

impl<T> Pending<T> {
    /// The answer once it has come (never waits); `None` until then.
    pub fn poll(&self) -> Option<Answer<T>> {
        match self.0.try_recv() {
            Ok(answer) => Some(answer),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err("The history of meetings is not available.".to_owned())),
        }
    }

    /// Waits up to `timeout` for the answer (tests, and the end of a headless meeting).
    #[cfg(test)]
    pub fn wait(self, timeout: Duration) -> Answer<T> {
        self.0
            .recv_timeout(timeout)
            .unwrap_or_else(|error| Err(format!("no answer from the history: {error}")))
    }
}
