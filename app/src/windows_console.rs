//! On Windows the program is a GUI program, so that no console window opens with it; started
//! from a console (cmd, PowerShell, Windows Terminal), it writes to that console all the same:
//! `--help`, `devices`, headless meetings. Output that is redirected (a pipe, a file) goes
//! where it was sent, as before.

/// Writes to the console of the program that started us, if it has one.
#[allow(unsafe_code)] // one Win32 call, no pointers
pub fn attach_to_parent() {
    /// `AttachConsole`'s "the parent process" (wincon.h).
    const ATTACH_PARENT_PROCESS: u32 = u32::MAX;
    #[link(name = "kernel32")]
    unsafe extern "system" {
        fn AttachConsole(process: u32) -> i32;
    }
    // SAFETY: a plain Win32 call with a number; it fails harmlessly without a parent console.
    unsafe {
        AttachConsole(ATTACH_PARENT_PROCESS);
    }
}
