//! Session tokens the host turned away: they stay out, within a bounded memory.

use std::collections::{HashMap, VecDeque};

use crate::protocol::DenyReason;

/// Denied and removed sessions remembered; the oldest are forgotten beyond this.
const MAX_BARRED_SESSIONS: usize = 4096;

/// Session tokens the host turned away, with why; the oldest are forgotten first, so a
/// stream of new tokens cannot grow memory.
#[derive(Default)]
pub(crate) struct BarredSessions {
    reasons: HashMap<String, DenyReason>,
    order: VecDeque<String>,
}

impl BarredSessions {
    /// Keeps `session` out with `reason`.
    pub fn bar(&mut self, session: Option<&String>, reason: DenyReason) {
        let Some(session) = session else { return };
        if self.reasons.insert(session.clone(), reason).is_none() {
            self.order.push_back(session.clone());
        }
        while self.order.len() > MAX_BARRED_SESSIONS {
            if let Some(oldest) = self.order.pop_front() {
                self.reasons.remove(&oldest);
            }
        }
    }

    /// Why `session` is kept out, if it is.
    pub fn reason(&self, session: Option<&String>) -> Option<DenyReason> {
        session.and_then(|session| self.reasons.get(session)).copied()
    }
}
