//! Handing the meeting over when the host leaves, so that it goes on: the host's room sends
//! the next host (a co-host, else the program that came first) what it needs; that program
//! starts a room of its own with the meeting's code, passcode and settings, and everyone
//! else's program comes over to it, keeping their ids. Every media connection is made again
//! with the new host, so media pauses for as long as that takes.

use std::time::{Duration, Instant};

use crate::address::JoinTarget;
use crate::discovery::Announcement;
use crate::protocol::{ClientMessage, LeaveReason, MediaState, PeerId, Rejoin, Takeover};
use crate::signaling::{HelloParams, HostConfig, SignalingServer, join};

use super::{Actor, EndReason, Event, Problem, WebPage};

/// How long the host waits for the next host's room before it says so and stays.
pub(super) const HANDOVER_TIMEOUT: Duration = Duration::from_secs(10);

impl Actor {
    /// Leaves, handing the meeting over: asks our room to make the next host ready. We go
    /// once everyone has been told where the meeting went.
    pub(super) fn hand_over(&mut self) -> Result<(), Problem> {
        if self.server.is_none() {
            return Err(refused("only the host hands the meeting over"));
        }
        let Some(next) = self.known.next_host() else {
            return Err(refused(
                "nobody here can host the meeting (a browser guest cannot); end it for everyone instead",
            ));
        };
        self.tell_host(ClientMessage::HandOver { to: next });
        self.handing_over = Some((Instant::now(), next));
        Ok(())
    }

    /// The next host never became ready: we still host, and say so.
    pub(super) fn check_handover(&mut self) {
        let Some((since, next)) = self.handing_over else { return };
        if since.elapsed() >= HANDOVER_TIMEOUT {
            self.handing_over = None;
            let name = self.name_of(next);
            self.emit(Event::Problem(refused(&format!(
                "{name} could not take the meeting over; you still host it"
            ))));
        }
    }

    fn name_of(&self, id: PeerId) -> String {
        self.known
            .people
            .get(&id)
            .map_or_else(|| "The next host".to_owned(), |person| person.info.name.clone())
    }

    /// Our room asks us to host from now on: we start a room of our own going on with the
    /// meeting, say where it listens, and move into it as its host.
    pub(super) async fn take_over(&mut self, takeover: Takeover) -> Option<EndReason> {
        let ticket = takeover.ticket.clone();
        let code = takeover.meeting.code.clone();
        let passcode = takeover.passcode.clone();
        let server = match SignalingServer::start(HostConfig::taking_over(takeover, &self.name)).await {
            Ok(server) => server,
            Err(error) => {
                // The host waits in vain, then says so and stays.
                tracing::warn!(%error, "could not take the meeting over");
                return None;
            }
        };
        let port = server.local_addr().port();
        let host_token = server.host_token().to_owned();
        self.tell_host(ClientMessage::HostReady { port });
        // After `host_ready`, in order: the old room tells everyone before it hears us go.
        if let Some(client) = self.client.take() {
            client.leave().await;
        }
        if self.announce {
            match Announcement::start(server.meeting(), port, 1) {
                Ok(started) => self.announcement = Some(started),
                Err(error) => self.emit(Event::Problem(Problem::NotAnnounced {
                    reason: error.to_string(),
                })),
            }
        }
        self.server = Some(server);
        let target = JoinTarget {
            host: "127.0.0.1".into(),
            port,
            code: Some(code),
        };
        let rejoin = Rejoin { ticket, id: self.you };
        let hosting = Hosting { host_token, passcode };
        self.rejoin(target, rejoin, Some(hosting), self.you).await
    }

    /// The meeting moved to `to`, at `host`:`port`. The host who handed it over leaves; the
    /// others follow it there.
    pub(super) async fn host_moved(
        &mut self,
        to: PeerId,
        host: String,
        port: u16,
        ticket: String,
    ) -> Option<EndReason> {
        if self.server.is_some() {
            self.handing_over = None;
            return Some(EndReason::HandedOver { to: self.name_of(to) });
        }
        let code = self.known.meeting.as_ref().map(|meeting| meeting.code.clone());
        // The old room ends with its host; nothing more is read from it.
        self.client.take();
        let target = JoinTarget { host, port, code };
        let rejoin = Rejoin { ticket, id: self.you };
        self.rejoin(target, rejoin, None, to).await
    }

    /// Joins the meeting where it moved to `new_host`, keeping our id, and connects again to
    /// those there (the new host may come in after us; it connects to us then).
    async fn rejoin(
        &mut self,
        target: JoinTarget,
        rejoin: Rejoin,
        hosting: Option<Hosting>,
        new_host: PeerId,
    ) -> Option<EndReason> {
        let (host_token, passcode) =
            hosting.map_or((None, None), |hosting| (Some(hosting.host_token), hosting.passcode));
        let former_host = self.host;
        // Every media connection went through or to the old host's meeting: made again.
        // Those whose media came through the old host are started afresh too (their sound
        // and pictures come as new streams).
        let ids: Vec<PeerId> = self.remotes.keys().chain(self.relayed.keys()).copied().collect();
        for id in ids {
            self.disconnect(id);
        }
        self.departed.clear();
        let hello = HelloParams {
            name: self.known.name.clone().unwrap_or_else(|| self.name.clone()),
            media: MediaState {
                hand: None,
                ..self.media
            },
            host_token,
            rejoin: Some(rejoin),
            ..HelloParams::default()
        };
        let joined = match join(&target, hello).await {
            Ok(joined) => joined,
            Err(error) => {
                tracing::warn!(%error, "could not follow the meeting to its new host");
                return Some(EndReason::HostLost);
            }
        };
        self.client = Some(joined.client);
        self.signaling = joined.events;
        self.you = joined.you;
        self.forwarding = joined.meeting.forwarding;
        self.host = new_host;
        if former_host != self.you && former_host != self.host {
            self.emit(Event::PeerLeft {
                id: former_host,
                reason: LeaveReason::Left,
            });
        }
        let link = JoinTarget {
            host: match &self.server {
                Some(_) => crate::address::lan_address().to_string(),
                None => target.host.clone(),
            },
            port: target.port,
            code: Some(joined.meeting.code.clone()),
        };
        let web_page = self.server.as_ref().map(|server| WebPage {
            link: format!("https://{}/{}", link.authority(), joined.meeting.code),
            fingerprint: server.web_identity().fingerprint(),
        });
        self.emit(Event::HostChanged {
            host: self.host,
            meeting: joined.meeting,
            link: link.to_string(),
            web_page,
            passcode,
        });
        self.greet(joined.peers).await;
        self.tell_host(ClientMessage::MediaState { media: self.media });
        None
    }
}

/// What joining our own room as its host takes, and its passcode to show.
struct Hosting {
    host_token: String,
    passcode: Option<String>,
}

fn refused(message: &str) -> Problem {
    Problem::Refused {
        message: message.to_owned(),
    }
}
