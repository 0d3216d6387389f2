//! Reproducible random streams.
//!
//! Every random choice in lisse takes an explicit `&mut R where R: Rng + ?Sized`. To run many
//! independent tasks (seeds, replicates, minibatch blocks, noise batches) in parallel with
//! results that do not depend on the thread count, give task `i` its own stream:
//!
//! ```
//! use lisse_core::RngStreams;
//! use rand::RngExt;
//! let streams = RngStreams::new(42);
//! // Task i always sees the same numbers, whichever thread runs it and in whatever order.
//! let a: f64 = streams.stream(3).random();
//! let b: f64 = streams.stream(3).random();
//! assert_eq!(a, b);
//! assert_ne!(a, streams.stream(4).random::<f64>());
//! ```
//!
//! # The scheme
//! A [`RngStreams`] holds one ChaCha8 key, derived from the user's `u64` seed by
//! `ChaCha8Rng::seed_from_u64` (value-stable across rand releases). Stream `i` is the ChaCha8
//! generator with that key and stream id `i` (`set_stream(i)`): 2⁶⁴ distinct streams of 2⁶⁸
//! bytes each, which never overlap (Bernstein, "ChaCha, a variant of Salsa20", 2008: the
//! stream id is the nonce). This replaces the common `seed ^ index`, under which
//! (seed 1, task 0) and (seed 0, task 1) get the same numbers.
//!
//! For nested tasks (experiment → replicate → block) call [`RngStreams::child`], which derives
//! a fresh key from a far-away part of stream `i` that no task consumes.
//!
//! ChaCha8 is named and portable: the same seed gives the same numbers on every platform and in
//! every rand 0.10.x release, unlike `StdRng` and `SmallRng`.
//!
//! # Deterministic parallel reductions
//! Floating-point sums depend on their order. Map tasks to results with an *indexed* parallel
//! iterator (`(0..n).into_par_iter().map(..).collect::<Vec<_>>()`), then reduce the vector
//! sequentially; never `par_iter().sum()` and never an RNG inside `map_init`.

use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The generator lisse uses for reproducible streams.
pub type StreamRng = ChaCha8Rng;

/// A family of independent, reproducible random streams addressed by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RngStreams {
    key: [u8; 32],
}

impl RngStreams {
    /// The family for a user seed.
    pub fn new(seed: u64) -> Self {
        let base = ChaCha8Rng::seed_from_u64(seed);
        Self {
            key: base.get_seed(),
        }
    }

    /// Stream `i`: an independent generator, the same on every call.
    pub fn stream(&self, i: u64) -> StreamRng {
        let mut rng = ChaCha8Rng::from_seed(self.key);
        rng.set_stream(i);
        rng
    }

    /// A sub-family for nested tasks. Its key is 32 bytes of stream `i` read at word position
    /// 2⁶⁷ (half-way through the stream, 2⁶⁹ bytes in), a part of the stream no task reaches,
    /// so `child(i)` is independent of what `stream(i)` hands out.
    #[must_use]
    pub fn child(&self, i: u64) -> Self {
        use rand::Rng;
        let mut rng = self.stream(i);
        rng.set_word_pos(1u128 << 67);
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        Self { key }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let s = RngStreams::new(7);
        let a: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(s.stream(0), |r, _| Some(r.random()))
            .collect();
        let b: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(s.stream(0), |r, _| Some(r.random()))
            .collect();
        assert_eq!(a, b);
        let c: u64 = s.stream(1).random();
        assert_ne!(a[0], c);
    }

    #[test]
    fn xor_collision_does_not_happen() {
        // With `seed ^ index`, (1, 0) and (0, 1) coincide. Here they differ.
        let x: u64 = RngStreams::new(1).stream(0).random();
        let y: u64 = RngStreams::new(0).stream(1).random();
        assert_ne!(x, y);
    }

    #[test]
    fn children_differ_from_parent_and_each_other() {
        // Compare whole prefixes of several streams, not first draws: a child key read from
        // the part of stream i that tasks consume would repeat the parent's numbers later on.
        let s = RngStreams::new(3);
        let draws = |r: RngStreams, i: u64| -> Vec<u64> {
            let mut g = r.stream(i);
            (0..256).map(|_| g.random()).collect()
        };
        let mut seen = std::collections::HashSet::new();
        for family in [s, s.child(0), s.child(1), s.child(0).child(0)] {
            for i in 0..4 {
                for v in draws(family, i) {
                    assert!(seen.insert(v), "a 64-bit draw repeated across streams");
                }
            }
        }
        // The parent's streams never contain the 32 key bytes of a child: the key is read
        // far beyond what a task consumes.
        let key0 = s.child(0).key;
        let parent: Vec<u8> = {
            let mut g = s.stream(0);
            let mut bytes = vec![0u8; 1 << 16];
            rand::Rng::fill_bytes(&mut g, &mut bytes);
            bytes
        };
        assert!(!parent.windows(8).any(|w| w == &key0[..8]));
        assert_eq!(draws(s.child(0), 0), draws(s.child(0), 0));
    }
}
