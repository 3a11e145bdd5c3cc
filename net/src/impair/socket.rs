//! The impairment placed under WebRTC: a [`Runtime`] that runs everything on tokio but hands
//! the connection sockets whose sends go through an [`ImpairedLink`].

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use webrtc::runtime::{
    AsyncInterval, AsyncTcpListener, AsyncTcpStream, AsyncUdpSocket, JoinHandle, RecvMeta, Runtime, TokioRuntime,
    Transmit,
};

use super::{ImpairedLink, Impairment};

/// Datagrams waiting for their arrival time, beyond which more are dropped (memory bound
/// whatever the settings).
const MAX_WAITING: usize = 20_000;

/// A tokio runtime for WebRTC whose UDP sockets send through an impaired link. Every socket
/// gets its own seeded link, numbered in the order the sockets are made. The conditions can
/// change while connections run (a test making the network worse, then better).
#[derive(Debug)]
pub struct ImpairedRuntime {
    control: Arc<Control>,
    sockets_made: AtomicU64,
}

/// The conditions every socket of one runtime reads at each send.
#[derive(Debug)]
struct Control {
    impairment: Mutex<Impairment>,
    /// While set, every datagram is dropped: the network is down.
    outage: AtomicBool,
}

impl Control {
    fn impairment(&self) -> Impairment {
        *self.impairment.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl ImpairedRuntime {
    /// A runtime whose sockets behave as `impairment`.
    pub fn new(impairment: Impairment) -> Self {
        Self {
            control: Arc::new(Control {
                impairment: Mutex::new(impairment),
                outage: AtomicBool::new(false),
            }),
            sockets_made: AtomicU64::new(0),
        }
    }

    /// From now on, sockets behave as `impairment` (their seeds stay as they were).
    pub fn set(&self, impairment: Impairment) {
        *self.control.impairment.lock().unwrap_or_else(PoisonError::into_inner) = impairment;
    }

    /// While `down`, nothing gets through (a cable pulled, a Wi-Fi drop).
    pub fn set_outage(&self, down: bool) {
        self.control.outage.store(down, Ordering::Relaxed);
    }
}

impl Runtime for ImpairedRuntime {
    fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send>>) -> Box<dyn JoinHandle> {
        TokioRuntime.spawn(future)
    }

    fn spawn_reactor(&self, pool_size: usize, future: Pin<Box<dyn Future<Output = ()> + Send>>) -> Box<dyn JoinHandle> {
        TokioRuntime.spawn_reactor(pool_size, future)
    }

    fn wrap_udp_socket(&self, socket: std::net::UdpSocket) -> io::Result<Arc<dyn AsyncUdpSocket>> {
        let inner = TokioRuntime.wrap_udp_socket(socket)?;
        let stream = self.sockets_made.fetch_add(1, Ordering::Relaxed);
        let link = ImpairedLink::new(self.control.impairment().seed, stream);
        Ok(ImpairedSocket::start(inner, link, Arc::clone(&self.control)))
    }

    fn wrap_tcp_listener(&self, listener: std::net::TcpListener) -> io::Result<Arc<dyn AsyncTcpListener>> {
        TokioRuntime.wrap_tcp_listener(listener)
    }

    fn connect_tcp<'a>(
        &'a self,
        remote_addr: SocketAddr,
    ) -> Pin<Box<dyn Future<Output = io::Result<Arc<dyn AsyncTcpStream>>> + Send + 'a>> {
        TokioRuntime.connect_tcp(remote_addr)
    }

    fn resolve_host<'a>(
        &'a self,
        host: &'a str,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        Box::pin(async move { TokioRuntime.resolve_host(host).await })
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        TokioRuntime.sleep(duration)
    }

    fn interval(&self, period: Duration) -> Box<dyn AsyncInterval> {
        TokioRuntime.interval(period)
    }

    fn block_on(&self, future: Pin<Box<dyn Future<Output = ()> + '_>>) {
        TokioRuntime.block_on(future);
    }

    fn yield_now(&self) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        TokioRuntime.yield_now()
    }

    fn name(&self) -> &'static str {
        "tokio-impaired"
    }
}

/// A datagram on its way.
struct Waiting {
    arrives: Instant,
    /// Keeps datagrams with the same arrival time in sending order.
    order: u64,
    destination: SocketAddr,
    contents: Vec<u8>,
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

/// What the socket and its delivery task share.
struct Queue {
    link: ImpairedLink,
    waiting: BinaryHeap<Reverse<Waiting>>,
    sent: u64,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Wakes the delivery task when a datagram is queued or the socket is dropped.
    wake: Notify,
    /// The socket is gone: the delivery task ends.
    closed: AtomicBool,
}

/// A UDP socket whose sends are lost, delayed and reordered by an [`ImpairedLink`]; receiving
/// is untouched. Sends always succeed at once, as on a real lossy path.
#[derive(Debug)]
struct ImpairedSocket {
    inner: Arc<dyn AsyncUdpSocket>,
    shared: Arc<Shared>,
    control: Arc<Control>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ImpairedQueue")
    }
}

impl ImpairedSocket {
    /// Wraps `inner` and starts the task that delivers its datagrams when they are due.
    fn start(inner: Arc<dyn AsyncUdpSocket>, link: ImpairedLink, control: Arc<Control>) -> Arc<dyn AsyncUdpSocket> {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue {
                link,
                waiting: BinaryHeap::new(),
                sent: 0,
            }),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
        });
        tokio::spawn(deliver(Arc::clone(&inner), Arc::clone(&shared)));
        Arc::new(Self { inner, shared, control })
    }
}

impl Drop for ImpairedSocket {
    fn drop(&mut self) {
        // The delivery task sees the socket gone and ends.
        self.shared.closed.store(true, Ordering::Relaxed);
        self.shared.wake.notify_one();
    }
}

impl AsyncUdpSocket for ImpairedSocket {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn poll_send(&self, _cx: &mut Context<'_>, transmit: &Transmit<'_>) -> Poll<io::Result<usize>> {
        let now = Instant::now();
        let down = self.control.outage.load(Ordering::Relaxed);
        let impairment = self.control.impairment();
        let segment = transmit.segment_size.unwrap_or(transmit.contents.len()).max(1);
        let mut queue = self.shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
        for datagram in transmit.contents.chunks(segment) {
            let arrives = queue.link.admit(&impairment, now, datagram.len());
            let Some(arrives) = arrives.filter(|_| !down && queue.waiting.len() < MAX_WAITING) else {
                continue;
            };
            queue.sent += 1;
            let order = queue.sent;
            queue.waiting.push(Reverse(Waiting {
                arrives,
                order,
                destination: transmit.destination,
                contents: datagram.to_vec(),
            }));
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
        self.inner.poll_recv(cx, bufs, meta)
    }

    fn max_gro_segments(&self) -> usize {
        self.inner.max_gro_segments()
    }
}

/// Sends each queued datagram at its arrival time, until the socket is dropped.
async fn deliver(socket: Arc<dyn AsyncUdpSocket>, shared: Arc<Shared>) {
    while !shared.closed.load(Ordering::Relaxed) {
        let due = {
            let mut queue = shared.queue.lock().unwrap_or_else(PoisonError::into_inner);
            match queue.waiting.peek() {
                Some(Reverse(next)) if next.arrives <= Instant::now() => queue.waiting.pop().map(|Reverse(d)| Ok(d)),
                Some(Reverse(next)) => Some(Err(next.arrives)),
                None => None,
            }
        };
        // A send between the look above and the wait below leaves a permit: no wake is lost.
        match due {
            Some(Ok(datagram)) => {
                if let Err(error) = socket.send_to(&datagram.contents, datagram.destination).await {
                    tracing::trace!(%error, "impaired datagram not sent");
                }
            }
            Some(Err(next)) => {
                let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(next));
                tokio::select! {
                    () = sleep => {}
                    () = shared.wake.notified() => {}
                }
            }
            None => shared.wake.notified().await,
        }
    }
}
