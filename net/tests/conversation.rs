//! Renaming during the meeting and private chat, over real WebSockets on loopback.

mod common;

use common::{guest, host, sent_so_far};
use videomeet_net::protocol::{ClientMessage, PeerId, ServerMessage, limits};
use videomeet_net::signaling::Joined;

/// The renames among `messages`, as (who, new name).
fn renames(messages: &[ServerMessage]) -> Vec<(PeerId, String)> {
    messages
        .iter()
        .filter_map(|message| match message {
            ServerMessage::Renamed { id, name } => Some((*id, name.clone())),
            _ => None,
        })
        .collect()
}

/// The errors among `messages`.
fn errors(messages: &[ServerMessage]) -> Vec<String> {
    messages
        .iter()
        .filter_map(|message| match message {
            ServerMessage::Error { message } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

/// `who` asks to be called `wanted`; what the host then told `who`, and each of `others`.
async fn rename(
    who: &mut Joined,
    wanted: &str,
    others: &mut [&mut Joined],
) -> (Vec<ServerMessage>, Vec<Vec<ServerMessage>>) {
    who.client.send(ClientMessage::Rename { name: wanted.into() });
    let own = sent_so_far(who).await;
    let mut seen = Vec::new();
    for other in others {
        seen.push(sent_so_far(other).await);
    }
    (own, seen)
}

#[tokio::test]
async fn a_new_name_is_told_apart_from_the_others_and_told_to_everyone() {
    let (server, mut host) = host(None).await;
    let mut ada = guest(&server, "Ada", None).await.unwrap();
    let mut bob = guest(&server, "Bob", None).await.unwrap();
    let (grace, ada_id, bob_id) = (host.you, ada.you, bob.you);
    sent_so_far(&mut host).await;
    sent_so_far(&mut ada).await;

    // The host's name, or another's, gets a number, as a joining guest's would; everyone
    // is told, Ada too.
    let (own, others) = rename(&mut ada, "  grace\u{200B} ", &mut [&mut host, &mut bob]).await;
    let told = vec![(ada_id, "grace (2)".to_owned())];
    assert_eq!(renames(&own), told);
    for seen in &others {
        assert_eq!(renames(seen), told);
    }
    let (own, _) = rename(&mut bob, "Grace (2) (host)", &mut [&mut host, &mut ada]).await;
    assert_eq!(renames(&own), [(bob_id, "Grace (2) (2)".to_owned())]);

    // Her own name is hers to keep, in another case too; unchanged, only she hears of it.
    let (own, others) = rename(&mut ada, "GRACE (2)", &mut [&mut host, &mut bob]).await;
    assert_eq!(renames(&own), [(ada_id, "GRACE (2)".to_owned())]);
    assert_eq!(renames(&others[0]), [(ada_id, "GRACE (2)".to_owned())]);
    let (own, others) = rename(&mut ada, "GRACE (2)", &mut [&mut host, &mut bob]).await;
    assert_eq!(renames(&own), [(ada_id, "GRACE (2)".to_owned())], "she is answered");
    assert!(others.iter().all(|seen| renames(seen).is_empty()), "{others:?}");

    // Names that are empty once cleaned, or too long, are refused and change nothing.
    for (bad, words) in [
        ("", "at least one visible character"),
        ("  \u{202E}\u{200B}\u{7} ", "at least one visible character"),
        (&"x".repeat(limits::MAX_NAME_CHARS + 1), "limited to 64 characters"),
    ] {
        let (own, others) = rename(&mut bob, bad, &mut [&mut host, &mut ada]).await;
        assert_eq!(errors(&own).len(), 1, "{own:?}");
        assert!(errors(&own)[0].contains(words), "{own:?}");
        assert!(renames(&own).is_empty() && others.iter().all(|seen| renames(seen).is_empty()));
    }

    // The host renames too: a newcomer's welcome names the host by its new name.
    let (own, _) = rename(&mut host, "Grace Hopper", &mut [&mut ada]).await;
    assert_eq!(renames(&own), [(grace, "Grace Hopper".to_owned())]);
    let carol = guest(&server, "grace hopper", None).await.unwrap();
    assert_eq!(carol.meeting.host_name, "Grace Hopper");
    let names: Vec<&str> = carol.peers.iter().map(|peer| peer.name.as_str()).collect();
    assert_eq!(names, ["Grace Hopper", "GRACE (2)", "Grace (2) (2)"]);

    // A flood of renames is cut off.
    for n in 0..10 {
        bob.client.send(ClientMessage::Rename {
            name: format!("Bob {n}"),
        });
    }
    let own = sent_so_far(&mut bob).await;
    let refused = errors(&own);
    assert!(
        (5..10).contains(&refused.len()),
        "{} renames let through: {own:?}",
        renames(&own).len()
    );
    assert!(refused[0].contains("too fast"), "{refused:?}");
}

/// The chat messages among `messages`, as (from, text, to).
fn chats(messages: &[ServerMessage]) -> Vec<(PeerId, String, Option<PeerId>)> {
    messages
        .iter()
        .filter_map(|message| match message {
            ServerMessage::Chat { from, text, to, .. } => Some((*from, text.clone(), *to)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_private_message_reaches_only_its_two_ends() {
    let (server, mut host) = host(None).await;
    let mut ada = guest(&server, "Ada", None).await.unwrap();
    let mut bob = guest(&server, "Bob", None).await.unwrap();
    let (ada_id, bob_id) = (ada.you, bob.you);
    ada.client.send(ClientMessage::Chat {
        text: "just between us".into(),
        to: Some(bob_id),
    });
    let private = vec![(ada_id, "just between us".to_owned(), Some(bob_id))];
    assert_eq!(
        chats(&sent_so_far(&mut ada).await),
        private,
        "the sender sees it, marked"
    );
    assert_eq!(chats(&sent_so_far(&mut bob).await), private);
    assert!(chats(&sent_so_far(&mut host).await).is_empty(), "the host does not");

    // To nobody there, or to oneself: refused, delivered to no one.
    for nobody in [99, ada_id] {
        ada.client.send(ClientMessage::Chat {
            text: "hello?".into(),
            to: Some(nobody),
        });
        let own = sent_so_far(&mut ada).await;
        assert!(chats(&own).is_empty(), "{own:?}");
        let refused = errors(&own);
        assert_eq!(refused.len(), 1, "{own:?}");
        assert!(refused[0].contains("no other participant"), "{refused:?}");
        for other in [&mut host, &mut bob] {
            assert!(chats(&sent_so_far(other).await).is_empty());
        }
    }
    // A message to everyone says no `to`.
    bob.client.send(ClientMessage::Chat {
        text: "hi all".into(),
        to: None,
    });
    sent_so_far(&mut bob).await;
    assert_eq!(
        chats(&sent_so_far(&mut host).await),
        [(bob_id, "hi all".to_owned(), None)]
    );
}
