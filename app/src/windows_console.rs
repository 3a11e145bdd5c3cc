//! On Windows the program is a GUI program, so that no console window opens with it; started
//! from a console (cmd, PowerShell, Windows Terminal), it writes to that console all the same:
//! `--help`, `devices`, headless meetings. Output that is redirected (a pipe, a file) goes
//! where it was sent, as before.

/// Writes to the console of the program that started us, if it has one and our output was
/// not sent elsewhere.
#[allow(unsafe_code)] // two Win32 calls with numbers, no pointers kept
pub fn attach_to_parent() {
    /// `AttachConsole`'s "the parent process" (wincon.h).
    const ATTACH_PARENT_PROCESS: u32 = u32::MAX;
    /// `GetStdHandle`'s standard output, (DWORD)-11 (processenv.h).
    const STD_OUTPUT_HANDLE: u32 = -11i32 as u32;
    /// `INVALID_HANDLE_VALUE`, (HANDLE)-1.
    const INVALID_HANDLE_VALUE: isize = -1;
    #[link(name = "kernel32")]
    unsafe extern "system" {
        fn AttachConsole(process: u32) -> i32;
        fn GetStdHandle(which: u32) -> isize;
    }
    // SAFETY: plain Win32 calls with numbers; AttachConsole fails harmlessly without a
    // parent console.
    unsafe {
        let output = GetStdHandle(STD_OUTPUT_HANDLE);
        if output == 0 || output == INVALID_HANDLE_VALUE {
            AttachConsole(ATTACH_PARENT_PROCESS);
        }
    }
}
