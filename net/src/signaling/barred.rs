//! Who the host turned away or removed (sessions and addresses): they stay out, within a
//! bounded memory, until the host lets them ask again.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

use crate::protocol::DenyReason;

/// Entries remembered; the oldest are forgotten beyond this.
const MAX_BARRED: usize = 4096;

/// Keys (session tokens, addresses) the host turned away, with why; the oldest are
/// forgotten first, so a stream of new ones cannot grow memory.
pub(crate) struct Barred<K> {
    reasons: HashMap<K, DenyReason>,
    order: VecDeque<K>,
}

impl<K> Default for Barred<K> {
    fn default() -> Self {
        Self {
            reasons: HashMap::new(),
            order: VecDeque::new(),
        }
    }
}

impl<K: Clone + Eq + Hash> Barred<K> {
    /// Keeps `key` out with `reason` (nothing to keep out without a key).
    pub fn bar(&mut self, key: Option<&K>, reason: DenyReason) {
        let Some(key) = key else { return };
        if self.reasons.insert(key.clone(), reason).is_none() {
            self.order.push_back(key.clone());
        }
        while self.order.len() > MAX_BARRED {
            if let Some(oldest) = self.order.pop_front() {
                self.reasons.remove(&oldest);
            }
        }
    }

    /// Why `key` is kept out, if it is.
    pub fn reason(&self, key: Option<&K>) -> Option<DenyReason> {
        key.and_then(|key| self.reasons.get(key)).copied()
    }

    /// Lets everyone back.
    pub fn clear(&mut self) {
        self.reasons.clear();
        self.order.clear();
    }
}
