//! One window per user: a second launch (a clicked link, or the menu entry again) hands
//! its link to the window already open and ends, instead of opening a second program that
//! fights over the camera.
//!
//! The open window listens on a loopback port and writes it, with a secret, in the config
//! folder; a new launch that reaches it with that secret hands over. A window that crashed
//! leaves the file but nothing listening: the next launch finds nobody answering and takes
//! over, so a crash never blocks a start.

use std::io::{BufRead, BufReader, Read as _, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The file that says where the open window listens.
const INSTANCE_FILE: &str = "window.instance";

/// How long a launch waits for an open window to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_millis(1500);

/// Hand-overs the window has not taken yet, at most; a burst of launches beyond it only
/// brings the window forward.
const HANDOVERS_WAITING: usize = 8;

/// The answer of an open window that took a hand-over.
const TAKEN: &str = "taken";

/// What a launch is.
pub enum Launch {
    /// The only window: what later launches hand over arrives on `handed`.
    First(Handovers),
    /// A window is open and took this launch's link (or was brought to the front).
    HandedOver,
}

/// What later launches hand to this window: a link, or `None` for "come to the front".
pub struct Handovers {
    pub handed: Receiver<Option<String>>,
    waker: Waker,
    file: PathBuf,
    secret: String,
}

/// What wakes the window when a hand-over arrives (it draws nothing while idle).
type Waker = Arc<Mutex<Option<Box<dyn Fn() + Send>>>>;

impl Handovers {
    /// Calls `wake` after each hand-over, so the window takes it at once.
    pub fn wake_with(&self, wake: impl Fn() + Send + 'static) {
        *self.waker.lock().unwrap_or_else(PoisonError::into_inner) = Some(Box::new(wake));
    }
}

impl Drop for Handovers {
    fn drop(&mut self) {
        // Only our own file: a launch after a crash may have written its own since.
        if std::fs::read_to_string(&self.file).is_ok_and(|text| text.contains(&self.secret)) {
            let _ = std::fs::remove_file(&self.file);
        }
    }
}

/// Hands `link` to the window already open, or becomes the first window. Without a config
/// folder, every launch is first.
pub fn claim(link: Option<&str>) -> Launch {
    match crate::folders::config_dir() {
        Some(folder) => claim_in(&folder, link),
        None => Launch::First(Handovers::nowhere()),
    }
}

fn claim_in(folder: &Path, link: Option<&str>) -> Launch {
    let file = folder.join(INSTANCE_FILE);
    if let Some((address, secret)) = read_instance(&file)
        && hand_over(address, &secret, link).is_ok()
    {
        return Launch::HandedOver;
    }
    match listen(&file) {
        Ok(handovers) => Launch::First(handovers),
        Err(error) => {
            tracing::warn!(%error, "later launches will open windows of their own");
            Launch::First(Handovers::nowhere())
        }
    }
}

impl Handovers {
    /// Nothing will ever be handed over.
    fn nowhere() -> Self {
        let (_, handed) = sync_channel(1);
        Self {
            handed,
            waker: Waker::default(),
            file: PathBuf::new(),
            secret: String::new(),
        }
    }
}

/// The address and secret an open window wrote.
fn read_instance(file: &Path) -> Option<(SocketAddr, String)> {
    let text = std::fs::read_to_string(file).ok()?;
    let (port, secret) = text.trim().split_once(' ')?;
    let port = port.parse().ok()?;
    Some((SocketAddr::from((Ipv4Addr::LOCALHOST, port)), secret.to_owned()))
}

/// Gives `link` to the window at `address`; an error when nobody took it.
fn hand_over(address: SocketAddr, secret: &str, link: Option<&str>) -> std::io::Result<()> {
    let mut stream = TcpStream::connect_timeout(&address, ANSWER_TIMEOUT)?;
    stream.set_read_timeout(Some(ANSWER_TIMEOUT))?;
    writeln!(stream, "{secret} {}", link.unwrap_or_default())?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer)?;
    if answer.trim() == TAKEN {
        Ok(())
    } else {
        Err(std::io::Error::other("the window did not take it"))
    }
}

/// Listens for later launches and writes where, readable by this user only.
fn listen(file: &Path) -> std::io::Result<Handovers> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let port = listener.local_addr()?.port();
    let secret = videomeet_net::signaling::session_token();
    if let Some(folder) = file.parent() {
        std::fs::create_dir_all(folder)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    writeln!(options.open(file)?, "{port} {secret}")?;
    let (sender, handed) = sync_channel(HANDOVERS_WAITING);
    let expected = secret.clone();
    let waker = Waker::default();
    let wake = Arc::clone(&waker);
    std::thread::Builder::new()
        .name("single-instance".into())
        .spawn(move || take_handovers(&listener, &expected, &sender, &wake))?;
    Ok(Handovers {
        handed,
        waker,
        file: file.to_path_buf(),
        secret,
    })
}

/// Answers launches until the window is gone (nobody receives any more).
fn take_handovers(listener: &TcpListener, secret: &str, handed: &SyncSender<Option<String>>, wake: &Waker) {
    for stream in listener.incoming().flatten() {
        match take_one(stream, secret) {
            Some(link) => {
                match handed.try_send(link) {
                    // A window that has not looked for a while: it comes forward anyway.
                    Ok(()) | Err(TrySendError::Full(_)) => {}
                    Err(TrySendError::Disconnected(_)) => return,
                }
                if let Some(wake) = wake.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
                    wake();
                }
            }
            None => tracing::debug!("a hand-over without the right secret was ignored"),
        }
    }
}

/// One launch's link (`Some(None)` for none), once its secret is right.
fn take_one(stream: TcpStream, secret: &str) -> Option<Option<String>> {
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).ok()?;
    let mut line = String::new();
    // A link is short; anything longer is not a launch of ours.
    BufReader::new(&stream).take(4096).read_line(&mut line).ok()?;
    let (given, link) = line.trim_end_matches(['\r', '\n']).split_once(' ')?;
    if given != secret {
        return None;
    }
    writeln!(&stream, "{TAKEN}").ok()?;
    Some(Some(link.to_owned()).filter(|link| !link.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> PathBuf {
        let folder = std::env::temp_dir().join(format!("videomeet-instance-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        folder
    }

    #[test]
    fn a_second_launch_hands_its_link_to_the_first_and_a_plain_one_brings_it_forward() {
        let folder = folder("handover");
        let Launch::First(first) = claim_in(&folder, None) else {
            panic!("nothing was open");
        };
        assert!(matches!(
            claim_in(&folder, Some("videomeet://192.168.1.20:47800/ABCD2345")),
            Launch::HandedOver
        ));
        let handed = first.handed.recv_timeout(Duration::from_secs(2)).expect("handed over");
        assert_eq!(handed.as_deref(), Some("videomeet://192.168.1.20:47800/ABCD2345"));
        assert!(matches!(claim_in(&folder, None), Launch::HandedOver));
        assert_eq!(
            first.handed.recv_timeout(Duration::from_secs(2)).expect("handed over"),
            None
        );
        // Closed: its file goes, and the next launch is first.
        drop(first);
        assert!(!folder.join(INSTANCE_FILE).exists());
        assert!(matches!(claim_in(&folder, None), Launch::First(_)));
        let _ = std::fs::remove_dir_all(folder);
    }

    #[test]
    fn a_window_that_crashed_never_blocks_the_next_launch() {
        let folder = folder("crashed");
        std::fs::create_dir_all(&folder).expect("folder");
        // A file left behind, naming a port where nobody listens now.
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        std::fs::write(folder.join(INSTANCE_FILE), format!("{port} old-secret\n")).expect("left behind");
        assert!(matches!(
            claim_in(&folder, Some("videomeet://h:1/ABCD2345")),
            Launch::First(_)
        ));
        // Nor does a damaged file.
        std::fs::write(folder.join(INSTANCE_FILE), "rubbish").expect("damaged");
        assert!(matches!(claim_in(&folder, None), Launch::First(_)));
        let _ = std::fs::remove_dir_all(folder);
    }

    #[test]
    fn a_launch_without_the_secret_hands_nothing_over() {
        let folder = folder("secret");
        let Launch::First(first) = claim_in(&folder, None) else {
            panic!("nothing was open");
        };
        let (address, _) = read_instance(&folder.join(INSTANCE_FILE)).expect("written");
        assert!(hand_over(address, "guessed", Some("videomeet://evil:1/ABCD2345")).is_err());
        assert!(first.handed.recv_timeout(Duration::from_millis(300)).is_err());
        drop(first);
        let _ = std::fs::remove_dir_all(folder);
    }
}
