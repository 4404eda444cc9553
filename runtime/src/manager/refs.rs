//! Reference counts of one managed object (Python's `incref`/`decref`), counted per client
//! process so that a client that dies drops its references with it.
//!
//! A proxy that is serialized holds a *transit* reference under a random token until a
//! process deserializes it and claims the token (the sender may drop its own proxy at once).
//! A copy deserialized twice claims once and increfs once more; a copy never deserialized
//! keeps its transit reference until the manager stops. A proxy serialized into a value
//! stored in the manager pins its object for the manager's life.

use std::collections::{HashMap, HashSet};

use super::protocol::RefOp;

/// Who keeps one object alive.
#[derive(Debug, Default)]
pub(crate) struct Refs {
    by_client: HashMap<u64, u64>,
    transit: HashSet<u64>,
    pinned: bool,
}

impl Refs {
    /// One reference, of the creating client.
    pub(crate) fn created_by(client: u64) -> Self {
        Self {
            by_client: HashMap::from([(client, 1)]),
            ..Self::default()
        }
    }

    /// Applies `op` from `client` (a drop below zero does nothing).
    pub(crate) fn apply(&mut self, client: u64, op: RefOp) {
        match op {
            RefOp::Mint { token, .. } => {
                self.transit.insert(token);
            }
            RefOp::Claim { token, .. } => {
                if let Some(token) = token {
                    self.transit.remove(&token);
                }
                let count = self.by_client.entry(client).or_default();
                *count = count.saturating_add(1);
            }
            RefOp::Pin { .. } => self.pinned = true,
            RefOp::Drop { .. } => {
                if let Some(count) = self.by_client.get_mut(&client) {
                    *count -= 1;
                    if *count == 0 {
                        self.by_client.remove(&client);
                    }
                }
            }
        }
    }

    /// Drops every reference of `client` (it left).
    pub(crate) fn forget(&mut self, client: u64) {
        self.by_client.remove(&client);
    }

    /// Whether nothing refers to the object any more.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_client.is_empty() && self.transit.is_empty() && !self.pinned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transit_references_keep_an_object_until_claimed() {
        let mut refs = Refs::created_by(1);
        refs.apply(1, RefOp::Mint { id: 0, token: 7 });
        refs.apply(1, RefOp::Drop { id: 0 });
        assert!(!refs.is_empty(), "the copy in transit keeps it");
        refs.apply(
            2,
            RefOp::Claim {
                id: 0,
                token: Some(7),
            },
        );
        refs.apply(
            3,
            RefOp::Claim {
                id: 0,
                token: Some(7),
            },
        );
        refs.apply(2, RefOp::Drop { id: 0 });
        assert!(!refs.is_empty(), "the second copy holds its own reference");
        refs.forget(3);
        assert!(refs.is_empty());
        refs.apply(9, RefOp::Drop { id: 0 });
        assert!(refs.is_empty(), "a drop below zero does nothing");
    }
}
