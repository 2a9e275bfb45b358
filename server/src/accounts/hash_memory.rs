//! Argon2's working memory for password checks, allocated once per hashing turn and reused.
//!
//! Each check needs 19 MiB of blocks (argon2id's default `m_cost`). Allocated per check, a
//! login burst left the service at 5.5-10 GiB resident after it ended (`cargo xtask load`,
//! the wrk login phases): glibc raises its mmap threshold after the first such block is
//! freed, so the next ones come from the blocking-pool threads' own arenas and stay there,
//! one per thread that ever hashed. Here at most one buffer per core exists,
//! the same number as the login limiter's hashing turns, so a check never waits for one in
//! practice; each is wiped after every use (it holds values derived from the password).

use std::sync::{Condvar, Mutex};

use argon2::Block;
use zeroize::Zeroize as _;

/// A bounded set of argon2 working buffers.
pub struct HashMemory {
    state: Mutex<Buffers>,
    returned: Condvar,
    capacity: usize,
}

struct Buffers {
    free: Vec<Vec<Block>>,
    /// Buffers made so far (free or in use); never above the capacity.
    made: usize,
}

impl HashMemory {
    /// A set of at most `capacity` buffers (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(Buffers {
                free: Vec::new(),
                made: 0,
            }),
            returned: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    /// The set every password check in this process shares: one buffer per core, like the
    /// login limiter's hashing turns (`LoginLimiter::hashing`).
    pub fn shared() -> &'static HashMemory {
        static SHARED: std::sync::OnceLock<HashMemory> = std::sync::OnceLock::new();
        SHARED.get_or_init(|| {
            HashMemory::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
        })
    }

    /// Buffers made so far.
    #[cfg(test)]
    pub fn made(&self) -> usize {
        self.lock().made
    }

    /// Runs `f` with `blocks` wiped blocks, waiting for a buffer if all are in use; the
    /// buffer is wiped again and given back after.
    pub fn with_blocks<R>(&self, blocks: usize, f: impl FnOnce(&mut [Block]) -> R) -> R {
        let mut buffer = self.take();
        if buffer.len() < blocks {
            // A stored hash with a larger memory cost than any before: grow this buffer.
            buffer.resize(blocks, Block::default());
        }
        let out = f(&mut buffer[..blocks]);
        buffer.zeroize();
        self.lock().free.push(buffer);
        self.returned.notify_one();
        out
    }

    fn take(&self) -> Vec<Block> {
        let mut state = self.lock();
        loop {
            if let Some(buffer) = state.free.pop() {
                return buffer;
            }
            if state.made < self.capacity {
                state.made += 1;
                return Vec::new();
            }
            state = self.returned.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Buffers> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_concurrent_users_share_at_most_capacity_buffers_and_get_them_wiped() {
        let memory = HashMemory::new(2);
        std::thread::scope(|s| {
            for k in 0..8u64 {
                let memory = &memory;
                s.spawn(move || {
                    for _ in 0..4 {
                        memory.with_blocks(16, |blocks| {
                            // Every buffer handed out is wiped, whatever the last user left.
                            assert!(blocks.iter().all(|b| b.as_ref().iter().all(|w| *w == 0)));
                            for b in blocks.iter_mut() {
                                b.as_mut()[0] = k + 1;
                            }
                            std::thread::sleep(std::time::Duration::from_millis(2));
                        });
                    }
                });
            }
        });
        assert_eq!(memory.made(), 2);
        let state = memory.lock();
        assert!(
            state
                .free
                .iter()
                .all(|b| b.iter().all(|b| b.as_ref().iter().all(|w| *w == 0)))
        );
    }
}
