//! The impairment placed under WebRTC: a [`Runtime`] that runs everything on tokio but hands
//! the connection sockets whose sends go through an [`ImpairedLink`], and, when asked, whose
//! receptions go through another.

use std::cmp::Reverse;
use std::collections::binary_heap::PeekMut;
use std::collections::{BinaryHeap, VecDeque};
use std::io::{self, IoSliceMut};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use tokio::sync::Notify;
use webrtc::runtime::{AsyncUdpSocket, RecvMeta, Runtime, Transmit};

use super::{ImpairedLink, Impairment};
use crate::sockets::{RoomyRuntime, on_tokio};

/// Datagrams waiting for their arrival time, beyond which more are dropped (memory bound
/// whatever the settings).
const MAX_WAITING: usize = 20_000;

/// Added to a socket's number to seed its receiving link, so that it draws other numbers
/// than every sending link of the runtime.
const DOWNLOAD_STREAM: u64 = 1 << 32;

/// The largest message one receive can fill: the kernel joins GRO-coalesced datagrams into
/// at most 64 KiB.
const LARGEST_MESSAGE: usize = 1 << 16;

/// A tokio runtime for WebRTC whose UDP sockets send through an impaired link, and, when made
/// by [`with_download`](Self::with_download), receive through another. Every socket gets its
/// own seeded links, numbered in the order the sockets are made. The conditions can change
/// while connections run (a test making the network worse, then better).
#[derive(Debug)]
pub struct ImpairedRuntime {
    control: Arc<Control>,
    sockets_made: AtomicU64,
}

/// The conditions every socket of one runtime reads at each send and reception.
#[derive(Debug)]
struct Control {
    /// What sent datagrams meet.
    impairment: Mutex<Impairment>,
    /// What received datagrams meet, when `impairs_download` is set.
    download: Mutex<Impairment>,
    /// Whether sockets pass what they receive through a link; otherwise receiving is
    /// untouched.
    impairs_download: bool,
    /// While set, every datagram is dropped: the network is down.
    outage: AtomicBool,
}

impl Control {
    /// The conditions of sending now.
    fn impairment(&self) -> Impairment {
        *self.impairment.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The conditions of receiving now.
    fn download(&self) -> Impairment {
        *self.download.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the network is down now.
    fn down(&self) -> bool {
        self.outage.load(Ordering::Relaxed)
    }
}

impl ImpairedRuntime {
    /// A runtime whose sockets send as `impairment`; what they receive is untouched.
    pub fn new(impairment: Impairment) -> Self {
        Self::made(impairment, None)
    }

    /// A runtime whose sockets send as `upload` and receive as `download` (a participant on
    /// a narrow Wi-Fi, say). Each socket then runs a task that receives its datagrams ahead
    /// of WebRTC and hands them over when the download link lets them arrive.
    pub fn with_download(upload: Impairment, download: Impairment) -> Self {
        Self::made(upload, Some(download))
    }

    /// A runtime sending as `upload`, receiving as `download` when there is one.
    fn made(upload: Impairment, download: Option<Impairment>) -> Self {
        Self {
            control: Arc::new(Control {
                impairment: Mutex::new(upload),
                download: Mutex::new(download.unwrap_or_default()),
                impairs_download: download.is_some(),
                outage: AtomicBool::new(false),
            }),
            sockets_made: AtomicU64::new(0),
        }
    }

    /// From now on, sockets send as `impairment` (their seeds stay as they were).
    pub fn set(&self, impairment: Impairment) {
        *self.control.impairment.lock().unwrap_or_else(PoisonError::into_inner) = impairment;
    }

    /// From now on, sockets receive as `impairment` (their seeds stay as they were). A
    /// runtime made by [`new`](Self::new) keeps receiving untouched: for it this changes
    /// nothing.
    pub fn set_download(&self, impairment: Impairment) {
        *self.control.download.lock().unwrap_or_else(PoisonError::into_inner) = impairment;
    }

    /// While `down`, nothing gets through (a cable pulled, a Wi-Fi drop): nothing is sent,
    /// and, for a runtime made by [`with_download`](Self::with_download), nothing is
    /// received either.
    pub fn set_outage(&self, down: bool) {
        self.control.outage.store(down, Ordering::Relaxed);
    }
}

impl Runtime for ImpairedRuntime {
    on_tokio!();

    fn wrap_udp_socket(&self, socket: std::net::UdpSocket) -> io::Result<Arc<dyn AsyncUdpSocket>> {
        let inner = RoomyRuntime.wrap_udp_socket(socket)?;
        let stream = self.sockets_made.fetch_add(1, Ordering::Relaxed);
        let upload = ImpairedLink::new(self.control.impairment().seed, stream);
        let download = (self.control.impairs_download)
            .then(|| ImpairedLink::new(self.control.download().seed, stream + DOWNLOAD_STREAM));
        Ok(ImpairedSocket::start(
            inner,
            upload,
            download,
            Arc::clone(&self.control),
        ))
    }

    fn name(&self) -> &'static str {
        "tokio-impaired"
    }
}

/// One datagram, sent or received.
struct Datagram {
    /// The far end: where a sent datagram goes, where a received one comes from.
    peer: SocketAddr,
    /// Our address a received datagram was sent to, when the socket reported it.
    local_ip: Option<IpAddr>,
    contents: Vec<u8>,
}

/// A datagram on its way.
struct Waiting {
    arrives: Instant,
    /// Keeps datagrams with the same arrival time in the order they came.
    order: u64,
    datagram: Datagram,
}

impl PartialEq for Waiting {
    fn eq(&self, other: &Self) -> bool {
        (self.arrives, self.order) == (other.arrives, other.order)
    }
}
impl Eq for Waiting {}
impl PartialOrd for Waiting {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiting {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.arrives, self.order).cmp(&(other.arrives, other.order))
    }
}

/// What a queue has for its reader at some moment.
enum Due {
    /// A datagram whose time has come.
    Now(Datagram),
    /// Nothing yet: the next datagram arrives then, or nothing waits.
    Later(Option<Instant>),
}

/// One direction of a socket: the link deciding the fate of each datagram, and the
/// datagrams it let through waiting for their arrival time.
struct Queue {
    link: ImpairedLink,
    waiting: BinaryHeap<Reverse<Waiting>>,
    /// Datagrams queued so far, which numbers them.
    queued: u64,
}

impl Queue {
    /// An empty queue behind `link`.
    fn new(link: ImpairedLink) -> Self {
        Self {
            link,
            waiting: BinaryHeap::new(),
            queued: 0,
        }
    }

    /// Passes `datagram`, which left at `now`, through the link under `impairment`, and
    /// keeps it until it arrives, unless it is lost, the network is `down` or too many
    /// datagrams wait already.
    fn admit(&mut self, impairment: &Impairment, now: Instant, down: bool, datagram: Datagram) {
        let arrives = self.link.admit(impairment, now, datagram.contents.len());
        let Some(arrives) = arrives.filter(|_| !down && self.waiting.len() < MAX_WAITING) else {
            return;
        };
        self.queued += 1;
        self.waiting.push(Reverse(Waiting {
            arrives,
            order: self.queued,
            datagram,
        }));
    }

    /// Takes the first datagram arrived by `now`, or says when the next one arrives.
    fn next_due(&mut self, now: Instant) -> Due {
        match self.waiting.peek_mut() {
            Some(next) if next.0.arrives <= now => Due::Now(PeekMut::pop(next).0.datagram),
            next => Due::Later(next.map(|next| next.0.arrives)),
        }
    }
}

/// The datagrams of one message: GSO (sending) or GRO (receiving) joins several, `stride`
/// bytes apart (the last one may be shorter). An empty message is one empty datagram.
fn datagrams(message: &[u8], stride: usize) -> impl Iterator<Item = &[u8]> {
    let empty = message.is_empty().then_some(message);
    message.chunks(stride.max(1)).chain(empty)
}

/// Waits until `time`, or forever when there is none.
async fn sleep_until(time: Option<Instant>) {
    match time {
        Some(time) => tokio::time::sleep_until(tokio::time::Instant::from_std(time)).await,
        None => std::future::pending().await,
    }
}

/// What the socket and its tasks share.
struct Shared {
    /// The sending direction.
    queue: Mutex<Queue>,
    /// Wakes the delivery task when a datagram is queued or the socket is dropped.
    wake: Notify,
    /// The socket is gone: its tasks end.
    closed: AtomicBool,
    /// The receiving direction, for a runtime impairing downloads.
    download: Option<Download>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ImpairedQueue")
    }
}

/// The receiving direction of a socket, between its receiving task and `poll_recv`.
struct Download {
    inbox: Mutex<Inbox>,
    /// Wakes the receiving task when the socket is dropped.
    closing: Notify,
}

/// Received datagrams on their way to the reader.
struct Inbox {
    /// Datagrams the download link let through, waiting for their arrival time.
    queue: Queue,
    /// Datagrams arrived, in the order the reader gets them.
    ready: VecDeque<Datagram>,
    /// The error that ended the receiving task, for the reader to see once; nothing comes
    /// after it.
    error: Option<io::Error>,
    /// The reader waiting for a datagram.
    reader: Option<Waker>,
}

impl Download {
    /// An empty receiving direction behind `link`.
    fn new(link: ImpairedLink) -> Self {
        Self {
            inbox: Mutex::new(Inbox {
                queue: Queue::new(link),
                ready: VecDeque::new(),
                error: None,
                reader: None,
            }),
            closing: Notify::new(),
        }
    }

    /// The inbox, whoever else panicked holding it.
    fn inbox(&self) -> std::sync::MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Passes the datagrams of a message received at `now` through the download link.
    fn admit(&self, control: &Control, now: Instant, message: &[u8], meta: &RecvMeta) {
        let (impairment, down) = (control.download(), control.down());
        let mut inbox = self.inbox();
        for contents in datagrams(message, meta.stride) {
            let datagram = Datagram {
                peer: meta.addr,
                local_ip: meta.dst_ip,
                contents: contents.to_vec(),
            };
            inbox.queue.admit(&impairment, now, down, datagram);
        }
    }

    /// Moves the datagrams arrived by `now` to the reader, waking it, and says when the next
    /// one arrives. Arrivals beyond [`MAX_WAITING`] unread are dropped, as a full receive
    /// buffer does.
    fn hand_over(&self, now: Instant) -> Option<Instant> {
        let mut inbox = self.inbox();
        let next = loop {
            match inbox.queue.next_due(now) {
                Due::Now(datagram) if inbox.ready.len() < MAX_WAITING => inbox.ready.push_back(datagram),
                Due::Now(_) => tracing::trace!("impaired datagram dropped: too many unread"),
                Due::Later(next) => break next,
            }
        };
        let reader = if inbox.ready.is_empty() {
            None
        } else {
            inbox.reader.take()
        };
        drop(inbox);
        if let Some(reader) = reader {
            reader.wake();
        }
        next
    }

    /// Keeps `error` for the reader, which the receiving task ends on.
    fn fail(&self, error: io::Error) {
        let mut inbox = self.inbox();
        inbox.error = Some(error);
        let reader = inbox.reader.take();
        drop(inbox);
        if let Some(reader) = reader {
            reader.wake();
        }
    }

    /// Fills `bufs` and `meta` with arrived datagrams, one a message, or hands over the
    /// error that ended the receiving task, or waits.
    fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        let mut inbox = self.inbox();
        if inbox.ready.is_empty() {
            if let Some(error) = inbox.error.take() {
                return Poll::Ready(Err(error));
            }
            inbox.reader = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let mut filled = 0;
        for (buf, meta) in bufs.iter_mut().zip(meta.iter_mut()) {
            let Some(datagram) = inbox.ready.pop_front() else {
                break;
            };
            *meta = copy_out(&datagram, buf);
            filled += 1;
        }
        Poll::Ready(Ok(filled))
    }
}

/// Copies `datagram` into `buf` (cut to its size) and describes it as a message of its own.
fn copy_out(datagram: &Datagram, buf: &mut [u8]) -> RecvMeta {
    let len = datagram.contents.len().min(buf.len());
    buf[..len].copy_from_slice(&datagram.contents[..len]);
    // `RecvMeta` is non-exhaustive: made from the default, then filled in.
    let mut meta = RecvMeta::default();
    meta.addr = datagram.peer;
    meta.len = len;
    // At least 1 even for an empty datagram: WebRTC divides by it to split messages.
    meta.stride = len.max(1);
    meta.dst_ip = datagram.local_ip;
    meta
}

/// A UDP socket whose sends are lost, delayed and reordered by an [`ImpairedLink`], and so
/// are its receptions when it has a [`Download`]; otherwise receiving is untouched. Sends
/// always succeed at once, as on a real lossy path.
#[derive(Debug)]
struct ImpairedSocket {
    inner: Arc<dyn AsyncUdpSocket>,
    shared: Arc<Shared>,
    control: Arc<Control>,
}

impl ImpairedSocket {
    /// Wraps `inner` and starts the task that delivers its datagrams when they are due, and,
    /// with a `download` link, the task that receives them.
    fn start(
        inner: Arc<dyn AsyncUdpSocket>,
        upload: ImpairedLink,
        download: Option<ImpairedLink>,
        control: Arc<Control>,
    ) -> Arc<dyn AsyncUdpSocket> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::new(upload)),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
            download: download.map(Download::new),
        });
        tokio::spawn(deliver(Arc::clone(&inner), Arc::clone(&shared)));
        if shared.download.is_some() {
            tokio::spawn(receive(Arc::clone(&inner), Arc::clone(&shared), Arc::clone(&control)));
        }
        Arc::new(Self { inner, shared, control })
    }
}

impl Drop for ImpairedSocket {
    fn drop(&mut self) {
        // The tasks see the socket gone and end.
        self.shared.closed.store(true, Ordering::Relaxed);
        self.shared.wake.notify_one();
        if let Some(download) = &self.shared.download {
            download.closing.notify_one();
        }
    }
}

impl AsyncUdpSocket for ImpairedSocket {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn poll_send(&self, _cx: &mut Context<'_>, transmit: &Transmit<'_>) -> Poll<io::Result<usize>> {
        let now = Instant::now();
        let (impairment, down) = (self.control.impairment(), self.control.down());
        let segment = transmit.segment_size.unwrap_or(transmit.contents.len());
        let mut queue = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
        for contents in datagrams(transmit.contents, segment) {
            let datagram = Datagram {
                peer: transmit.destination,
                local_ip: None,
                contents: contents.to_vec(),
            };
            queue.admit(&impairment, now, down, datagram);
        }
        drop(queue);
        self.shared.wake.notify_one();
        Poll::Ready(Ok(transmit.contents.len()))
    }

    fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        match &self.shared.download {
            Some(download) => download.poll_recv(cx, bufs, meta),
            None => self.inner.poll_recv(cx, bufs, meta),
        }
    }

    fn max_gro_segments(&self) -> usize {
        // Impaired receptions come one datagram a message.
        if self.shared.download.is_some() {
            1
        } else {
            self.inner.max_gro_segments()
        }
    }
}

/// Sends each queued datagram at its arrival time, until the socket is dropped.
async fn deliver(socket: Arc<dyn AsyncUdpSocket>, shared: Arc<Shared>) {
    while !shared.closed.load(Ordering::Relaxed) {
        let due = shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next_due(Instant::now());
        // A send between the look above and the wait below leaves a permit: no wake is lost.
        match due {
            Due::Now(datagram) => {
                if let Err(error) = socket.send_to(&datagram.contents, datagram.peer).await {
                    tracing::trace!(%error, "impaired datagram not sent");
                }
            }
            Due::Later(next) => {
                tokio::select! {
                    () = sleep_until(next) => {}
                    () = shared.wake.notified() => {}
                }
            }
        }
    }
}

/// Receives the datagrams of `socket`, passes them through the download link and hands
/// them to the reader when they arrive, until the socket is dropped or fails.
async fn receive(socket: Arc<dyn AsyncUdpSocket>, shared: Arc<Shared>, control: Arc<Control>) {
    let Some(download) = &shared.download else {
        return;
    };
    let mut message = vec![0; LARGEST_MESSAGE];
    while !shared.closed.load(Ordering::Relaxed) {
        let next = download.hand_over(Instant::now());
        // A drop between the look above and the wait below leaves a permit: no close is lost.
        let received = tokio::select! {
            received = receive_message(&*socket, &mut message) => received,
            () = sleep_until(next) => continue,
            () = download.closing.notified() => continue,
        };
        match received {
            Ok(meta) => {
                let contents = &message[..meta.len.min(message.len())];
                download.admit(&control, Instant::now(), contents, &meta);
            }
            Err(error) if transient(&error) => tracing::trace!(%error, "impaired reception failed"),
            Err(error) => {
                download.fail(error);
                return;
            }
        }
    }
}

/// Receives one message (perhaps several GRO-coalesced datagrams) into `message`.
async fn receive_message(socket: &dyn AsyncUdpSocket, message: &mut [u8]) -> io::Result<RecvMeta> {
    let mut meta = [RecvMeta::default()];
    let filled = std::future::poll_fn(|cx| socket.poll_recv(cx, &mut [IoSliceMut::new(message)], &mut meta)).await?;
    if filled == 0 {
        // Nothing was received: try again rather than make up an empty datagram.
        return Err(io::ErrorKind::WouldBlock.into());
    }
    Ok(meta[0])
}

/// Whether a receive error concerns one peer or one moment, not the socket: WebRTC's own
/// receive loop carries on after those.
fn transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
            | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use webrtc::runtime::TokioRuntime;

    /// The test traffic: 1000-byte datagrams every 8 ms, 1 Mbps.
    const SIZE: usize = 1000;
    const EVERY: Duration = Duration::from_millis(8);
    /// One second of it.
    const SECOND: usize = 125;

    /// A socket of `runtime` on a free local port.
    fn bound(runtime: &ImpairedRuntime) -> Arc<dyn AsyncUdpSocket> {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket.set_nonblocking(true).expect("non-blocking");
        runtime.wrap_udp_socket(socket).expect("wrap")
    }

    /// Sends `count` datagrams of the test traffic to `receiver` from a plain socket, and says
    /// how long after the start each datagram that came in did (read up to four messages at a
    /// time), until nothing came for half a second.
    async fn arrivals(receiver: &dyn AsyncUdpSocket, count: usize) -> Vec<Duration> {
        let to = receiver.local_addr().expect("address");
        let sender = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let start = Instant::now();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(EVERY);
            for _ in 0..count {
                every.tick().await;
                sender.send_to(&[7; SIZE], to).await.expect("send");
            }
        });
        let mut arrived = Vec::new();
        let mut buffers = [[0; 2 * SIZE]; 4];
        let mut meta = [RecvMeta::default(); 4];
        let quiet = Duration::from_millis(500);
        while let Ok(received) = tokio::time::timeout(
            quiet,
            std::future::poll_fn(|cx| {
                let mut bufs = buffers.each_mut().map(|buf| IoSliceMut::new(buf));
                receiver.poll_recv(cx, &mut bufs, &mut meta)
            }),
        )
        .await
        {
            let filled = received.expect("received");
            for message in &meta[..filled] {
                assert_eq!((message.len, message.stride), (SIZE, SIZE));
                assert_eq!(message.addr.ip(), to.ip());
                arrived.push(start.elapsed());
            }
        }
        arrived
    }

    #[tokio::test]
    async fn a_narrow_download_spaces_arrivals_and_drops_the_overflow() {
        let narrow = "rate=200kbps".parse::<Impairment>().expect("impairment");
        let runtime = ImpairedRuntime::with_download(Impairment::default(), narrow);
        let receiver = bound(&runtime);
        assert_eq!(receiver.max_gro_segments(), 1);
        let arrived = arrivals(&*receiver, SECOND).await;
        // A second at 200 kbps carries 25 datagrams, and the queue about 5 more.
        assert!(
            (20..=40).contains(&arrived.len()),
            "{} of {SECOND} received",
            arrived.len()
        );
        let (first, last) = (arrived[0], arrived[arrived.len() - 1]);
        assert!(
            last - first >= Duration::from_millis(900),
            "all within {:?}",
            last - first
        );
        let rate = (arrived.len() - 1) as f64 * SIZE as f64 * 8.0 / (last - first).as_secs_f64();
        assert!((150_000.0..=250_000.0).contains(&rate), "received at {rate} bps");
    }

    #[tokio::test]
    async fn an_upload_impairment_leaves_receiving_untouched() {
        let narrow = "rate=200kbps".parse::<Impairment>().expect("impairment");
        let runtime = ImpairedRuntime::new(narrow);
        runtime.set_download(narrow);
        let receiver = bound(&runtime);
        let plain = bound(&ImpairedRuntime::new(Impairment::default()));
        assert_eq!(receiver.max_gro_segments(), plain.max_gro_segments());
        let arrived = arrivals(&*receiver, SECOND).await;
        assert_eq!(arrived.len(), SECOND);
        // Each datagram comes in as it is sent, the last about a second after the first.
        let last = arrived[SECOND - 1];
        assert!(last < Duration::from_millis(1500), "the last received after {last:?}");
    }

    #[tokio::test]
    async fn download_conditions_and_outages_apply_while_running() {
        let runtime = ImpairedRuntime::with_download(Impairment::default(), Impairment::default());
        let receiver = bound(&runtime);
        assert_eq!(
            arrivals(&*receiver, 20).await.len(),
            20,
            "nothing lost on a clean download"
        );
        runtime.set_outage(true);
        assert!(arrivals(&*receiver, 20).await.is_empty(), "received through an outage");
        runtime.set_outage(false);
        runtime.set_download("loss=100%".parse().expect("impairment"));
        assert!(arrivals(&*receiver, 20).await.is_empty(), "received through total loss");
        runtime.set_download(Impairment::default());
        assert_eq!(arrivals(&*receiver, 20).await.len(), 20, "nothing lost once repaired");

        // Without a download impairment, an outage stops only what is sent.
        let upload_only = ImpairedRuntime::new(Impairment::default());
        upload_only.set_outage(true);
        assert_eq!(arrivals(&*bound(&upload_only), 20).await.len(), 20);
    }

    #[tokio::test]
    async fn a_dropped_socket_ends_its_tasks() {
        let runtime = ImpairedRuntime::with_download(Impairment::default(), "delay=5s".parse().expect("impairment"));
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket.set_nonblocking(true).expect("non-blocking");
        let inner = TokioRuntime.wrap_udp_socket(socket).expect("wrap");
        let to = inner.local_addr().expect("address");
        let held = Arc::downgrade(&inner);
        let upload = ImpairedLink::new(0, 0);
        let download = Some(ImpairedLink::new(0, DOWNLOAD_STREAM));
        let impaired = ImpairedSocket::start(inner, upload, download, Arc::clone(&runtime.control));
        // A datagram waiting to arrive, and the task waiting to receive more.
        let sender = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        sender.send_to(&[7; SIZE], to).await.expect("send");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(held.strong_count() >= 2, "the tasks hold the socket");
        drop(impaired);
        let ended = Instant::now() + Duration::from_secs(1);
        while held.strong_count() > 0 {
            assert!(Instant::now() < ended, "a task still holds the dropped socket");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[test]
    fn coalesced_messages_split_at_their_stride() {
        let lengths = |message: &[u8], stride| datagrams(message, stride).map(<[u8]>::len).collect::<Vec<_>>();
        assert_eq!(lengths(&[0; 2500], 1000), [1000, 1000, 500]);
        assert_eq!(lengths(&[0; 1000], 1000), [1000]);
        assert_eq!(lengths(&[], 0), [0], "an empty datagram is still one");
    }
}
