//! A headless `videomeet` driven through its input, as scripts drive it (for the tests
//! that send it commands).

use std::io::Write;
use std::process::{ChildStdin, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::common::{Running, read_lines, start_host, videomeet};

/// Tells a line looked for.
pub type Wanted<'a> = &'a dyn Fn(&Value) -> bool;

/// A headless `videomeet` with its input and output.
pub struct Program {
    pub name: &'static str,
    pub process: Running,
    pub input: ChildStdin,
    pub lines: Receiver<String>,
}

impl Program {
    /// A headless guest called `name`, joining `link`, with a small camera.
    pub fn guest(name: &'static str, link: &str) -> Self {
        Self::guest_with(name, link, &[], std::iter::empty::<(&str, &str)>())
    }

    /// [`Program::guest`] with `args` and `env` added.
    pub fn guest_with<K, V>(
        name: &'static str,
        link: &str,
        args: &[&str],
        env: impl IntoIterator<Item = (K, V)>,
    ) -> Self
    where
        K: AsRef<std::ffi::OsStr>,
        V: AsRef<std::ffi::OsStr>,
    {
        let mut process = Running(
            videomeet(&["join", "--headless", link, "--name", name, "--size", "320x240"])
                .args(args)
                .envs(env)
                .stdin(Stdio::piped())
                .spawn()
                .expect("the guest starts"),
        );
        let input = process.0.stdin.take().expect("its input");
        let lines = read_lines(name, process.0.stdout.take().expect("its output"));
        Self {
            name,
            process,
            input,
            lines,
        }
    }

    /// Sends one line on the program's input.
    pub fn say(&mut self, line: &str) {
        writeln!(self.input, "{line}").expect("the program reads its input");
    }

    /// Reads lines until one is `wanted`, for up to 10 s; panics naming `what` otherwise.
    pub fn next(&self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            let Ok(line) = self.lines.recv_timeout(left) else { break };
            let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            if wanted(&event) {
                return event;
            }
            seen.push(event["event"].clone());
        }
        panic!("{} never printed {what}; it printed {seen:?}", self.name)
    }

    /// Reads lines until each of `wanted` has come, in any order (a program may print
    /// what a command caused before its answer to it), for up to 10 s each; returns them in
    /// the order asked for.
    pub fn each_of(&self, wanted: &[(&str, Wanted<'_>)]) -> Vec<Value> {
        let mut found: Vec<Option<Value>> = vec![None; wanted.len()];
        while found.iter().any(Option::is_none) {
            let missing: Vec<&str> = wanted
                .iter()
                .zip(&found)
                .filter(|(_, found)| found.is_none())
                .map(|((what, _), _)| *what)
                .collect();
            let event = self.next(&missing.join(" and "), |e| {
                wanted
                    .iter()
                    .zip(&found)
                    .any(|((_, is), found)| found.is_none() && is(e))
            });
            let index = (0..wanted.len())
                .find(|&index| found[index].is_none() && (wanted[index].1)(&event))
                .expect("one of them");
            found[index] = Some(event);
        }
        found.into_iter().flatten().collect()
    }

    /// Sends `line` and reads until both its answer and the line `wanted` (`what`) have
    /// come, in either order; returns both.
    pub fn ask_and_see(&mut self, line: &str, what: &str, wanted: impl Fn(&Value) -> bool) -> (Value, Value) {
        self.say(line);
        let answer = |e: &Value| e["line"] == line;
        let [answer, seen] = &self.each_of(&[("an answer", &answer), (what, &wanted)])[..] else {
            unreachable!("each_of gives one line for each asked for")
        };
        (answer.clone(), seen.clone())
    }

    /// Sends `line` and returns the program's answer to it.
    pub fn ask(&mut self, line: &str) -> Value {
        self.say(line);
        self.next(&format!("an answer to {line}"), |e| e["line"] == line)
    }
}

/// A headless host (see [`start_host`]) as a [`Program`], with its `joined` event.
pub fn host(args: &[&str]) -> (Program, Value) {
    let (mut process, lines, joined) = start_host(args);
    let host = Program {
        name: "the host",
        input: process.0.stdin.take().expect("the host's input"),
        process,
        lines,
    };
    (host, joined)
}
