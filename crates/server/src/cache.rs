//! A short-lived cache of serialised read answers (account summaries, details, holdings).
//!
//! Investment data changes only at the daily load and at deposits, so a read may be served from
//! memory for `read_cache_ms` (default 1 s). A deposit confirmed on this replica invalidates
//! everything at once; other replicas (and a load run by another process) are at most that old.
//! Keys always include the caller's scope, so one customer's entry is never another's answer.

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;

const SHARDS: usize = 16;
const MAX_PER_SHARD: usize = 20_000;

struct Entry {
    at: Instant,
    generation: u64,
    body: Bytes,
}

pub struct ReadCache {
    ttl: Duration,
    generation: AtomicU64,
    shards: Vec<RwLock<HashMap<String, Entry>>>,
}

impl ReadCache {
    pub fn new(ttl: Duration) -> ReadCache {
        ReadCache {
            ttl,
            generation: AtomicU64::new(0),
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
        }
    }

    fn shard(&self, key: &str) -> &RwLock<HashMap<String, Entry>> {
        let h = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        &self.shards[(h as usize) % SHARDS]
    }

    pub fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    pub fn get(&self, key: &str) -> Option<Bytes> {
        if !self.enabled() {
            return None;
        }
        let generation = self.generation.load(Ordering::Acquire);
        let shard = self.shard(key).read().ok()?;
        let e = shard.get(key)?;
        (e.generation == generation && e.at.elapsed() < self.ttl).then(|| e.body.clone())
    }

    /// The generation to pass to [`ReadCache::put`]: take it before reading the database, so
    /// that an answer computed across an invalidation is never stored as current.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn put(&self, key: String, body: Bytes, generation: u64) {
        if !self.enabled() || generation != self.generation() {
            return;
        }
        if let Ok(mut shard) = self.shard(&key).write() {
            if shard.len() >= MAX_PER_SHARD {
                shard.clear();
            }
            shard.insert(
                key,
                Entry {
                    at: Instant::now(),
                    generation,
                    body,
                },
            );
        }
    }

    /// Forgets every entry (after a write on this replica).
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_invalidate() {
        let c = ReadCache::new(Duration::from_millis(50));
        c.put("a".into(), Bytes::from_static(b"1"), c.generation());
        assert_eq!(c.get("a"), Some(Bytes::from_static(b"1")));
        assert_eq!(c.get("b"), None);
        c.invalidate();
        assert_eq!(c.get("a"), None, "invalidated");
        c.put("a".into(), Bytes::from_static(b"2"), c.generation());
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(c.get("a"), None, "expired");
        let off = ReadCache::new(Duration::ZERO);
        off.put("a".into(), Bytes::from_static(b"1"), off.generation());
        assert_eq!(off.get("a"), None);
    }

    #[test]
    fn an_answer_computed_across_an_invalidation_is_not_kept() {
        let c = ReadCache::new(Duration::from_secs(60));
        let before = c.generation();
        // A deposit commits while the read that began before it is still running.
        c.invalidate();
        c.put("a".into(), Bytes::from_static(b"stale"), before);
        assert_eq!(c.get("a"), None);
    }
}
