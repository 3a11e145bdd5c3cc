//! Headless meetings driven through stdin, as scripts drive them: a headless host runs a
//! waiting room, moderates and hands the meeting over, a guest who gives up withdraws its
//! knock, commands are answered, lines that are not commands are refused and change nothing.

mod common;
#[path = "common/program.rs"]
mod program;

use program::Program;
use serde_json::Value;

#[test]
fn a_headless_host_runs_a_waiting_room_from_stdin() {
    let (mut host, joined) = program::host(&["--ask-to-join", "--size", "320x240"]);
    let link = joined["link"].as_str().expect("a link").to_owned();

    // Ada knocks and waits; the host sees her knock and lets her in.
    let mut ada = Program::guest("Ada", &link);
    ada.next("that she waits", |e| e["event"] == "waiting");
    let knock = host.next("Ada's knock", |e| e["event"] == "knocking" && e["name"] == "Ada")["knock"].clone();
    let admitted = host.ask(&format!(r#"{{"command":"admit","knock":{knock}}}"#));
    assert_eq!(admitted["ok"], true, "{admitted}");
    let ada_id = ada.next("that she is in", |e| e["event"] == "joined")["you"].clone();
    host.next("Ada's picture", |e| e["event"] == "first_frame" && e["id"] == ada_id);

    // Commands a guest gives are carried out, and the others see them.
    assert_eq!(ada.ask(r#"{"command":"mute"}"#)["ok"], true);
    host.next("Ada muted", |e| {
        e["event"] == "media_state" && e["id"] == ada_id && e["media"]["mic"] == false
    });
    assert_eq!(ada.ask(r#"{"command":"chat","text":"can you see me?"}"#)["ok"], true);
    let first = host.next("Ada's message", |e| {
        e["event"] == "chat" && e["text"] == "can you see me?"
    });
    assert_eq!(first["seq"], 1, "the host numbers the chat: {first}");
    // A device that does not exist is answered with why, and the camera goes on.
    let refused = ada.ask(r#"{"command":"use_speaker","id":"audio:no-such-speaker"}"#);
    assert_eq!(refused["ok"], false, "{refused}");
    assert_eq!(refused["problem"]["kind"], "device_failed", "{refused}");
    assert_eq!(refused["problem"]["device"], "speaker", "{refused}");
    // Lines that are not commands are refused, and nothing changes.
    for bad in [
        "mute",
        r#"{"command":"shout"}"#,
        r#"{"command":"camera"}"#,
        r#"{"command":"admit","knock":"all"}"#,
        "\u{7}\u{0}{[",
    ] {
        let answer = ada.ask(bad);
        assert_eq!(answer["event"], "refused", "{answer}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
    }
    assert_eq!(ada.ask(r#"{"command":"unmute"}"#)["ok"], true);
    host.next("Ada unmuted", |e| {
        e["event"] == "media_state" && e["id"] == ada_id && e["media"]["mic"] == true
    });

    // A raised hand reaches the host with its place in the order; the host puts it down,
    // and Ada sees that.
    assert_eq!(ada.ask(r#"{"command":"hand","raised":true}"#)["ok"], true);
    host.next("Ada's hand", |e| {
        e["event"] == "media_state" && e["id"] == ada_id && e["media"]["hand"] == 1
    });
    let lowered = host.ask(&format!(r#"{{"command":"lower_hand","id":{ada_id}}}"#));
    assert_eq!(lowered["ok"], true, "{lowered}");
    ada.next("her hand put down", |e| {
        e["event"] == "media_state" && e["id"] == ada_id && e["media"]["hand"].is_null()
    });
    // And it stays down when she next changes something.
    assert_eq!(ada.ask(r#"{"command":"mute"}"#)["ok"], true);
    let muted = host.next("Ada muted again", |e| {
        e["event"] == "media_state" && e["id"] == ada_id && e["media"]["mic"] == false
    });
    assert!(muted["media"]["hand"].is_null(), "her hand went up again: {muted}");

    // A reaction reaches the host.
    assert_eq!(ada.ask(r#"{"command":"react","emoji":"👏"}"#)["ok"], true);
    host.next("Ada's reaction", |e| {
        e["event"] == "reaction" && e["from"] == ada_id && e["emoji"] == "👏"
    });

    // Bob knocks, then gives up: his knock goes from the host's waiting room, and he never
    // got in.
    let mut bob = Program::guest("Bob", &link);
    bob.next("that he waits", |e| e["event"] == "waiting");
    let knock = host.next("Bob's knock", |e| e["event"] == "knocking" && e["name"] == "Bob")["knock"].clone();
    bob.say(r#"{"command":"leave"}"#);
    let ended = bob.next("his end", |e| e["event"] == "ended");
    assert_eq!(ended["reason"], "left", "{ended}");
    host.next("Bob's knock withdrawn", |e| {
        e["event"] == "knock_ended" && e["knock"] == knock
    });
    let status = bob.process.0.wait().expect("Bob exits");
    assert!(status.success(), "Bob exited with {status}");

    // Ada leaves by command; the host sees her go, and ends the meeting the same way.
    ada.say(r#"{"command":"leave"}"#);
    assert_eq!(ada.next("her end", |e| e["event"] == "ended")["reason"], "left");
    host.next("Ada gone", |e| e["event"] == "peer_left" && e["id"] == ada_id);
    host.say(r#"{"command":"leave"}"#);
    host.next("the end", |e| e["event"] == "ended" && e["reason"] == "left");
    assert!(host.process.0.wait().expect("the host exits").success());
}

#[test]
fn a_headless_host_moderates_and_a_guest_renames_and_writes_privately() {
    let (mut host, joined) = program::host(&["--size", "320x240"]);
    let grace = joined["you"].clone();
    let link = joined["link"].as_str().expect("a link").to_owned();
    let mut ada = Program::guest("Ada", &link);
    let ada_id = ada.next("that she is in", |e| e["event"] == "joined")["you"].clone();
    host.next("Ada joining", |e| {
        e["event"] == "peer_joined" && e["peer"]["id"] == ada_id
    });

    // The host mutes Ada: her program turns the microphone off, says who did, and the host
    // hears of it as of any mute.
    let muted = host.ask(&format!(r#"{{"command":"turn_off","id":{ada_id},"device":"mic"}}"#));
    assert_eq!(muted["ok"], true, "{muted}");
    ada.next("her own microphone off", |e| {
        e["event"] == "media_state" && e["id"] == ada_id && e["media"]["mic"] == false
    });
    let told = ada.next("who muted her", |e| e["event"] == "turned_off");
    assert_eq!((&told["device"], &told["by"]), (&"mic".into(), &grace), "{told}");
    host.next("Ada muted", |e| {
        e["event"] == "media_state" && e["id"] == ada_id && e["media"]["mic"] == false
    });
    // Only asked to unmute; made a co-host, which both hear.
    assert_eq!(
        host.ask(&format!(
            r#"{{"command":"ask_to_turn_on","id":{ada_id},"device":"mic"}}"#
        ))["ok"],
        true
    );
    let asked = ada.next("the host asking", |e| e["event"] == "asked_to_turn_on");
    assert_eq!((&asked["device"], &asked["by"]), (&"mic".into(), &grace), "{asked}");
    // The host may print the news before its answer to the command: either order.
    let make_cohost = format!(r#"{{"command":"make_cohost","id":{ada_id},"cohost":true}}"#);
    let ada_made_cohost = |e: &Value| e["event"] == "cohost" && e["id"] == ada_id && e["cohost"] == true;
    let (answer, _) = host.ask_and_see(&make_cohost, "Ada a co-host", ada_made_cohost);
    assert_eq!(answer["ok"], true, "{answer}");
    ada.next("Ada a co-host", ada_made_cohost);

    // Ada renames herself, which everyone hears, and writes to the host alone.
    let renamed = |e: &Value| e["event"] == "renamed" && e["id"] == ada_id && e["name"] == "Ada Lovelace";
    let (answer, _) = ada.ask_and_see(r#"{"command":"rename","name":"Ada Lovelace"}"#, "her new name", renamed);
    assert_eq!(answer["ok"], true, "{answer}");
    host.next("Ada's new name", renamed);
    let private = format!(r#"{{"command":"chat","text":"psst","to":{grace}}}"#);
    assert_eq!(ada.ask(&private)["ok"], true);
    let chat = host.next("Ada's private message", |e| e["event"] == "chat");
    assert_eq!(
        (&chat["text"], &chat["to"], &chat["name"]),
        (&"psst".into(), &grace, &"Ada Lovelace".into())
    );

    // A sound is played only when asked, and only a sound there is.
    assert_eq!(ada.ask(r#"{"command":"play_sound","sound":"message"}"#)["ok"], true);
    let refused = ada.ask(r#"{"command":"play_sound","sound":"fanfare"}"#);
    assert_eq!(refused["event"], "refused", "{refused}");

    // The host leaves, handing the meeting over: Ada, the co-host, hosts it from then on.
    let answer = host.ask(r#"{"command":"hand_over"}"#);
    assert_eq!(answer["ok"], true, "{answer}");
    host.next("the end", |e| e["event"] == "ended" && e["reason"] == "handed_over");
    assert!(host.process.0.wait().expect("the host exits").success());
    let moved = ada.next("the meeting moved to her", |e| e["event"] == "host_changed");
    assert_eq!(moved["host"], ada_id, "{moved}");
    assert!(
        moved["web_page"]["link"].is_string(),
        "she serves the guest page now: {moved}"
    );
    ada.say(r#"{"command":"leave"}"#);
    ada.next("her end", |e| e["event"] == "ended" && e["reason"] == "left");
}
