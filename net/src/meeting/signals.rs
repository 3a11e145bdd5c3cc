//! The meeting's side of signaling: what the host's room tells us, and negotiating media
//! connections with the others through it.

use std::sync::Arc;

use tokio::sync::mpsc;

use crate::peer::{PeerConfig, PeerLink};
use crate::protocol::{ClientMessage, MediaDevice, PeerId, ServerMessage, Signal};

use super::remote::Remote;
use super::{Actor, Command, EndReason, Event, FileOffer, Problem};

impl Actor {
    pub(super) fn signal(&self, to: PeerId, signal: Signal) {
        if let Some(client) = &self.client {
            client.send(ClientMessage::Signal { to, signal });
        }
    }

    /// The link to `id`, created on first use.
    pub(super) async fn connect(&mut self, id: PeerId) -> Option<Arc<PeerLink>> {
        if let Some(remote) = self.remotes.get(&id) {
            return Some(Arc::clone(&remote.link));
        }
        let (events_tx, mut events) = mpsc::channel(64);
        // To a forwarding host, our camera goes in layers, for it to pick from; from one,
        // everyone's streams.
        let config = PeerConfig {
            camera_layers: self.forwarding && self.server.is_none() && id == self.host,
            send: if self.forwards() {
                self.peer_config.send.forwarding()
            } else {
                self.peer_config.send
            },
            ..self.peer_config.clone()
        };
        let link = match PeerLink::new(&config, events_tx).await {
            Ok(link) => Arc::new(link),
            Err(error) => {
                let reason = error.to_string();
                self.emit(Event::Problem(Problem::MediaConnection { id, reason }));
                return None;
            }
        };
        let tagged = self.peer_events_tx.clone();
        let forward = tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if tagged.send((id, event)).await.is_err() {
                    break;
                }
            }
        });
        let mut remote = Remote::new(Arc::clone(&link));
        remote.tasks.push(forward);
        self.remotes.insert(id, remote);
        Some(link)
    }

    /// Handles one message from the host; the reason when the meeting is over.
    pub(super) async fn on_signaling(&mut self, message: ServerMessage) -> Option<EndReason> {
        match message {
            ServerMessage::PeerJoined { peer } => {
                self.layering.set_camera_size(peer.id, peer.media.camera_size);
                if self.connects_to(peer.id) {
                    // They will offer; be ready for it.
                    self.connect(peer.id).await;
                }
                self.emit(Event::PeerJoined(peer));
                // The others start receiving the newcomer.
                self.sync_forwarding().await;
            }
            ServerMessage::PeerLeft { id, reason } => {
                self.disconnect(id);
                self.emit(Event::PeerLeft { id, reason });
                self.sync_forwarding().await;
            }
            ServerMessage::Signal { from, signal } => self.on_remote_signal(from, signal).await,
            ServerMessage::Chat {
                from,
                name,
                text,
                sent_at_ms,
                seq,
                to,
            } => self.emit(Event::Chat {
                from,
                name,
                text,
                sent_at_ms,
                seq,
                to,
            }),
            ServerMessage::Renamed { id, name } => {
                // Our own new name as host: the network's list shows it too.
                if id == self.you
                    && let Some(announcement) = &mut self.announcement
                    && let Err(error) = announcement.rename_host(&name, self.announced_count)
                {
                    tracing::debug!(%error, "announcement not updated");
                }
                self.emit(Event::Renamed { id, name });
            }
            ServerMessage::Cohost { id, cohost } => self.emit(Event::Cohost { id, cohost }),
            ServerMessage::Locked { locked } => self.emit(Event::Locked(locked)),
            ServerMessage::TurnedOff { device, by } => self.turned_off(device, by).await,
            ServerMessage::AskedToTurnOn { device, by } => self.emit(Event::AskedToTurnOn { device, by }),
            ServerMessage::MediaState { id, media } => {
                if self.layering.set_camera_size(id, media.camera_size) {
                    self.choose_layers();
                }
                if id == self.you {
                    // Our hand's place in the order, or the host put it down.
                    self.media.hand = media.hand;
                }
                self.emit(Event::MediaState { id, media });
            }
            ServerMessage::ShareRefused { name, .. } => {
                // The host recorded our screen as off already.
                if self.screen.take().is_some() {
                    self.media.screen = false;
                    self.emit(Event::Sharing(None));
                }
                self.emit(Event::Problem(Problem::ShareRefused { sharer: name }));
            }
            ServerMessage::GuestRecording { allowed } => self.emit(Event::GuestRecording(allowed)),
            ServerMessage::RecordingRefused { message } => {
                // The host took our state without it already.
                self.stop_recording().await;
                self.emit(Event::Problem(Problem::Recording { message }));
            }
            ServerMessage::Reaction { from, emoji } => self.emit(Event::Reaction { from, emoji }),
            ServerMessage::Error { message } => self.emit(Event::Problem(Problem::Refused { message })),
            ServerMessage::FileOffered {
                from,
                name,
                token,
                file,
                size,
                sent_at_ms,
                seq,
                to,
            } => {
                let offer = FileOffer {
                    seq,
                    from,
                    sender: name,
                    name: file,
                    size,
                    sent_at_ms,
                    to,
                };
                self.on_file_offered(offer, token);
            }
            ServerMessage::Ended => return Some(EndReason::HostEnded),
            ServerMessage::TakeOver(takeover) => return self.take_over(*takeover).await,
            ServerMessage::HostMoved { to, host, port, ticket } => {
                return self.host_moved(to, host, port, ticket).await;
            }
            ServerMessage::Removed => return Some(EndReason::Removed),
            ServerMessage::Knocking { knock, name } => self.emit(Event::Knocking { knock, name }),
            ServerMessage::KnockEnded { knock } => self.emit(Event::KnockEnded(knock)),
            ServerMessage::PasscodeGuessing => self.emit(Event::Problem(Problem::PasscodeGuessing)),
            ServerMessage::Welcome { .. }
            | ServerMessage::Waiting { .. }
            | ServerMessage::Denied { .. }
            | ServerMessage::Ping { .. }
            | ServerMessage::Pong { .. } => {}
        }
        None
    }

    pub(super) async fn on_remote_signal(&mut self, from: PeerId, signal: Signal) {
        match signal {
            Signal::View { sizes } if self.forwards() => {
                self.layering.set_view(from, &sizes);
                return self.choose_layers();
            }
            Signal::Layers { camera } if from == self.host && self.forwarding => {
                let wanted = camera.into_iter().map(Into::into).collect();
                return self.camera_encoder.wanted.set(wanted);
            }
            Signal::View { .. } | Signal::Layers { .. } => {
                return tracing::debug!(peer = from, "a view or layers not for us");
            }
            _ => {}
        }
        if !self.connects_to(from) {
            tracing::debug!(peer = from, "a guest of a forwarding meeting connects to the host only");
            return;
        }
        let Some(link) = self.connect(from).await else { return };
        let result = match signal {
            Signal::Offer { sdp, feeds } => {
                // Offers that cross: the forwarding host gives way (it withdraws its own and
                // offers again after answering), everyone else keeps theirs.
                let withdrawn = if self.forwards() {
                    match link.withdraw_offer().await {
                        Ok(withdrawn) => withdrawn,
                        Err(error) => {
                            tracing::warn!(peer = from, %error, "our crossing offer not withdrawn");
                            false
                        }
                    }
                } else if link.offer_outstanding().await {
                    tracing::debug!(peer = from, "an offer crossed ours; the other side gives way");
                    return;
                } else {
                    false
                };
                // Only the host says whose media its m-lines carry.
                let feeds = if from == self.host { feeds } else { Vec::new() };
                match link.accept_offer(sdp, feeds).await {
                    Ok(answer) => {
                        self.signal(from, answer);
                        if withdrawn {
                            self.offer_again(from).await;
                        }
                        // A guest's first offer: it starts receiving the others.
                        self.sync_forwarding().await;
                        Ok(())
                    }
                    Err(error) => Err(error),
                }
            }
            Signal::Answer { sdp } => {
                let accepted = link.accept_answer(sdp).await;
                if self.remotes.get(&from).is_some_and(|remote| remote.offer_again) {
                    self.offer_again(from).await;
                }
                accepted
            }
            Signal::Candidate {
                candidate,
                sdp_mid,
                sdp_mline_index,
            } => {
                // A candidate we cannot use costs nothing (the others still connect), and a
                // peer may send thousands: the log notes it; the user is not told each time.
                if let Err(error) = link.add_remote_candidate(candidate, sdp_mid, sdp_mline_index).await {
                    tracing::debug!(peer = from, %error, "ignored a remote candidate");
                }
                return;
            }
            // Taken above.
            Signal::View { .. } | Signal::Layers { .. } => return,
        };
        if let Err(error) = result {
            tracing::warn!(peer = from, %error, "negotiation failed");
            let reason = error.to_string();
            self.emit(Event::Problem(Problem::MediaConnection { id: from, reason }));
        }
    }

    /// A host or co-host turned our `device` off: it goes off as our own button turns it
    /// off, everyone is told, and so is our user, with who did it.
    async fn turned_off(&mut self, device: MediaDevice, by: PeerId) {
        if !self.media.is_on(device) {
            return;
        }
        let off = match device {
            MediaDevice::Mic => Command::SetMic(false),
            MediaDevice::Camera => Command::SetCamera(false),
            MediaDevice::Screen => Command::StopSharing,
        };
        if let Err(problem) = self.on_command(off).await {
            self.emit(Event::Problem(problem));
        }
        self.emit(Event::MediaState {
            id: self.you,
            media: self.media,
        });
        self.emit(Event::TurnedOff { device, by });
    }

    /// Sends `message` to the host's program.
    pub(super) fn tell_host(&self, message: ClientMessage) {
        if let Some(client) = &self.client {
            client.send(message);
        }
    }
}
