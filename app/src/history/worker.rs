//! The history's thread: it owns the database connection, writes each record as it comes
//! and answers the home screen's questions, so the window never waits for the disk. While
//! a meeting is on, it marks it as still going every few seconds, so that a meeting whose
//! program was killed still shows about when it ended.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::records::{MeetingDetails, MeetingId, MeetingSummary, Record, now_ms};
use super::{Answer, Session, export, schema, store};

/// How often a meeting in progress is marked as still going.
pub const HEARTBEAT: Duration = Duration::from_secs(2);

/// What the thread is asked to do, in order.
pub enum Request {
    /// Write something about the meeting a recorder calls `session`.
    Record {
        /// Which meeting in progress.
        session: Session,
        /// What happened.
        record: Record,
    },
    /// The most recent meetings, newest first.
    Recent {
        /// How many at most.
        limit: usize,
        /// Where the answer goes.
        reply: SyncSender<Answer<Vec<MeetingSummary>>>,
    },
    /// Everything about one meeting.
    Details {
        /// Which.
        id: MeetingId,
        /// Where the answer goes.
        reply: SyncSender<Answer<Option<MeetingDetails>>>,
    },
    /// Forget one meeting.
    Delete(MeetingId),
    /// Forget every meeting.
    Clear,
    /// Write one meeting's chat as text into `folder`.
    ExportChat {
        /// Which meeting.
        id: MeetingId,
        /// Into which folder.
        folder: PathBuf,
        /// Where the file's path goes.
        reply: SyncSender<Answer<PathBuf>>,
    },
}

/// Starts the thread on the database at `path`. It ends once every sender is gone, after
/// the requests already sent; `finished` is closed then.
pub fn spawn(path: PathBuf, requests: Receiver<Request>, finished: SyncSender<()>) -> std::io::Result<()> {
    std::thread::Builder::new().name("history".into()).spawn(move || {
        let mut worker = Worker::open(&path);
        worker.run(&requests);
        drop(finished);
    })?;
    Ok(())
}

/// The thread's state.
struct Worker {
    /// The database, or why it could not be opened.
    connection: Result<Connection, String>,
    /// The meeting each recorder writes about, and whether it is still going.
    meetings: HashMap<Session, (MeetingId, bool)>,
    last_beat: Instant,
}

impl Worker {
    fn open(path: &Path) -> Self {
        let connection = schema::open(path).map_err(|error| {
            tracing::warn!(path = %path.display(), %error, "the history cannot be opened; meetings are not recorded");
            format!("The history of meetings cannot be opened: {error}")
        });
        Self {
            connection,
            meetings: HashMap::new(),
            last_beat: Instant::now(),
        }
    }

    fn run(&mut self, requests: &Receiver<Request>) {
        loop {
            match requests.recv_timeout(HEARTBEAT) {
                Ok(request) => self.handle(request),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return,
            }
            if self.last_beat.elapsed() >= HEARTBEAT {
                self.last_beat = Instant::now();
                self.beat();
            }
        }
    }

    fn handle(&mut self, request: Request) {
        match request {
            Request::Record { session, record } => self.record(session, &record),
            Request::Recent { limit, reply } => {
                let _ = reply.try_send(self.read(|connection| store::recent(connection, limit)));
            }
            Request::Details { id, reply } => {
                let _ = reply.try_send(self.read(|connection| store::details(connection, id)));
            }
            Request::Delete(id) => self.change(|connection| store::delete(connection, id)),
            Request::Clear => self.change(store::clear),
            Request::ExportChat { id, folder, reply } => {
                let answer = self
                    .read(|connection| store::details(connection, id))
                    .and_then(|details| details.ok_or_else(|| "That meeting is no longer in the history.".to_owned()))
                    .and_then(|details| export::write_chat(&details, &folder));
                let _ = reply.try_send(answer);
            }
        }
    }

    fn record(&mut self, session: Session, record: &Record) {
        let Ok(connection) = &self.connection else { return };
        let meeting = self.meetings.get(&session).map(|(id, _)| *id);
        match store::write(connection, meeting, record) {
            Ok(Some(id)) => {
                let going = !matches!(record, Record::Ended { .. });
                self.meetings.insert(session, (id, going));
            }
            Ok(None) => tracing::debug!("a record before the meeting started was left out"),
            Err(error) => tracing::warn!(%error, "could not write to the history"),
        }
    }

    /// Marks every meeting in progress as still going.
    fn beat(&self) {
        let Ok(connection) = &self.connection else { return };
        let now = now_ms();
        for (id, _) in self.meetings.values().filter(|(_, going)| *going) {
            if let Err(error) = store::touch(connection, *id, now) {
                tracing::warn!(%error, "could not mark the meeting as going on in the history");
            }
        }
    }

    fn read<T>(&self, query: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Answer<T> {
        let connection = self.connection.as_ref().map_err(Clone::clone)?;
        query(connection).map_err(|error| {
            tracing::warn!(%error, "could not read the history");
            format!("The history of meetings could not be read: {error}")
        })
    }

    fn change(&self, change: impl FnOnce(&Connection) -> rusqlite::Result<()>) {
        if let Ok(connection) = &self.connection
            && let Err(error) = change(connection)
        {
            tracing::warn!(%error, "could not change the history");
        }
    }
}
