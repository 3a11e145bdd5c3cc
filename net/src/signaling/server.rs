//! The host's signaling server: accepts WebSocket connections and hands them to the room.

use super::tries::PasscodeTries;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, mpsc};
use tokio::task::JoinHandle;

use super::connection;
use super::room::{Room, RoomEvent};
use super::web::{self, WebIdentity};
use crate::address::DEFAULT_PORT;
use crate::protocol::{MeetingInfo, limits};
use crate::text::{clean_name, clean_text};
use tokio_rustls::TlsAcceptor;

/// What the host decides before the meeting starts.
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// Meeting title (cut to [`limits::MAX_TITLE_CHARS`]).
    pub title: String,
    /// The host's display name.
    pub host_name: String,
    /// Passcode guests must give; `None` for an open meeting.
    pub passcode: Option<String>,
    /// Address to listen on; all interfaces by default.
    pub bind_ip: IpAddr,
    /// Port to listen on; when taken, any free port. 0 picks a free port at once.
    pub port: u16,
    /// Guests wait until the host lets them in ("ask to join").
    pub ask_to_join: bool,
    /// Web origins (`https://host:port`) whose pages may join. Native clients send no
    /// origin and are always heard; a page from any origin not listed is refused.
    pub allowed_origins: Vec<String>,
    /// The host's program forwards everyone's media, so each guest sends and receives over
    /// one connection (see [`crate::forward`]); off, everyone connects to everyone.
    pub forwarding: bool,
    /// With forwarding, while more than this many talk at once, each participant gets the
    /// sound of only the loudest this many; `None` passes everyone's on (see
    /// [`crate::meeting`]'s speakers).
    pub loudest_sounds: Option<usize>,
    /// The certificate the guest page is served with (see [`WebIdentity::load_or_create`]);
    /// `None` makes one for this meeting only.
    pub web_identity: Option<Arc<WebIdentity>>,
    /// The largest file anyone may offer, in bytes; 0 takes none.
    pub max_file_bytes: u64,
    /// Only the host and co-hosts may record the meeting.
    pub no_guest_recording: bool,
    /// Going on with a meeting handed over by its former host: its code, settings and
    /// participants (who come over with the ticket).
    pub takeover: Option<Box<crate::protocol::Takeover>>,
}

/// The largest file anyone may offer unless the host says otherwise: 2 GiB.
pub const MAX_FILE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// How many talkers' sound a forwarding host passes on while many talk at once.
pub const LOUDEST_SOUNDS: usize = 3;

impl HostConfig {
    /// A meeting on all interfaces at the default port.
    pub fn new(title: &str, host_name: &str) -> Self {
        Self {
            title: title.into(),
            host_name: host_name.into(),
            passcode: None,
            bind_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: DEFAULT_PORT,
            ask_to_join: false,
            allowed_origins: Vec::new(),
            forwarding: true,
            loudest_sounds: Some(LOUDEST_SOUNDS),
            web_identity: None,
            max_file_bytes: MAX_FILE_BYTES,
            no_guest_recording: false,
            takeover: None,
        }
    }

    /// The room that goes on with a meeting handed over to us (`takeover`), hosted by
    /// `host_name`, with its title, passcode and settings.
    pub fn taking_over(takeover: crate::protocol::Takeover, host_name: &str) -> Self {
        let meeting = &takeover.meeting;
        Self {
            passcode: takeover.passcode.clone(),
            ask_to_join: takeover.ask_to_join,
            forwarding: meeting.forwarding,
            max_file_bytes: meeting.max_file_bytes.unwrap_or(0),
            no_guest_recording: meeting.no_guest_recording,
            ..Self::new(&meeting.title, host_name)
        }
        .with_takeover(takeover)
    }

    fn with_takeover(mut self, takeover: crate::protocol::Takeover) -> Self {
        self.takeover = Some(Box::new(takeover));
        self
    }
}

/// What every connection task shares.
pub(crate) struct Shared {
    pub meeting: MeetingInfo,
    pub passcode: Option<String>,
    pub host_token: String,
    /// Admits those coming over from the meeting's former host.
    pub rejoin_ticket: Option<String>,
    pub allowed_origins: Vec<String>,
    /// The port it listens on, which the host's own page's origin names.
    pub local_port: u16,
    /// TLS for the guest page and its WebSocket.
    pub tls: TlsAcceptor,
    pub room: mpsc::Sender<RoomEvent>,
    connections: Mutex<ConnectionCounts>,
    tries: Mutex<PasscodeTries>,
    tickets: AtomicU64,
}

#[derive(Default)]
struct ConnectionCounts {
    total: usize,
    per_address: HashMap<IpAddr, usize>,
    /// Connections that have not yet said a `hello` that passed, oldest first, each with
    /// what tells it to make room: when every slot is taken, a newcomer takes the oldest
    /// one's, so idle or slow connections from however many addresses cannot keep people out.
    unproven: VecDeque<(u64, Arc<Notify>)>,
    next_slot: u64,
}

/// Holds one connection slot; gives it back when dropped.
pub(crate) struct ConnectionSlot {
    shared: Arc<Shared>,
    address: IpAddr,
    id: u64,
    make_room: Arc<Notify>,
}

impl ConnectionSlot {
    /// The connection's `hello` passed: it is no longer the first to make room.
    pub(crate) fn proven(&self) {
        self.shared.counts().unproven.retain(|(id, _)| *id != self.id);
    }

    /// Resolves when a newcomer needs this slot (only ever before [`Self::proven`]).
    pub(crate) async fn make_room(&self) {
        self.make_room.notified().await;
    }
}

impl Shared {
    /// Wrong passcodes per address.
    pub(crate) fn tries(&self) -> std::sync::MutexGuard<'_, PasscodeTries> {
        // Every update is one step, so the record stays usable after a panicked holder.
        self.tries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a connection whose handshake carried `origin` may join: one without an
    /// origin is a native client; a web page must be the host's own (see
    /// [`web::is_own_page`]) or come from an origin the host listed. Comparing the origin
    /// with the `Host` header is not enough: after DNS rebinding a hostile site's name
    /// points at the host, and both name it.
    pub(crate) fn trusts_origin(&self, origin: Option<&str>) -> bool {
        origin.is_none_or(|origin| {
            web::is_own_page(origin, self.local_port)
                || self
                    .allowed_origins
                    .iter()
                    .any(|allowed| allowed.trim_end_matches('/').eq_ignore_ascii_case(origin))
        })
    }

    /// A number no other join request of this meeting has.
    pub(crate) fn ticket(&self) -> crate::protocol::KnockId {
        self.tickets.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, ConnectionCounts> {
        // The counts stay consistent even if a holder panicked: every update is one step.
        self.connections.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a connection slot for `address`, if the limits allow one. When all are taken,
    /// the oldest connection still without a passed `hello` is told to make room (it closes
    /// and gives its slot back shortly).
    fn admit(self: &Arc<Self>, address: IpAddr) -> Option<ConnectionSlot> {
        let mut counts = self.counts();
        let from_address = counts.per_address.get(&address).copied().unwrap_or(0);
        if from_address >= limits::CONNECTIONS_PER_ADDRESS {
            return None;
        }
        if counts.total >= limits::MAX_CONNECTIONS {
            let (_, oldest) = counts.unproven.pop_front()?;
            oldest.notify_one();
        }
        counts.total += 1;
        counts.per_address.insert(address, from_address + 1);
        counts.next_slot += 1;
        let (id, make_room) = (counts.next_slot, Arc::new(Notify::new()));
        counts.unproven.push_back((id, Arc::clone(&make_room)));
        Some(ConnectionSlot {
            shared: Arc::clone(self),
            address,
            id,
            make_room,
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut counts = self.shared.counts();
        counts.unproven.retain(|(id, _)| *id != self.id);
        counts.total = counts.total.saturating_sub(1);
        if let Some(count) = counts.per_address.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                counts.per_address.remove(&self.address);
            }
        }
    }
}

/// A running signaling server. Dropping it ends the meeting for everyone.
pub struct SignalingServer {
    local_addr: SocketAddr,
    identity: Arc<WebIdentity>,
    loudest_sounds: Option<usize>,
    shared: Arc<Shared>,
    participant_count: Arc<AtomicUsize>,
    accept_task: JoinHandle<()>,
    room_task: JoinHandle<()>,
}

impl SignalingServer {
    /// Binds the port (or a free one when it is taken) and starts accepting guests.
    pub async fn start(config: HostConfig) -> io::Result<Self> {
        let listener = match TcpListener::bind((config.bind_ip, config.port)).await {
            Err(error) if error.kind() == io::ErrorKind::AddrInUse && config.port != 0 => {
                tracing::info!(port = config.port, "port taken, using a free one");
                TcpListener::bind((config.bind_ip, 0)).await?
            }
            other => other?,
        };
        let local_addr = listener.local_addr()?;
        let identity = match config.web_identity {
            Some(identity) => identity,
            None => Arc::new(WebIdentity::generate(&web::certificate_names()).map_err(io::Error::other)?),
        };
        let tls = identity.acceptor().map_err(io::Error::other)?;
        let taken_over = config.takeover.as_ref().map(|takeover| &takeover.meeting);
        let meeting = MeetingInfo {
            code: taken_over.map_or_else(crate::secret::meeting_code, |meeting| meeting.code.clone()),
            title: clean_text(&config.title, limits::MAX_TITLE_CHARS),
            host_name: clean_name(&config.host_name),
            passcode_required: config.passcode.is_some(),
            started_at_ms: taken_over
                .and_then(|meeting| meeting.started_at_ms)
                .or_else(|| Some(crate::clock_ms())),
            forwarding: config.forwarding,
            max_file_bytes: (config.max_file_bytes > 0).then_some(config.max_file_bytes),
            no_guest_recording: config.no_guest_recording,
        };
        let participant_count = Arc::new(AtomicUsize::new(0));
        let (room_tx, room_rx) = mpsc::channel(1024);
        let mut room = Room::new(meeting.clone(), Arc::clone(&participant_count), config.ask_to_join);
        room.set_passcode(config.passcode.clone());
        let rejoin_ticket = config.takeover.as_ref().map(|takeover| takeover.ticket.clone());
        if let Some(takeover) = config.takeover {
            room.go_on_with(&takeover);
        }
        let room_task = tokio::spawn(room.run(room_rx));
        let shared = Arc::new(Shared {
            meeting,
            passcode: config.passcode.filter(|p| !p.is_empty()),
            host_token: crate::secret::token(),
            rejoin_ticket,
            allowed_origins: config.allowed_origins,
            local_port: local_addr.port(),
            tls,
            room: room_tx,
            connections: Mutex::new(ConnectionCounts::default()),
            tries: Mutex::new(PasscodeTries::default()),
            tickets: AtomicU64::new(0),
        });
        let accept_task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        tracing::info!(%local_addr, code = %shared.meeting.code, "hosting");
        Ok(Self {
            local_addr,
            identity,
            loudest_sounds: config.loudest_sounds,
            shared,
            participant_count,
            accept_task,
            room_task,
        })
    }

    /// The address and port it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The guest page's certificate: its fingerprint is shown beside the page's address.
    pub fn web_identity(&self) -> &WebIdentity {
        &self.identity
    }

    /// See [`HostConfig::loudest_sounds`].
    pub fn loudest_sounds(&self) -> Option<usize> {
        self.loudest_sounds
    }

    /// The meeting as guests see it.
    pub fn meeting(&self) -> &MeetingInfo {
        &self.shared.meeting
    }

    /// The secret that makes a joining client the host.
    pub fn host_token(&self) -> &str {
        &self.shared.host_token
    }

    /// Participants in the meeting now, the host included.
    pub fn participant_count(&self) -> usize {
        self.participant_count.load(Ordering::Relaxed)
    }

    /// Ends the meeting: everyone gets `ended`, then the server stops.
    pub async fn stop(mut self) {
        self.accept_task.abort();
        if self.shared.room.send(RoomEvent::End).await.is_ok() {
            // The room hands `ended` to every connection and finishes; connections flush it
            // and close on their own.
            let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.room_task).await;
        }
    }
}

impl Drop for SignalingServer {
    fn drop(&mut self) {
        self.accept_task.abort();
        // Best effort when dropped without `stop`: the room ends and closes connections.
        let _ = self.shared.room.try_send(RoomEvent::End);
    }
}

/// Connections over the limits told so at once; beyond these, they are closed unanswered.
const REFUSALS_AT_ONCE: usize = 4;

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let refusals = Arc::new(Semaphore::new(REFUSALS_AT_ONCE));
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => match shared.admit(peer.ip()) {
                Some(slot) => {
                    tokio::spawn(web::serve(stream, peer, slot, Arc::clone(&shared)));
                }
                None => {
                    tracing::debug!(%peer, "connection refused: too many connections");
                    // A client gets a clear answer; a flood gets a closed socket.
                    if let Ok(permit) = Arc::clone(&refusals).try_acquire_owned() {
                        tokio::spawn(async move {
                            connection::turn_away(stream).await;
                            drop(permit);
                        });
                    }
                }
            },
            Err(error) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
