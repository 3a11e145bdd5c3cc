//! Files in the meeting, as the actor runs them: offers out through the host, the offers
//! we have seen, and a task for each transfer (see [`crate::files`] for how they travel).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use webrtc::data_channel::DataChannel;

use super::emitter::Emitter;
use super::{Actor, Event, FileOffer, Problem};
use crate::files::receive::SaveTo;
use crate::files::{self, Canceller, Outcome, Progress, ProgressSink, Request, name::safe_file_name, size_text};
use crate::peer::{DATA_CHANNEL, PeerLink};
use crate::protocol::{ClientMessage, PeerId};

impl Problem {
    fn file(message: String) -> Self {
        Self::File { message }
    }
}

/// One of our offers.
struct OwnOffer {
    path: PathBuf,
    size: u64,
    to: Option<PeerId>,
}

/// Which transfer: the offer's number, the other side, and whether we send.
type TransferKey = (u64, PeerId, bool);

/// The actor's part of files.
#[derive(Default)]
pub(super) struct Files {
    /// The largest file the host takes; `None` when it takes none.
    max_bytes: Option<u64>,
    next_token: u64,
    /// Offers on their way through the host, by our token.
    pending: HashMap<u64, OwnOffer>,
    /// Our offers, by number.
    own: HashMap<u64, OwnOffer>,
    /// Others' offers to us, by number.
    offered: HashMap<u64, FileOffer>,
    /// Requests for our offers that came before the host's word of their number (the
    /// receiver may hear of an offer first), with when they came.
    early: Vec<(PeerId, Request, Arc<dyn DataChannel>, Instant)>,
    /// Transfers under way; each removes itself when it ends.
    running: Arc<Mutex<HashMap<TransferKey, Canceller>>>,
}

impl Files {
    /// Files as a host taking files of up to `max_bytes` (none: `None`) has them at first.
    pub(super) fn new(max_bytes: Option<u64>) -> Self {
        Self {
            max_bytes,
            ..Self::default()
        }
    }

    /// A running transfer's canceller, kept until the transfer ends.
    fn start(&self, key: TransferKey) -> Canceller {
        let canceller = Canceller::default();
        lock(&self.running).insert(key, canceller.clone());
        canceller
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Tells progress of `key` as events.
fn progress_sink(events: &Arc<Emitter>, (seq, peer, sending): TransferKey) -> ProgressSink {
    let events = Arc::clone(events);
    Arc::new(move |progress: Progress| {
        events.emit(Event::FileProgress {
            seq,
            peer,
            sending,
            progress,
        });
    })
}

impl Actor {
    /// Offers the file at `path` to everyone or to `to`.
    pub(super) fn offer_file(&mut self, path: PathBuf, to: Option<PeerId>) -> Result<(), Problem> {
        let metadata = std::fs::metadata(&path)
            .map_err(|error| Problem::file(format!("could not read {}: {error}", path.display())))?;
        if !metadata.is_file() {
            return Err(Problem::file(format!("{} is not a file", path.display())));
        }
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let size = metadata.len();
        let Some(limit) = self.files.max_bytes else {
            return Err(Problem::file("this meeting's host does not take files".into()));
        };
        if size > limit {
            return Err(Problem::file(format!(
                "\"{}\" is {}; this meeting takes files of up to {}",
                safe_file_name(&name),
                size_text(size),
                size_text(limit)
            )));
        }
        self.files.next_token += 1;
        let token = self.files.next_token;
        self.files.pending.insert(token, OwnOffer { path, size, to });
        self.tell_host(ClientMessage::OfferFile { token, name, size, to });
        Ok(())
    }

    /// The host passed on an offer: ours (now numbered) or someone's for us.
    pub(super) fn on_file_offered(&mut self, offer: FileOffer, token: u64) {
        if offer.from == self.you {
            if let Some(own) = self.files.pending.remove(&token) {
                self.files.own.insert(offer.seq, own);
            }
            let early = std::mem::take(&mut self.files.early);
            for (from, request, channel, at) in early {
                if request.file == offer.seq {
                    self.send_file(from, request, channel);
                } else {
                    self.files.early.push((from, request, channel, at));
                }
            }
        } else {
            self.files.offered.insert(offer.seq, offer.clone());
        }
        self.emit(Event::FileOffered(offer));
    }

    /// Asks for an offered file and saves it as `to` says.
    pub(super) async fn save_file(&mut self, seq: u64, to: SaveTo) -> Result<(), Problem> {
        let offer = self
            .files
            .offered
            .get(&seq)
            .cloned()
            .ok_or_else(|| Problem::file(format!("no file numbered {seq} was offered to us")))?;
        let key = (seq, offer.from, false);
        if lock(&self.files.running).contains_key(&key) {
            return Err(Problem::file(format!("\"{}\" is being received already", offer.name)));
        }
        let link = self.route_to(offer.from).ok_or_else(|| {
            Problem::file(format!(
                "{} is not connected; \"{}\" cannot be received",
                offer.sender, offer.name
            ))
        })?;
        let request = Request {
            file: seq,
            from: offer.from,
            on_behalf_of: None,
        };
        let canceller = self.files.start(key);
        let progress = progress_sink(&self.events, key);
        let (events, running) = (Arc::clone(&self.events), Arc::clone(&self.files.running));
        tokio::spawn(async move {
            let outcome = match link.open_channel(&request.label()).await {
                Ok(channel) => {
                    let name = safe_file_name(&offer.name);
                    files::receive(channel, &name, offer.size, &to, progress, canceller).await
                }
                Err(error) => Outcome::Failed(format!("could not ask for it: {error}")),
            };
            ended(&events, &running, key, outcome);
        });
        Ok(())
    }

    /// Cancels the transfers of file `seq`: with `peer`, or all.
    pub(super) fn cancel_file(&mut self, seq: u64, peer: Option<PeerId>) {
        for ((file, other, _), canceller) in lock(&self.files.running).iter() {
            if *file == seq && peer.is_none_or(|peer| peer == *other) {
                canceller.cancel();
            }
        }
    }

    /// The link a request for `sender`'s file goes on: to them, or through the forwarding
    /// host.
    fn route_to(&self, sender: PeerId) -> Option<Arc<PeerLink>> {
        let remote = self.remotes.get(&sender).or_else(|| {
            let through_host = self.forwarding && self.host != self.you;
            through_host.then(|| self.remotes.get(&self.host)).flatten()
        })?;
        Some(Arc::clone(&remote.link))
    }

    /// `from` opened a data channel: a request for one of our files, or (hosting a
    /// forwarding meeting) for someone else's, which we pass on.
    pub(super) async fn on_channel(&mut self, from: PeerId, channel: Arc<dyn DataChannel>) {
        let label = channel.label().await.unwrap_or_default();
        if label == DATA_CHANNEL {
            return;
        }
        let Some(request) = Request::of_label(&label) else {
            tracing::debug!(%from, %label, "a data channel that asks for nothing we know");
            return refuse(channel, "not a request for a file");
        };
        if request.from == self.you {
            self.send_file(from, request, channel);
        } else if self.forwarding && self.host == self.you && request.on_behalf_of.is_none() {
            self.relay_file(from, request, channel);
        } else {
            refuse(channel, "this participant did not offer that file");
        }
    }

    /// Streams our file to whoever `request` (which came from `from`) is for, if it was
    /// offered to them.
    fn send_file(&mut self, from: PeerId, request: Request, channel: Arc<dyn DataChannel>) {
        let receiver = match request.on_behalf_of {
            // Only the forwarding host asks for someone else.
            Some(receiver) if from == self.host && self.forwarding => receiver,
            Some(_) => return refuse(channel, "only the host asks on someone's behalf"),
            None => from,
        };
        let Some(own) = self.files.own.get(&request.file) else {
            // Our word of its number may be on its way still.
            if !self.files.pending.is_empty() {
                let now = Instant::now();
                self.files
                    .early
                    .retain(|(.., at)| now.duration_since(*at) < EARLY_REQUEST_WAIT);
                self.files.early.push((from, request, channel, now));
                return;
            }
            return refuse(channel, "no such file was offered");
        };
        if own.to.is_some_and(|to| to != receiver) {
            tracing::warn!(%receiver, file = request.file, "asked for a file offered to someone else");
            return refuse(channel, "that file was offered to someone else");
        }
        let key = (request.file, receiver, true);
        let canceller = self.files.start(key);
        let progress = progress_sink(&self.events, key);
        let (path, size) = (own.path.clone(), own.size);
        let (events, running) = (Arc::clone(&self.events), Arc::clone(&self.files.running));
        tokio::spawn(async move {
            let outcome = files::send(channel, &path, size, progress, canceller).await;
            ended(&events, &running, key, outcome);
        });
    }

    /// Hosting a forwarding meeting: asks the sender for `from`'s request and joins the two
    /// channels.
    fn relay_file(&mut self, from: PeerId, request: Request, channel: Arc<dyn DataChannel>) {
        let Some(sender) = self.remotes.get(&request.from).map(|remote| Arc::clone(&remote.link)) else {
            return refuse(channel, "the sender has left");
        };
        let upstream = Request {
            on_behalf_of: Some(from),
            ..request
        };
        tokio::spawn(async move {
            match sender.open_channel(&upstream.label()).await {
                Ok(upstream) => files::relay(channel, upstream).await,
                Err(error) => files::refuse(channel, &format!("the host could not reach the sender: {error}")).await,
            }
        });
    }
}

/// Turns down a request, saying why.
fn refuse(channel: Arc<dyn DataChannel>, reason: &'static str) {
    tokio::spawn(async move { files::refuse(channel, reason).await });
}

/// How long a request for one of our offers waits for the host's word of its number.
const EARLY_REQUEST_WAIT: Duration = Duration::from_secs(10);

/// Reports a transfer's end and forgets it.
fn ended(
    events: &Emitter,
    running: &Mutex<HashMap<TransferKey, Canceller>>,
    (seq, peer, sending): TransferKey,
    outcome: Outcome,
) {
    lock(running).remove(&(seq, peer, sending));
    events.emit(Event::FileEnded {
        seq,
        peer,
        sending,
        outcome,
    });
}
