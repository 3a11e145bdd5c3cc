//! The log on disk and crash reports: logs go to a size-rotated file in the platform's data
//! folder (`~/.local/share/videomeet/logs` on Linux; `VIDEOMEET_DATA_DIR` puts it elsewhere),
//! and a panic writes a crash report with the end of that log beside it, says where on
//! stderr, and is pointed out again at the next start.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

/// A log file is rotated when it grows past this.
const MAX_LOG_BYTES: u64 = 5 * 1024 * 1024;
/// Rotated logs kept besides the current one (`videomeet.log.1` is the newest).
const KEPT_LOGS: u32 = 3;
/// Lines of the log copied into a crash report.
const TAIL_LINES: usize = 200;
const LOG_NAME: &str = "videomeet.log";
/// Holds the name of the crash report already pointed out at a start.
const REPORTED_MARK: &str = "crash-reported";

/// A log file that starts a new file when it grows past [`MAX_LOG_BYTES`], keeping
/// [`KEPT_LOGS`] old ones. Cloning shares the file.
#[derive(Clone)]
pub struct RotatingLog(Arc<Mutex<Open>>);

struct Open {
    folder: PathBuf,
    file: File,
    written: u64,
}

impl RotatingLog {
    /// Opens (appending to) `folder/videomeet.log`, creating the folder.
    pub fn open(folder: &Path) -> io::Result<Self> {
        fs::create_dir_all(folder)?;
        let path = folder.join(LOG_NAME);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let written = file.metadata()?.len();
        Ok(Self(Arc::new(Mutex::new(Open {
            folder: folder.to_path_buf(),
            file,
            written,
        }))))
    }
}

impl Open {
    fn rotate(&mut self) -> io::Result<()> {
        let name = |n: u32| self.folder.join(format!("{LOG_NAME}.{n}"));
        let _ = fs::remove_file(name(KEPT_LOGS));
        for n in (1..KEPT_LOGS).rev() {
            let _ = fs::rename(name(n), name(n + 1));
        }
        fs::rename(self.folder.join(LOG_NAME), name(1))?;
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.folder.join(LOG_NAME))?;
        self.written = 0;
        Ok(())
    }
}

impl Write for RotatingLog {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut open = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if open.written + bytes.len() as u64 > MAX_LOG_BYTES && open.written > 0 {
            open.rotate()?;
        }
        open.file.write_all(bytes)?;
        open.written += bytes.len() as u64;
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).file.flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RotatingLog {
    type Writer = Self;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The last `lines` lines of the log in `folder`.
fn log_tail(folder: &Path, lines: usize) -> String {
    let text = fs::read_to_string(folder.join(LOG_NAME)).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Writes a crash report for `panic` into `folder`: what happened, where, the backtrace and
/// the end of the log. Returns its path.
pub fn write_crash_report(folder: &Path, panic: &str, backtrace: &str) -> io::Result<PathBuf> {
    fs::create_dir_all(folder)?;
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let path = folder.join(format!("crash-{seconds}-{}.txt", std::process::id()));
    let report = format!(
        "Video Meet {} crashed.\n\n{panic}\n\nBacktrace:\n{backtrace}\n\nThe last {TAIL_LINES} lines of the log:\n{}\n",
        env!("CARGO_PKG_VERSION"),
        log_tail(folder, TAIL_LINES),
    );
    fs::write(&path, report)?;
    Ok(path)
}

/// Makes a panic write a crash report into `folder` and say where on stderr, before the
/// usual panic message.
pub fn install_crash_reports(folder: PathBuf) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let backtrace = std::backtrace::Backtrace::force_capture().to_string();
        match write_crash_report(&folder, &info.to_string(), &backtrace) {
            Ok(path) => eprintln!("Video Meet crashed; the report is in {}", path.display()),
            Err(error) => eprintln!("Video Meet crashed, and the report could not be written: {error}"),
        }
        previous(info);
    }));
}

/// The newest crash report in `folder` not pointed out before; marks it as pointed out.
pub fn unreported_crash(folder: &Path) -> Option<PathBuf> {
    let newest = fs::read_dir(folder)
        .ok()?
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("crash-"))
        .filter(|entry| entry.file_name() != REPORTED_MARK)
        .max_by_key(|entry| entry.metadata().and_then(|m| m.modified()).ok())?
        .path();
    let name = newest.file_name()?.to_string_lossy().into_owned();
    let mark = folder.join(REPORTED_MARK);
    if fs::read_to_string(&mark).is_ok_and(|reported| reported == name) {
        return None;
    }
    let _ = fs::write(mark, name);
    Some(newest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let folder = std::env::temp_dir().join(format!("videomeet-logfile-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&folder);
        folder
    }

    #[test]
    fn the_log_rotates_and_keeps_a_few_old_files() {
        let folder = scratch("rotate");
        let mut log = RotatingLog::open(&folder).expect("opens");
        let line = vec![b'x'; 1024 * 1024];
        for _ in 0..(5 * 4 + 2) {
            log.write_all(&line).expect("written");
        }
        let size = |name: &str| fs::metadata(folder.join(name)).map(|m| m.len()).ok();
        assert!(size(LOG_NAME).is_some_and(|s| s <= MAX_LOG_BYTES));
        for n in 1..=KEPT_LOGS {
            assert!(
                size(&format!("{LOG_NAME}.{n}")).is_some_and(|s| s <= MAX_LOG_BYTES),
                "{n}"
            );
        }
        assert!(
            size(&format!("{LOG_NAME}.{}", KEPT_LOGS + 1)).is_none(),
            "older logs removed"
        );
        fs::remove_dir_all(folder).expect("cleaned up");
    }

    #[test]
    fn a_crash_report_holds_the_panic_and_the_log_tail_and_is_pointed_out_once() {
        let folder = scratch("crash");
        let mut log = RotatingLog::open(&folder).expect("opens");
        for n in 0..300 {
            writeln!(log, "line {n}").expect("written");
        }
        let path = write_crash_report(&folder, "panicked at meeting.rs:1: boom", "0: main").expect("written");
        let report = fs::read_to_string(&path).expect("readable");
        assert!(report.contains("boom") && report.contains("0: main"), "{report}");
        assert!(
            report.contains("line 299") && !report.contains("line 99\n"),
            "only the tail"
        );
        assert_eq!(unreported_crash(&folder), Some(path));
        assert_eq!(unreported_crash(&folder), None, "pointed out once");
        fs::remove_dir_all(folder).expect("cleaned up");
    }
}
