//! The SQL behind the history: one function per thing written or read. Each write is a
//! statement of its own (autocommit), so whatever was written survives the program being
//! killed the moment after.

use std::path::PathBuf;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::records::{
    ChatLine, Direction, FileLine, MeetingDetails, MeetingId, MeetingSummary, PersonLine, Record, RecordingLine,
};

/// Writes `record` about `meeting`; a [`Record::Started`] makes the meeting's row and
/// returns it.
pub fn write(
    connection: &Connection,
    meeting: Option<MeetingId>,
    record: &Record,
) -> rusqlite::Result<Option<MeetingId>> {
    if let Record::Started {
        title,
        host_name,
        code,
        address,
        hosted,
        at_ms,
    } = record
    {
        connection.execute(
            "INSERT INTO meetings (title, host_name, code, address, hosted, started_at, last_seen_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![title, host_name, code, address, hosted, at_ms],
        )?;
        return Ok(Some(connection.last_insert_rowid()));
    }
    let Some(meeting) = meeting else {
        return Ok(None);
    };
    match record {
        Record::Started { .. } => {}
        Record::PersonJoined { peer_id, name, at_ms } => {
            connection.execute(
                "INSERT INTO people (meeting_id, peer_id, name, joined_at) VALUES (?1, ?2, ?3, ?4)",
                params![meeting, peer_id, name, at_ms],
            )?;
        }
        Record::PersonLeft { peer_id, at_ms } => {
            connection.execute(
                "UPDATE people SET left_at = ?3 WHERE meeting_id = ?1 AND peer_id = ?2 AND left_at IS NULL",
                params![meeting, peer_id, at_ms],
            )?;
        }
        Record::Renamed { peer_id, name } => {
            connection.execute(
                "UPDATE people SET name = ?3 WHERE meeting_id = ?1 AND peer_id = ?2 AND left_at IS NULL",
                params![meeting, peer_id, name],
            )?;
        }
        Record::Chat(line) => {
            connection.execute(
                "INSERT INTO chat (meeting_id, seq, from_id, sender_name, text, sent_at, private_to)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    meeting,
                    to_sql_int(line.seq),
                    line.from_id,
                    line.sender_name,
                    line.text,
                    line.sent_at_ms,
                    line.private_to
                ],
            )?;
        }
        Record::FileOffered {
            seq,
            sender_name,
            name,
            size,
            direction,
        } => {
            connection.execute(
                "INSERT INTO files (meeting_id, seq, sender_name, name, size, direction, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'offered')",
                params![
                    meeting,
                    to_sql_int(*seq),
                    sender_name,
                    name,
                    to_sql_int(*size),
                    direction.as_str()
                ],
            )?;
        }
        Record::FileSaved { seq, path } => {
            connection.execute(
                "UPDATE files SET saved_path = ?3 WHERE meeting_id = ?1 AND seq = ?2",
                params![meeting, to_sql_int(*seq), path.to_string_lossy()],
            )?;
        }
        Record::FileState { seq, state } => {
            connection.execute(
                "UPDATE files SET state = ?3 WHERE meeting_id = ?1 AND seq = ?2",
                params![meeting, to_sql_int(*seq), state],
            )?;
        }
        Record::RecordingStarted { path, at_ms } => {
            connection.execute(
                "INSERT INTO recordings (meeting_id, path, started_at) VALUES (?1, ?2, ?3)",
                params![meeting, path.to_string_lossy(), at_ms],
            )?;
        }
        Record::RecordingEnded { path, at_ms } => {
            connection.execute(
                "UPDATE recordings SET ended_at = ?3 WHERE meeting_id = ?1 AND path = ?2 AND ended_at IS NULL",
                params![meeting, path.to_string_lossy(), at_ms],
            )?;
        }
        Record::Ended { at_ms, reason } => {
            connection.execute(
                "UPDATE meetings SET ended_at = ?2, end_reason = ?3, last_seen_at = ?2 WHERE id = ?1",
                params![meeting, at_ms, reason],
            )?;
            // Whoever was still there was there until the end, as far as we know.
            connection.execute(
                "UPDATE people SET left_at = ?2 WHERE meeting_id = ?1 AND left_at IS NULL",
                params![meeting, at_ms],
            )?;
            connection.execute(
                "UPDATE recordings SET ended_at = ?2 WHERE meeting_id = ?1 AND ended_at IS NULL",
                params![meeting, at_ms],
            )?;
        }
    }
    Ok(Some(meeting))
}

/// Marks `meeting` as still going at `at_ms`.
pub fn touch(connection: &Connection, meeting: MeetingId, at_ms: i64) -> rusqlite::Result<()> {
    connection.execute(
        "UPDATE meetings SET last_seen_at = ?2 WHERE id = ?1",
        params![meeting, at_ms],
    )?;
    Ok(())
}

const SUMMARY_COLUMNS: &str = "id, title, host_name, code, address, hosted, started_at, ended_at, end_reason,
    last_seen_at, (SELECT COUNT(DISTINCT name) FROM people WHERE people.meeting_id = meetings.id)";

fn summary(row: &Row<'_>) -> rusqlite::Result<MeetingSummary> {
    Ok(MeetingSummary {
        id: row.get(0)?,
        title: row.get(1)?,
        host_name: row.get(2)?,
        code: row.get(3)?,
        address: row.get(4)?,
        hosted: row.get(5)?,
        started_at_ms: row.get(6)?,
        ended_at_ms: row.get(7)?,
        end_reason: row.get(8)?,
        last_seen_at_ms: row.get(9)?,
        people: usize::try_from(row.get::<_, i64>(10)?).unwrap_or(0),
    })
}

/// The `limit` most recent meetings, newest first.
pub fn recent(connection: &Connection, limit: usize) -> rusqlite::Result<Vec<MeetingSummary>> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM meetings ORDER BY started_at DESC, id DESC LIMIT ?1"
    ))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    statement.query_map([limit], summary)?.collect()
}

/// Everything about one meeting; `None` when it is not (or no longer) in the history.
pub fn details(connection: &Connection, id: MeetingId) -> rusqlite::Result<Option<MeetingDetails>> {
    let Some(summary) = connection
        .query_row(
            &format!("SELECT {SUMMARY_COLUMNS} FROM meetings WHERE id = ?1"),
            [id],
            summary,
        )
        .optional()?
    else {
        return Ok(None);
    };
    let people = rows_of(
        connection,
        "SELECT name, joined_at, left_at FROM people WHERE meeting_id = ?1 ORDER BY joined_at, id",
        id,
        |row| {
            Ok(PersonLine {
                name: row.get(0)?,
                joined_at_ms: row.get(1)?,
                left_at_ms: row.get(2)?,
            })
        },
    )?;
    let chat = rows_of(
        connection,
        "SELECT seq, from_id, sender_name, text, sent_at, private_to FROM chat WHERE meeting_id = ?1 ORDER BY seq",
        id,
        |row| {
            Ok(ChatLine {
                seq: from_sql_int(row.get(0)?),
                from_id: row.get(1)?,
                sender_name: row.get(2)?,
                text: row.get(3)?,
                sent_at_ms: row.get(4)?,
                private_to: row.get(5)?,
            })
        },
    )?;
    let files = rows_of(
        connection,
        "SELECT seq, sender_name, name, size, direction, saved_path, state FROM files WHERE meeting_id = ?1 ORDER BY seq",
        id,
        |row| {
            Ok(FileLine {
                seq: from_sql_int(row.get(0)?),
                sender_name: row.get(1)?,
                name: row.get(2)?,
                size: from_sql_int(row.get(3)?),
                direction: Direction::from_name(&row.get::<_, String>(4)?),
                saved_path: row.get::<_, Option<String>>(5)?.map(PathBuf::from),
                state: row.get(6)?,
            })
        },
    )?;
    let recordings = rows_of(
        connection,
        "SELECT path, started_at, ended_at FROM recordings WHERE meeting_id = ?1 ORDER BY started_at, id",
        id,
        |row| {
            Ok(RecordingLine {
                path: PathBuf::from(row.get::<_, String>(0)?),
                started_at_ms: row.get(1)?,
                ended_at_ms: row.get(2)?,
            })
        },
    )?;
    Ok(Some(MeetingDetails {
        summary,
        people,
        chat,
        files,
        recordings,
    }))
}

/// The rows `sql` selects about meeting `id` (its `?1`), each made by `map`.
fn rows_of<T>(
    connection: &Connection,
    sql: &str,
    id: MeetingId,
    map: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Vec<T>> {
    connection.prepare_cached(sql)?.query_map([id], map)?.collect()
}

/// Deletes one meeting and everything kept about it.
pub fn delete(connection: &Connection, id: MeetingId) -> rusqlite::Result<()> {
    connection.execute("DELETE FROM meetings WHERE id = ?1", [id])?;
    Ok(())
}

/// Deletes every meeting.
pub fn clear(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute("DELETE FROM meetings", [])?;
    Ok(())
}

/// SQLite integers are signed: the few counts and sizes past `i64::MAX` are kept as the largest.
fn to_sql_int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A count or size read back; a negative one (never written by us) reads as 0.
fn from_sql_int(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}
