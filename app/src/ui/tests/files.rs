//! Files in the meeting's chat: an offer's card, saving it, its progress bar with speed and
//! time left, Cancel, and how it ended, on the receiving and the sending side.

use std::path::PathBuf;

use eframe::egui::{Key, Modifiers};
use egui_kittest::kittest::Queryable;
use videomeet_net::meeting::{Command, Event, FileOffer, Outcome, Progress, SaveTo};

use super::{Commands, joined, meeting_harness, peer, send, snapshot};

fn offer(seq: u64, from: u32, sender: &str, name: &str, size: u64, to: Option<u32>) -> Event {
    Event::FileOffered(FileOffer {
        seq,
        from,
        sender: sender.into(),
        name: name.into(),
        size,
        sent_at_ms: 1_700_000_000_000 + seq * 60_000,
        to,
    })
}

fn progress(seq: u64, peer: u32, sending: bool, bytes: u64, total: u64, bytes_per_second: f64) -> Event {
    Event::FileProgress {
        seq,
        peer,
        sending,
        progress: Progress {
            bytes,
            total,
            bytes_per_second,
        },
    }
}

fn ended(seq: u64, peer: u32, sending: bool, outcome: Outcome) -> Event {
    Event::FileEnded {
        seq,
        peer,
        sending,
        outcome,
    }
}

/// The first command sent that is about files, skipping sounds and the like.
fn file_command(commands: &mut Commands) -> Option<Command> {
    std::iter::from_fn(|| commands.try_recv().ok())
        .find(|command| matches!(command, Command::SaveFile { .. } | Command::CancelFile { .. }))
}

#[test]
fn offers_show_as_cards_that_save_show_progress_and_cancel() {
    let (mut harness, events, mut commands) = meeting_harness();
    send(&events, joined());
    send(&events, Event::PeerJoined(peer(2, "Grace Hopper", true, true)));
    send(&events, Event::PeerJoined(peer(3, "Alan Turing", true, false)));
    send(
        &events,
        offer(1, 2, "Grace Hopper", "Quarterly report.pdf", 4_400_000, None),
    );
    send(&events, offer(2, 1, "Ada Lovelace", "notes.txt", 12_000, None));
    harness.run();
    harness.key_press_modifiers(Modifiers::ALT, Key::H);
    harness.run();

    // Someone else's offer: its name, its size, and the two ways to save it.
    harness.get_by_label("Quarterly report.pdf");
    harness.get_by_label("4.2 MB");
    harness.get_by_label("Save…");
    harness.get_by_label("Save to Downloads").click();
    harness.run();
    assert!(
        matches!(
            file_command(&mut commands),
            Some(Command::SaveFile {
                seq: 1,
                to: SaveTo::Folder(_)
            })
        ),
        "Save to Downloads asks for file 1"
    );
    // Ours: nobody has it yet.
    harness.get_by_label("Offered; nobody has saved it yet.");

    // Grace's file arrives; ours goes to Alan, and Grace has it already.
    send(&events, progress(1, 2, false, 1_800_000, 4_400_000, 3_100_000.0));
    send(&events, progress(2, 3, true, 6_000, 12_000, 1_000_000.0));
    send(&events, ended(2, 2, true, Outcome::Delivered));
    harness.run();
    harness.get_by_label("3.0 MB/s · 1 s left");
    harness.get_by_label("To Alan Turing");
    harness.get_by_label("Grace Hopper has it.");
    snapshot(&mut harness, "meeting_files");

    // Cancel on Grace's file, the first in the chat.
    harness.get_all_by_label("Cancel").next().expect("a Cancel").click();
    harness.run();
    assert_eq!(
        file_command(&mut commands),
        Some(Command::CancelFile { seq: 1, peer: None })
    );
    send(
        &events,
        ended(
            1,
            2,
            false,
            Outcome::Cancelled {
                by_us: true,
                reason: None,
            },
        ),
    );
    harness.run();
    harness.get_by_label("You cancelled it; nothing was kept.");
    harness.get_by_label("Save to Downloads");

    // Saved after all: where it went, and the folder to open.
    send(
        &events,
        ended(
            1,
            2,
            false,
            Outcome::Saved(PathBuf::from("/home/ada/Downloads/Quarterly report.pdf")),
        ),
    );
    harness.run();
    harness.get_by_label("Saved to /home/ada/Downloads/Quarterly report.pdf");
    harness.get_by_label("Open folder");
}
