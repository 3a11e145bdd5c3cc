//! Files between headless programs, as people hand each other files in a meeting: to
//! everyone and to one person, through a forwarding host and directly; hostile names saved
//! under safe ones; a file over the host's limit refused; a cancel on either side keeps
//! nothing.

mod common;
#[allow(dead_code)]
#[path = "common/program.rs"]
mod program;

use std::path::{Path, PathBuf};

use videomeet_media::testing::{listing, scratch_folder, varied_bytes};

use program::Program;
use serde_json::Value;

/// A host and two guests, Ada and Bob, all in; their ids.
fn meeting(host_args: &[&str]) -> (Program, Program, Program, [Value; 3]) {
    let mut args = vec!["--size", "320x240"];
    args.extend_from_slice(host_args);
    let (host, joined) = program::host(&args);
    let grace = joined["you"].clone();
    let link = joined["link"].as_str().expect("a link").to_owned();
    let ada = Program::guest("Ada", &link);
    let ada_id = ada.next("that she is in", |e| e["event"] == "joined")["you"].clone();
    let bob = Program::guest("Bob", &link);
    let bob_id = bob.next("that he is in", |e| e["event"] == "joined")["you"].clone();
    for (program, other) in [(&host, &bob_id), (&ada, &bob_id)] {
        program.next("Bob joining", |e| {
            e["event"] == "peer_joined" && e["peer"]["id"] == *other
        });
    }
    (host, ada, bob, [grace, ada_id, bob_id])
}

/// `sender` offers `path` (to `to`, when given); the offer as `sender` sees it.
fn offer(sender: &mut Program, path: &Path, to: Option<&Value>) -> Value {
    let mut command = serde_json::json!({"command": "send_file", "path": path});
    if let Some(to) = to {
        command["to"] = to.clone();
    }
    sender.say(&command.to_string());
    sender.next("its offer", |e| e["event"] == "file_offered")["offer"].clone()
}

/// `receiver` sees offer `seq` and saves it into `folder`; returns where it went.
fn save(receiver: &mut Program, seq: &Value, folder: &Path) -> PathBuf {
    receiver.next("the offer", |e| {
        e["event"] == "file_offered" && e["offer"]["seq"] == *seq
    });
    receiver.say(&serde_json::json!({"command": "save_file", "seq": seq, "folder": folder}).to_string());
    let ended = receiver.next("the file", |e| e["event"] == "file_ended" && e["seq"] == *seq);
    assert_eq!(ended["outcome"], "saved", "{} did not save it: {ended}", receiver.name);
    PathBuf::from(ended["detail"].as_str().expect("where it went"))
}

fn a_file_reaches_everyone_and_a_private_one_only_its_receiver(host_args: &[&str]) {
    let (mut grace, mut ada, mut bob, [_, _, bob_id]) = meeting(host_args);
    let source = scratch_folder(&format!("file-test-source{}", host_args.len()));
    let content = varied_bytes(20 * 1024 * 1024 + 7);
    let report = source.join("report.bin");
    std::fs::write(&report, &content).unwrap();

    let offered = offer(&mut ada, &report, None);
    assert_eq!(
        (&offered["name"], &offered["size"]),
        (&"report.bin".into(), &content.len().into())
    );
    let seq = offered["seq"].clone();
    for receiver in [&mut grace, &mut bob] {
        let saved_in = scratch_folder(&format!(
            "file-test-{}-{}",
            receiver.name.replace(' ', "-"),
            host_args.len()
        ));
        let saved = save(receiver, &seq, &saved_in);
        assert_eq!(saved, saved_in.join("report.bin"));
        assert!(
            std::fs::read(&saved).unwrap() == content,
            "{} got other bytes",
            receiver.name
        );
        let _ = std::fs::remove_dir_all(saved_in);
    }
    for _ in 0..2 {
        let ended = ada.next("a delivery", |e| e["event"] == "file_ended" && e["seq"] == seq);
        assert_eq!(ended["outcome"], "delivered", "{ended}");
    }

    // To Bob alone: Grace never hears of it, and cannot ask for it.
    let secret = source.join("secret.txt");
    std::fs::write(&secret, "for Bob only").unwrap();
    let private = offer(&mut ada, &secret, Some(&bob_id));
    let bob_folder = scratch_folder(&format!("file-test-bob-private-{}", host_args.len()));
    let saved = save(&mut bob, &private["seq"], &bob_folder);
    assert_eq!(std::fs::read_to_string(saved).unwrap(), "for Bob only");
    let grace_folder = scratch_folder(&format!("file-test-grace-private-{}", host_args.len()));
    let asked = grace
        .ask(&serde_json::json!({"command": "save_file", "seq": private["seq"], "folder": grace_folder}).to_string());
    assert_eq!(asked["ok"], false, "{asked}");
    assert_eq!(listing(&grace_folder), Vec::<String>::new());
    for path in [source, bob_folder, grace_folder] {
        let _ = std::fs::remove_dir_all(path);
    }
    // Everyone leaves as they came: no program stumbled over the files.
    for program in [&mut ada, &mut bob, &mut grace] {
        program.say(r#"{"command":"leave"}"#);
        program.next("its end", |e| e["event"] == "ended");
        assert!(
            program.process.0.wait().expect("it exits").success(),
            "{} failed",
            program.name
        );
    }
}

#[test]
fn through_a_forwarding_host_a_file_reaches_everyone_and_a_private_one_only_its_receiver() {
    a_file_reaches_everyone_and_a_private_one_only_its_receiver(&[]);
}

#[test]
fn in_a_mesh_a_file_reaches_everyone_and_a_private_one_only_its_receiver() {
    a_file_reaches_everyone_and_a_private_one_only_its_receiver(&["--mesh"]);
}

#[test]
fn hostile_names_are_saved_under_safe_names_inside_the_chosen_folder() {
    let (mut grace, mut ada, _bob, _) = meeting(&[]);
    let source = scratch_folder("file-test-hostile-source");
    let long = format!("{}.txt", "n".repeat(250));
    let names = [
        ("..\\..\\evil.txt", "evil.txt"),
        ("..\\..\\evil.txt", "evil (2).txt"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("photo\u{202E}gpj.exe", "photogpj.exe"),
        ("notes. . ", "notes"),
        ("\u{1b}[31mred.txt", "[31mred.txt"),
        (".hidden", "hidden"),
        ("what?*.txt", "what__.txt"),
        (long.as_str(), &format!("{}.txt", "n".repeat(196))),
    ];
    let saved_in = scratch_folder("file-test-hostile-saved");
    for (name, _) in &names {
        let path = source.join(name);
        std::fs::write(&path, name.as_bytes()).unwrap();
        let seq = offer(&mut ada, &path, None)["seq"].clone();
        save(&mut grace, &seq, &saved_in);
    }
    let mut expected: Vec<String> = names.iter().map(|(_, safe)| (*safe).to_owned()).collect();
    expected.sort();
    assert_eq!(listing(&saved_in), expected);
    assert_eq!(
        std::fs::read(saved_in.join("photogpj.exe")).unwrap(),
        "photo\u{202E}gpj.exe".as_bytes()
    );
    let _ = std::fs::remove_dir_all(source);
    let _ = std::fs::remove_dir_all(saved_in);
}

#[test]
fn a_file_over_the_limit_is_refused_and_a_cancel_on_either_side_keeps_nothing() {
    let (mut grace, mut ada, mut bob, _) = meeting(&["--max-file-mb", "1024"]);
    let source = scratch_folder("file-test-limit-source");
    let over = source.join("too-big.iso");
    std::fs::File::create(&over).unwrap().set_len(1100 << 20).unwrap();
    let refused = ada.ask(&serde_json::json!({"command": "send_file", "path": over}).to_string());
    assert_eq!(refused["ok"], false, "{refused}");
    assert_eq!(
        refused["message"],
        "\"too-big.iso\" is 1.1 GB; this meeting takes files of up to 1 GB"
    );

    // Large enough to be moving when cancelled; sparse, so nothing is written to make it.
    let large = source.join("large.iso");
    std::fs::File::create(&large).unwrap().set_len(1000 << 20).unwrap();
    let seq = offer(&mut ada, &large, None)["seq"].clone();
    for (receiver, receiver_cancels) in [(&mut grace, true), (&mut bob, false)] {
        let saved_in = scratch_folder(&format!("file-test-limit-{receiver_cancels}"));
        receiver.next("the offer", |e| {
            e["event"] == "file_offered" && e["offer"]["seq"] == seq
        });
        receiver.say(&serde_json::json!({"command": "save_file", "seq": seq, "folder": saved_in}).to_string());
        receiver.next("bytes arriving", |e| {
            e["event"] == "file_progress" && e["seq"] == seq && e["bytes"].as_u64() > Some(0)
        });
        let cancel = serde_json::json!({"command": "cancel_file", "seq": seq}).to_string();
        let (canceller, other) = if receiver_cancels {
            (&mut *receiver, &ada)
        } else {
            (&mut ada, &*receiver)
        };
        canceller.say(&cancel);
        for (program, by_us) in [(&*canceller, true), (other, false)] {
            let ended = program.next("the end of it", |e| e["event"] == "file_ended" && e["seq"] == seq);
            assert_eq!(ended["outcome"], "cancelled", "{}: {ended}", program.name);
            assert_eq!(ended["detail"]["by_us"], by_us, "{}: {ended}", program.name);
        }
        assert_eq!(listing(&saved_in), Vec::<String>::new(), "nothing kept");
        let _ = std::fs::remove_dir_all(saved_in);
    }
    let _ = std::fs::remove_dir_all(source);
}
