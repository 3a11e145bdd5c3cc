//! The history database's file: opened with the settings it needs, checked, kept aside when
//! damaged, and brought up to the current schema one migration at a time.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

/// Each version's changes, in order: version N is reached by running the first N.
/// `PRAGMA user_version` says which version a file has. Never change one that has
/// shipped: add the next.
pub const MIGRATIONS: &[&str] = &[
    // 1: meetings, who was there, the chat.
    "CREATE TABLE meetings (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        host_name TEXT NOT NULL,
        code TEXT NOT NULL,
        address TEXT NOT NULL,
        hosted INTEGER NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER,
        end_reason TEXT,
        last_seen_at INTEGER NOT NULL
    );
    CREATE INDEX meetings_by_start ON meetings (started_at);
    CREATE TABLE people (
        id INTEGER PRIMARY KEY,
        meeting_id INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
        peer_id INTEGER NOT NULL,
        name TEXT NOT NULL,
        joined_at INTEGER NOT NULL,
        left_at INTEGER
    );
    CREATE INDEX people_by_meeting ON people (meeting_id);
    CREATE TABLE chat (
        id INTEGER PRIMARY KEY,
        meeting_id INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        from_id INTEGER NOT NULL,
        sender_name TEXT NOT NULL,
        text TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        private_to TEXT,
        UNIQUE (meeting_id, seq)
    );",
    // 2: files sent and received, recordings made.
    "CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        meeting_id INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        sender_name TEXT NOT NULL,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('sent', 'received')),
        saved_path TEXT,
        state TEXT NOT NULL,
        UNIQUE (meeting_id, seq)
    );
    CREATE TABLE recordings (
        id INTEGER PRIMARY KEY,
        meeting_id INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        ended_at INTEGER
    );
    CREATE INDEX recordings_by_meeting ON recordings (meeting_id);",
];

/// The schema version this program writes.
pub const CURRENT_VERSION: usize = MIGRATIONS.len();

/// How long a write waits for another connection (a second window) to finish its own.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// `<folder>/history.sqlite3` beside a damaged one: `history.sqlite3.damaged`.
pub fn damaged_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".damaged");
    PathBuf::from(name)
}

/// Opens the database at `path`, creating it and its folder if needed. A file that is not
/// a database, or fails SQLite's quick check, is kept aside as `history.sqlite3.damaged`
/// (nothing is deleted) and a new one started.
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    if let Some(folder) = path.parent()
        && let Err(error) = std::fs::create_dir_all(folder)
    {
        tracing::warn!(folder = %folder.display(), %error, "could not make the history's folder");
    }
    match open_checked(path) {
        Ok(connection) => Ok(connection),
        Err(error) => {
            let aside = damaged_path(path);
            tracing::warn!(path = %path.display(), %error, aside = %aside.display(), "damaged history kept aside");
            keep_aside(path, &aside);
            open_checked(path)
        }
    }
}

/// Opens, checks and migrates; any error means the file cannot be used as it is.
fn open_checked(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    let check: String = connection.query_row("PRAGMA quick_check", [], |row| row.get(0))?;
    if check != "ok" {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some(check),
        ));
    }
    // WAL: a reader never blocks the writer, and a killed program loses nothing committed.
    // NORMAL is safe in WAL mode against a crash of the program (only a power cut may lose
    // the last moments).
    let _mode: String = connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.pragma_update(None, "foreign_keys", true)?;
    migrate(&connection)?;
    Ok(connection)
}

/// Runs the migrations this file has not had yet, each in a transaction with its version.
pub fn migrate(connection: &Connection) -> rusqlite::Result<()> {
    let version: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    let version = usize::try_from(version).unwrap_or(0);
    if version > CURRENT_VERSION {
        tracing::warn!(version, "the history was written by a newer Video Meet; used as it is");
    }
    for (done, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        let transaction = connection.unchecked_transaction()?;
        transaction.execute_batch(migration)?;
        transaction.pragma_update(None, "user_version", i64::try_from(done + 1).unwrap_or(i64::MAX))?;
        transaction.commit()?;
    }
    Ok(())
}

/// Moves the damaged file (and its write-ahead log, which belongs to it) out of the way.
fn keep_aside(path: &Path, aside: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut from = path.as_os_str().to_owned();
        from.push(suffix);
        let mut to = aside.as_os_str().to_owned();
        to.push(suffix);
        match std::fs::rename(&from, &to) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                tracing::warn!(path = %Path::new(&from).display(), %error, "could not keep the damaged history aside")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::testing::temp_folder;

    /// Every table of the current version.
    const TABLES: [&str; 5] = ["chat", "files", "meetings", "people", "recordings"];

    /// The one value `sql` reads.
    fn value<T: rusqlite::types::FromSql>(connection: &Connection, sql: &str) -> T {
        connection
            .query_row(sql, [], |row| row.get(0))
            .unwrap_or_else(|error| panic!("{sql}: {error}"))
    }

    fn user_version(connection: &Connection) -> usize {
        usize::try_from(value::<i64>(connection, "PRAGMA user_version")).expect("a version")
    }

    fn tables(connection: &Connection) -> Vec<String> {
        let mut statement = connection
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .expect("prepare");
        statement
            .query_map([], |row| row.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    #[test]
    fn a_new_database_has_every_table_wal_and_foreign_keys() {
        let path = temp_folder("schema-new").join("history.sqlite3");
        let connection = open(&path).expect("opens");
        assert_eq!(tables(&connection), TABLES);
        assert_eq!(user_version(&connection), CURRENT_VERSION);
        assert_eq!(value::<String>(&connection, "PRAGMA journal_mode"), "wal");
        assert!(value::<bool>(&connection, "PRAGMA foreign_keys"));
        // Opening again changes nothing and runs no migration twice.
        drop(connection);
        let again = open(&path).expect("opens again");
        assert_eq!(tables(&again), TABLES);
    }

    /// A file of every older version, with a meeting, its people and its chat in it,
    /// opens with the current code, its rows intact, and gains the newer tables.
    #[test]
    fn every_older_version_migrates_and_keeps_its_rows() {
        for version in 1..CURRENT_VERSION {
            let path = temp_folder(&format!("schema-v{version}")).join("history.sqlite3");
            {
                let old = Connection::open(&path).expect("old file");
                for migration in &MIGRATIONS[..version] {
                    old.execute_batch(migration).expect("old schema");
                }
                old.pragma_update(None, "user_version", i64::try_from(version).expect("small"))
                    .expect("version");
                old.execute_batch(
                    "INSERT INTO meetings (id, title, host_name, code, address, hosted, started_at, ended_at, end_reason, last_seen_at)
                         VALUES (7, 'Standup', 'Grace', 'K7QX3MZP', '192.168.1.20:47800', 0, 1000, 5000, 'left', 5000);
                     INSERT INTO people (meeting_id, peer_id, name, joined_at, left_at) VALUES (7, 1, 'Grace', 1000, 5000);
                     INSERT INTO people (meeting_id, peer_id, name, joined_at, left_at) VALUES (7, 2, 'Ada', 1200, NULL);
                     INSERT INTO chat (meeting_id, seq, from_id, sender_name, text, sent_at, private_to)
                         VALUES (7, 1, 2, 'Ada', 'hello', 1300, NULL);
                     INSERT INTO chat (meeting_id, seq, from_id, sender_name, text, sent_at, private_to)
                         VALUES (7, 2, 1, 'Grace', 'psst', 1400, 'Ada');",
                )
                .expect("old rows");
            }
            let connection = open(&path).expect("opens with the current code");
            assert!(!damaged_path(&path).exists(), "version {version} was taken for damaged");
            assert_eq!(
                value::<String>(&connection, "SELECT title FROM meetings WHERE id = 7"),
                "Standup"
            );
            assert_eq!(
                value::<i64>(&connection, "SELECT COUNT(*) FROM people WHERE meeting_id = 7"),
                2
            );
            assert_eq!(
                value::<String>(&connection, "SELECT private_to FROM chat WHERE seq = 2"),
                "Ada"
            );
            assert_eq!(tables(&connection), TABLES);
            // The new tables work with the old rows.
            connection
                .execute(
                    "INSERT INTO files (meeting_id, seq, sender_name, name, size, direction, state)
                     VALUES (7, 1, 'Ada', 'slides.pdf', 10, 'received', 'offered')",
                    [],
                )
                .expect("a file row for an old meeting");
            assert_eq!(user_version(&connection), CURRENT_VERSION);
        }
    }

    #[test]
    fn a_file_that_is_not_a_database_is_kept_aside_and_a_new_one_started() {
        let folder = temp_folder("schema-garbage");
        let path = folder.join("history.sqlite3");
        let garbage = "this is not a database, just some text that is long enough to hold a header".repeat(20);
        std::fs::write(&path, &garbage).expect("write");
        let connection = open(&path).expect("a new database");
        assert_eq!(tables(&connection), TABLES);
        let aside = std::fs::read_to_string(folder.join("history.sqlite3.damaged")).expect("kept aside");
        assert_eq!(aside, garbage);
    }

    #[test]
    fn a_database_that_fails_its_check_is_kept_aside() {
        let folder = temp_folder("schema-corrupt");
        let path = folder.join("history.sqlite3");
        {
            let connection = open(&path).expect("opens");
            connection
                .execute_batch(
                    "INSERT INTO meetings (title, host_name, code, address, hosted, started_at, last_seen_at)
                     VALUES ('Standup', 'Grace', 'K7QX3MZP', 'h:1', 1, 1, 1);
                     PRAGMA journal_mode = DELETE;",
                )
                .expect("a row");
        }
        // Scribble over the second page onwards, where the tables and indexes live, leaving
        // the header: SQLite still opens the file, and its check finds the damage.
        let mut bytes = std::fs::read(&path).expect("read");
        assert!(bytes.len() > 8192, "more than two pages");
        for byte in &mut bytes[4096..] {
            *byte = 0xA5;
        }
        std::fs::write(&path, &bytes).expect("scribble");
        let connection = open(&path).expect("a new database");
        assert_eq!(
            value::<i64>(&connection, "SELECT COUNT(*) FROM meetings"),
            0,
            "a new, empty history"
        );
        assert_eq!(
            std::fs::read(damaged_path(&path)).expect("kept aside"),
            bytes,
            "the damaged file is kept as it was"
        );
    }
}
