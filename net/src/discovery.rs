//! Finding meetings on the LAN with mDNS (DNS-SD): hosts announce, everyone browses.
//!
//! An announcement is a hint, not an identity: anyone on the network can announce anything,
//! so the list only helps people choose; joining still checks the passcode, and two meetings
//! with the same title stay apart by their codes.

use std::collections::BTreeMap;
use std::net::IpAddr;

use mdns_sd::{ServiceDaemon, ServiceEvent, ServiceInfo};

use crate::address::JoinTarget;
use crate::protocol::{MeetingInfo, PROTOCOL_VERSION, limits};
use crate::text::clean_text;

/// The DNS-SD service type Video Meet hosts announce.
pub const SERVICE_TYPE: &str = "_videomeet._tcp.local.";

/// mDNS could not be started (no usable network interface, port 5353 unavailable...).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("meetings on the local network cannot be {action}: {reason}")]
pub struct DiscoveryError {
    action: &'static str,
    reason: String,
}

fn error(action: &'static str) -> impl Fn(mdns_sd::Error) -> DiscoveryError {
    move |e| DiscoveryError {
        action,
        reason: e.to_string(),
    }
}

/// A meeting announced on the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveredMeeting {
    /// The announcement's unique name; tells apart meetings with the same title.
    pub id: String,
    /// Meeting title.
    pub title: String,
    /// Host's display name.
    pub host_name: String,
    /// Meeting code.
    pub code: String,
    /// Joining needs a passcode.
    pub passcode_required: bool,
    /// Participants at the last announcement.
    pub participants: usize,
    /// The host's protocol version.
    pub version: u32,
    /// Where the host can be reached.
    pub addresses: Vec<IpAddr>,
    /// Signaling port.
    pub port: u16,
    /// Someone records the meeting: shown before anyone joins.
    pub recording: bool,
}

impl DiscoveredMeeting {
    /// Where to connect: a LAN IPv4 address (the most likely to be routable), else any
    /// other address; loopback only when there is nothing else (a meeting on this machine).
    pub fn join_target(&self) -> Option<JoinTarget> {
        let address = self
            .addresses
            .iter()
            .find(|a| a.is_ipv4() && !a.is_loopback())
            .or_else(|| self.addresses.iter().find(|a| !a.is_loopback()))
            .or_else(|| self.addresses.first())?;
        Some(JoinTarget {
            host: address.to_string(),
            port: self.port,
            code: Some(self.code.clone()),
        })
    }
}

/// A meeting being announced; dropping it withdraws the announcement with a goodbye, and
/// returns once the goodbye has gone out (a fraction of a second), so that a program can
/// exit right after.
pub struct Announcement {
    daemon: ServiceDaemon,
    meeting: MeetingInfo,
    port: u16,
    fullname: String,
    /// Someone records the meeting.
    recording: bool,
}

impl Announcement {
    /// Announces `meeting`, reachable on `port`, with `participants` in it.
    pub fn start(meeting: &MeetingInfo, port: u16, participants: usize) -> Result<Self, DiscoveryError> {
        let daemon = ServiceDaemon::new().map_err(error("announced"))?;
        let mut announcement = Self {
            daemon,
            meeting: meeting.clone(),
            port,
            fullname: String::new(),
            recording: false,
        };
        announcement.update(participants)?;
        Ok(announcement)
    }

    /// Re-announces with the host's new name, and `participants` in the meeting.
    pub fn rename_host(&mut self, name: &str, participants: usize) -> Result<(), DiscoveryError> {
        self.meeting.host_name = name.to_owned();
        self.update(participants)
    }

    /// Re-announces saying whether someone records the meeting, with `participants` in it.
    pub fn set_recording(&mut self, recording: bool, participants: usize) -> Result<(), DiscoveryError> {
        self.recording = recording;
        self.update(participants)
    }

    /// Re-announces with a new participant count.
    pub fn update(&mut self, participants: usize) -> Result<(), DiscoveryError> {
        let info = service_info(&self.meeting, self.port, participants, self.recording).map_err(error("announced"))?;
        self.fullname = info.get_fullname().to_owned();
        self.daemon.register(info).map_err(error("announced"))
    }
}

/// How long the daemon may take to send the goodbye once asked.
const GOODBYE_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(500);

/// When mdns-sd sends the goodbye a second time, for listeners that missed the first (120 ms
/// after it), with a margin. Shutting the daemon down earlier would cancel the repeat.
const GOODBYE_REPEATED: std::time::Duration = std::time::Duration::from_millis(150);

impl Drop for Announcement {
    fn drop(&mut self) {
        // The goodbye (the records again, with a lifetime of 0) makes browsers drop the
        // meeting at once rather than when the records expire; best effort. The daemon
        // answers once it has sent it on every interface.
        let sent = self
            .daemon
            .unregister(&self.fullname)
            .ok()
            .and_then(|done| done.recv_timeout(GOODBYE_TIMEOUT).ok());
        if matches!(sent, Some(mdns_sd::UnregisterStatus::OK)) {
            std::thread::sleep(GOODBYE_REPEATED);
        } else {
            tracing::debug!(announcement = %self.fullname, ?sent, "no goodbye sent");
        }
        if let Ok(down) = self.daemon.shutdown() {
            let _ = down.recv_timeout(GOODBYE_TIMEOUT);
        }
    }
}

fn service_info(
    meeting: &MeetingInfo,
    port: u16,
    participants: usize,
    recording: bool,
) -> Result<ServiceInfo, mdns_sd::Error> {
    // Instance names are at most 63 bytes; the code keeps equal titles apart.
    let mut title: String = meeting.title.chars().filter(|c| !c.is_control()).collect();
    while title.len() > 50 {
        title.pop();
    }
    let instance = if title.trim().is_empty() {
        meeting.code.clone()
    } else {
        format!("{} {}", title.trim(), meeting.code)
    };
    let host = format!("videomeet-{}.local.", meeting.code.to_ascii_lowercase());
    let version = PROTOCOL_VERSION.to_string();
    let count = participants.to_string();
    let properties = [
        ("v", version.as_str()),
        ("title", fit_txt(&meeting.title)),
        ("host", meeting.host_name.as_str()),
        ("code", meeting.code.as_str()),
        ("pass", if meeting.passcode_required { "1" } else { "0" }),
        ("n", count.as_str()),
        ("rec", if recording { "1" } else { "0" }),
    ];
    Ok(ServiceInfo::new(SERVICE_TYPE, &instance, &host, "", port, &properties[..])?.enable_addr_auto())
}

/// The longest TXT value sent: a TXT string holds 255 bytes, key and `=` included.
const MAX_TXT_VALUE_BYTES: usize = 240;

/// `value` cut at a character boundary to fit in one TXT string (a 100-character title of
/// four-byte characters would not).
fn fit_txt(value: &str) -> &str {
    let mut end = value.len().min(MAX_TXT_VALUE_BYTES);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// How often listed meetings are asked whether they are still there. A host whose program
/// crashed or lost the network sends no goodbye, and its records would stay listed until
/// they expire (two minutes for its address, 75 for its name).
const VERIFY_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// How long a listed meeting has to answer before it leaves the list.
const VERIFY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Keeps a live list of the meetings announced on the network.
pub struct Browser {
    daemon: ServiceDaemon,
    events: mdns_sd::Receiver<ServiceEvent>,
    meetings: BTreeMap<String, DiscoveredMeeting>,
    /// When the listed meetings were last asked whether they are still there.
    verified: std::time::Instant,
}

impl Browser {
    /// Starts listening for announcements.
    pub fn start() -> Result<Self, DiscoveryError> {
        let daemon = ServiceDaemon::new().map_err(error("listed"))?;
        let events = daemon.browse(SERVICE_TYPE).map_err(error("listed"))?;
        Ok(Self {
            daemon,
            events,
            meetings: BTreeMap::new(),
            verified: std::time::Instant::now(),
        })
    }

    /// Takes in what arrived since the last call; true when the list changed. Never blocks.
    pub fn refresh(&mut self) -> bool {
        self.verify_when_due();
        let mut changed = false;
        while let Ok(event) = self.events.try_recv() {
            changed |= self.apply(event);
        }
        changed
    }

    /// Waits up to `timeout` for a change; true when the list changed.
    pub fn wait_for_change(&mut self, timeout: std::time::Duration) -> bool {
        self.verify_when_due();
        let deadline = std::time::Instant::now() + timeout;
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.events.recv_timeout(left) {
                Ok(event) => {
                    if self.apply(event) {
                        self.refresh();
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }

    /// Every [`VERIFY_INTERVAL`], asks each listed meeting's host to answer; one that does not
    /// within [`VERIFY_TIMEOUT`] is removed (a `ServiceRemoved` event follows).
    fn verify_when_due(&mut self) {
        if self.verified.elapsed() < VERIFY_INTERVAL {
            return;
        }
        self.verified = std::time::Instant::now();
        for id in self.meetings.keys() {
            if let Err(error) = self.daemon.verify(id.clone(), VERIFY_TIMEOUT) {
                tracing::debug!(%error, meeting = %id, "could not ask whether a meeting is still there");
            }
        }
    }

    /// The meetings seen, ordered by announcement name.
    pub fn meetings(&self) -> impl Iterator<Item = &DiscoveredMeeting> {
        self.meetings.values()
    }

    fn apply(&mut self, event: ServiceEvent) -> bool {
        match event {
            ServiceEvent::ServiceResolved(service) => match parse(&service) {
                Some(meeting) => self.meetings.insert(meeting.id.clone(), meeting.clone()) != Some(meeting),
                None => false,
            },
            ServiceEvent::ServiceRemoved(_, fullname) => self.meetings.remove(&fullname).is_some(),
            _ => false,
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.daemon.shutdown();
    }
}

fn is_link_local_v6(address: &IpAddr) -> bool {
    matches!(address, IpAddr::V6(v6) if v6.is_unicast_link_local())
}

/// Reads an announcement; `None` when it is not a usable Video Meet meeting.
fn parse(service: &mdns_sd::ResolvedService) -> Option<DiscoveredMeeting> {
    // Announcements are hints from anyone on the network: everything is checked and cleaned.
    let text = |key: &str| service.txt_properties.get_property_val_str(key).map(str::to_owned);
    let code =
        text("code").filter(|c| !c.is_empty() && c.len() <= 32 && c.chars().all(|c| c.is_ascii_alphanumeric()))?;
    // A link-local IPv6 address (fe80::/10) means nothing without the interface it was
    // heard on, and the host announces it on every interface: never a place to connect to.
    let mut addresses: Vec<IpAddr> = service
        .addresses
        .iter()
        .map(|a| a.to_ip_addr())
        .filter(|address| !is_link_local_v6(address))
        .collect();
    addresses.sort();
    Some(DiscoveredMeeting {
        id: service.fullname.clone(),
        title: clean_text(&text("title").unwrap_or_default(), limits::MAX_TITLE_CHARS),
        host_name: clean_text(&text("host").unwrap_or_default(), limits::MAX_NAME_CHARS),
        code,
        passcode_required: text("pass").as_deref() == Some("1"),
        participants: text("n")
            .and_then(|n| n.parse().ok())
            .filter(|n| *n <= limits::MAX_PARTICIPANTS)
            .unwrap_or(0),
        version: text("v").and_then(|v| v.parse().ok()).unwrap_or(0),
        addresses,
        port: service.port,
        recording: text("rec").as_deref() == Some("1"),
    })
}
