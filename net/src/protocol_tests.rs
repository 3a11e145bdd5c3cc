//! The wire shapes of the protocol's messages.

use super::*;

#[test]
fn messages_have_the_documented_shape() {
    let hello = ClientMessage::Hello {
        version: 1,
        name: "Ada".into(),
        passcode: Some("1234".into()),
        code: None,
        host_token: None,
        session: None,
        media: MediaState {
            mic: true,
            camera: false,
            screen: false,
            hand: None,
            camera_size: None,
            recording: false,
        },
        rejoin: None,
    };
    assert_eq!(
        hello.to_json(),
        r#"{"type":"hello","version":1,"name":"Ada","passcode":"1234","media":{"mic":true,"camera":false,"screen":false}}"#
    );
    let candidate = ClientMessage::Signal {
        to: 2,
        signal: Signal::Candidate {
            candidate: "candidate:1 1 udp 2130706431 192.168.1.5 50000 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0),
        },
    };
    assert_eq!(
        candidate.to_json(),
        r#"{"type":"signal","to":2,"signal":{"kind":"candidate","candidate":"candidate:1 1 udp 2130706431 192.168.1.5 50000 typ host","sdpMid":"0","sdpMLineIndex":0}}"#
    );
    let denied = ServerMessage::Denied {
        reason: DenyReason::WrongPasscode,
        message: "Wrong passcode.".into(),
        version: 1,
    };
    assert_eq!(
        denied.to_json(),
        r#"{"type":"denied","reason":"wrong_passcode","message":"Wrong passcode.","version":1}"#
    );
}

#[test]
fn every_message_round_trips() {
    let messages = [
        ClientMessage::Chat {
            text: "hi".into(),
            to: None,
        },
        ClientMessage::Chat {
            text: "psst".into(),
            to: Some(2),
        },
        ClientMessage::Rename { name: "Ada".into() },
        ClientMessage::TurnOff {
            id: None,
            device: MediaDevice::Mic,
        },
        ClientMessage::AskToTurnOn {
            id: 2,
            device: MediaDevice::Camera,
        },
        ClientMessage::MakeCohost { id: 2, cohost: true },
        ClientMessage::MediaState {
            media: MediaState::default(),
        },
        ClientMessage::Ping { nonce: 7 },
        ClientMessage::Pong { nonce: 8 },
        ClientMessage::Leave,
        ClientMessage::Signal {
            to: 3,
            signal: Signal::Offer {
                sdp: "v=0".into(),
                feeds: Vec::new(),
            },
        },
    ];
    for message in messages {
        let back: ClientMessage = serde_json::from_str(&message.to_json()).unwrap();
        assert_eq!(back, message);
    }
    let ended: ServerMessage = serde_json::from_str(r#"{"type":"ended"}"#).unwrap();
    assert_eq!(ended, ServerMessage::Ended);
}

#[test]
fn malformed_messages_are_rejected() {
    for bad in [
        "",
        "null",
        "[]",
        r#"{"type":"teleport"}"#,
        r#"{"type":"chat"}"#,
        r#"{"type":"signal","to":-1,"signal":{"kind":"offer","sdp":""}}"#,
        r#"{"type":"hello","version":"one","name":"x"}"#,
    ] {
        assert!(serde_json::from_str::<ClientMessage>(bad).is_err(), "{bad}");
    }
}

#[test]
fn moderation_renames_and_private_chat_have_the_documented_shape() {
    let shapes = [
        (
            ClientMessage::TurnOff {
                id: None,
                device: MediaDevice::Mic,
            }
            .to_json(),
            r#"{"type":"turn_off","device":"mic"}"#,
        ),
        (
            ClientMessage::Chat {
                text: "hi".into(),
                to: None,
            }
            .to_json(),
            r#"{"type":"chat","text":"hi"}"#,
        ),
        (
            ServerMessage::TurnedOff {
                device: MediaDevice::Screen,
                by: 1,
            }
            .to_json(),
            r#"{"type":"turned_off","device":"screen","by":1}"#,
        ),
        (
            ServerMessage::Cohost { id: 2, cohost: true }.to_json(),
            r#"{"type":"cohost","id":2,"cohost":true}"#,
        ),
        (
            ServerMessage::Locked { locked: true }.to_json(),
            r#"{"type":"locked","locked":true}"#,
        ),
    ];
    for (actual, documented) in shapes {
        assert_eq!(actual, documented);
    }
    // "Everyone" may also be said with null, as every optional field may.
    let everyone: ClientMessage = serde_json::from_str(r#"{"type":"turn_off","id":null,"device":"camera"}"#).unwrap();
    assert_eq!(
        everyone,
        ClientMessage::TurnOff {
            id: None,
            device: MediaDevice::Camera
        }
    );
}

#[test]
fn handing_over_has_the_documented_shape() {
    let meeting = MeetingInfo {
        code: "K7QX3MZP".into(),
        title: "Lab".into(),
        host_name: "Grace".into(),
        passcode_required: true,
        started_at_ms: None,
        forwarding: true,
        max_file_bytes: None,
        no_guest_recording: false,
    };
    let take_over = ServerMessage::TakeOver(Box::new(Takeover {
        ticket: "Jx6".into(),
        meeting,
        passcode: Some("1234".into()),
        locked: false,
        ask_to_join: false,
        many_sharers: false,
        ids: vec![1, 2, 3],
        cohosts: vec![3],
        chat_seq: 12,
    }));
    let json = take_over.to_json();
    assert_eq!(
        json,
        r#"{"type":"take_over","ticket":"Jx6","meeting":{"code":"K7QX3MZP","title":"Lab","host_name":"Grace","passcode_required":true,"forwarding":true},"passcode":"1234","locked":false,"ask_to_join":false,"many_sharers":false,"ids":[1,2,3],"cohosts":[3],"chat_seq":12}"#
    );
    assert_eq!(serde_json::from_str::<ServerMessage>(&json).unwrap(), take_over);
    let hello: ClientMessage = serde_json::from_str(
        r#"{"type":"hello","version":1,"name":"Ada","rejoin":{"ticket":"Jx6","id":2},"media":{"mic":true,"camera":true,"screen":false}}"#,
    )
    .unwrap();
    assert!(matches!(
        hello,
        ClientMessage::Hello {
            rejoin: Some(Rejoin { id: 2, .. }),
            ..
        }
    ));
    let moved: ServerMessage =
        serde_json::from_str(r#"{"type":"host_moved","to":3,"host":"192.168.1.23","port":47801,"ticket":"Jx6"}"#)
            .unwrap();
    assert!(matches!(moved, ServerMessage::HostMoved { to: 3, port: 47801, .. }));
}
