//! Screen capture on a real X server: a window with a known picture is listed, captured on
//! its own and as part of the display, with the pointer drawn in, and its closing is seen.
//!
//! Needs a display; the test command provides one (Xvfb) and sets `VIDEOMEET_EXPECT_DISPLAY=1`.
#![cfg(target_os = "linux")]

use std::time::{Duration, Instant};

use videomeet_media::screen::test_window::{TestWindow, known_content};
use videomeet_media::screen::{ScreenCapture, ScreenChoice, ScreenError, ScreenKind, ScreenPicture, list_screens};
use videomeet_media::testing;

/// A display is there for `test`; without one the test is skipped, visibly, unless the
/// test command (`VIDEOMEET_EXPECT_DISPLAY`) or CI promised one.
fn have_display(test: &str) -> bool {
    let present = std::env::var_os("DISPLAY").is_some();
    if !present {
        testing::skip_unless_required(
            test,
            "no DISPLAY: screen capture not tested",
            testing::expected("VIDEOMEET_EXPECT_DISPLAY") || testing::under_ci(),
        );
    }
    present
}

fn same_region(whole: &ScreenPicture, at: (u32, u32), part: &ScreenPicture) -> bool {
    (0..part.height).all(|y| (0..part.width).all(|x| whole.rgb(at.0 + x, at.1 + y) == part.rgb(x, y)))
}

/// The program's own window (the meeting) is not offered for sharing; others' are.
#[test]
fn our_own_window_is_not_offered_for_sharing() {
    if !have_display("our_own_window_is_not_offered_for_sharing") {
        return;
    }
    let title = format!("Own window test {}", std::process::id());
    // Far from the other tests' windows, which are captured meanwhile.
    let mut window = TestWindow::open(&title, 1700, 950, &known_content(160, 100)).unwrap();
    let listed = |title: &str| list_screens().unwrap().iter().any(|s| s.name == title);
    window.claim_for(std::process::id()).unwrap();
    assert!(!listed(&title), "our own window is offered");
    window.claim_for(1).unwrap();
    assert!(listed(&title), "another program's window is not offered");
}

#[test]
fn windows_and_displays_are_listed_captured_and_closed() {
    if !have_display("windows_and_displays_are_listed_captured_and_closed") {
        return;
    }
    let content = known_content(320, 200);
    let title = format!("Capture test {}", std::process::id());
    let window = TestWindow::open(&title, 37, 29, &content).unwrap();
    let screens = list_screens().unwrap();
    let display = screens
        .iter()
        .find(|s| s.kind == ScreenKind::Display)
        .expect("a display is listed")
        .clone();
    let listed = screens
        .iter()
        .find(|s| s.kind == ScreenKind::Window && s.name == title)
        .unwrap_or_else(|| panic!("the window is listed: {screens:?}"))
        .clone();
    assert_eq!(listed.id, window.id());

    // Pointer far away (bottom-right of the display), so the pictures are exactly the content.
    window.move_pointer(-37 + 1900, -29 + 1060).unwrap();
    let mut picture = ScreenPicture::default();
    let mut capture = ScreenCapture::open(&listed).unwrap();
    capture.grab(&mut picture).unwrap();
    assert_eq!((picture.width, picture.height), (320, 200));
    assert!(
        same_region(&picture, (0, 0), &content),
        "the window's picture is its content"
    );

    let mut whole = ScreenPicture::default();
    ScreenCapture::open(&display).unwrap().grab(&mut whole).unwrap();
    assert!(
        whole.width >= 640 && whole.height >= 480,
        "{}x{}",
        whole.width,
        whole.height
    );
    assert!(
        same_region(&whole, (37, 29), &content),
        "the display shows the window where it is"
    );

    // The pointer over the white stroke area is drawn into the picture.
    window.move_pointer(20, 150).unwrap();
    capture.grab(&mut picture).unwrap();
    let changed = (140..200)
        .flat_map(|y| (0..80).map(move |x| (x, y)))
        .filter(|&(x, y)| picture.rgb(x, y) != content.rgb(x, y))
        .count();
    assert!(changed > 20, "the pointer shows: {changed} pixels differ");

    // Waiting for a change: a still screen waits until the deadline; a redrawn window ends
    // the wait at once (the X server reports the damage).
    let mut display_capture = ScreenCapture::open(&display).unwrap();
    display_capture.grab(&mut whole).unwrap();
    let far = Instant::now() + Duration::from_secs(60);
    let started = Instant::now();
    display_capture.wait_for_change(far, started + Duration::from_millis(300), &|| false);
    assert!(
        started.elapsed() >= Duration::from_millis(290),
        "nothing changed, yet {:?}",
        started.elapsed()
    );
    // A viewer asking for a keyframe ends a still screen's wait at once.
    let started = Instant::now();
    let asked_at = started + Duration::from_millis(50);
    display_capture.wait_for_change(far, started + Duration::from_secs(5), &|| Instant::now() >= asked_at);
    assert!(
        started.elapsed() < Duration::from_millis(150),
        "a keyframe request was answered after {:?}",
        started.elapsed()
    );
    display_capture.grab(&mut whole).unwrap();
    let started = Instant::now();
    let mut window = window;
    window.show(&known_content(320, 200)).unwrap();
    display_capture.wait_for_change(far, started + Duration::from_secs(5), &|| false);
    assert!(
        started.elapsed() < Duration::from_millis(200),
        "the redraw was seen after {:?}",
        started.elapsed()
    );

    drop(window);
    match capture.grab(&mut picture) {
        Err(ScreenError::Gone(name)) => assert_eq!(name, title),
        other => panic!("a closed window ends the capture, got {other:?}"),
    }
    let missing = ScreenChoice {
        kind: ScreenKind::Window,
        id: listed.id,
        name: title.clone(),
    };
    assert_eq!(ScreenCapture::open(&missing).err(), Some(ScreenError::Gone(title)));
}
