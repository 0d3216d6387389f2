//! The swapping bias of the paper's released code, with the pair weights recomputed after
//! every swap.

use lisse_core::{Error, Result};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::{Groups, Profile};

/// The swapping bias (Boehmer et al. 2023, released code, "generative model μ̂ given ≻ ∼ μ"),
/// applied ranking by ranking:
///
/// 1. count the pairs (a, b) with a in the favoured group, b outside it, and b ranked above a;
/// 2. perform t = ⌊λ · #pairs⌋ swaps; each swap picks one *currently* inverted pair (a, b)
///    with probability ∝ φ^(pos(a) − pos(b)) and exchanges the two items, moving a up.
///
/// The weights are recomputed after every swap (O(m) with a backward recurrence), so a pair
/// is never drawn again once it is no longer inverted. **Deviation from the public notebook:**
/// there the weight update line is a no-op, so already-swapped pairs can be drawn again and
/// swapped back. When no inverted pair is left, the ranking stops changing. When every weight
/// underflows to 0 (φ = 0, or tiny φ with only distant pairs), the draw is uniform among the
/// pairs at the smallest distance — the limit of the weights as φ → 0.
///
/// ```
/// use lisse_core::RngStreams;
/// use lisse_subset::bias::SwapBias;
/// use lisse_subset::{Groups, Profile};
/// let g = Groups::partition(&[0, 0, 1, 1])?; // items 0, 1 favoured
/// let p = Profile::new(4, vec![vec![2, 3, 0, 1]])?; // 4 inverted pairs
/// let b = SwapBias::new(0.5, 1.0)?.apply(&p, &g, 0, &mut RngStreams::new(1).stream(0))?;
/// assert_eq!(&b.order(0)[..2].iter().filter(|&&c| c < 2).count(), &2); // G1 on top
/// # Ok::<(), lisse_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SwapBias {
    phi: f64,
    lambda: f64,
}

impl SwapBias {
    /// The bias with locality φ ∈ [0, 1] (small φ: mostly adjacent swaps) and fraction of
    /// swaps λ ∈ [0, 1].
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for parameters outside [0, 1].
    pub fn new(phi: f64, lambda: f64) -> Result<Self> {
        lisse_core::check_range("phi", phi, 0.0, 1.0)?;
        lisse_core::check_range("lambda", lambda, 0.0, 1.0)?;
        Ok(Self { phi, lambda })
    }

    /// φ.
    pub fn phi(&self) -> f64 {
        self.phi
    }

    /// λ.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The biased profile: every ranking of `profile` biased in favour of group `favoured` of
    /// `groups` (items outside that group are the disadvantaged ones). Weights (multiplicities)
    /// are kept; a ranking of weight w stands for w voters biased *identically*, so merge
    /// nothing you want biased independently.
    ///
    /// # Errors
    /// [`Error::DimensionMismatch`] when the groups are for a different m, and
    /// [`Error::InvalidParameter`] for an unknown `favoured` group.
    pub fn apply<R: Rng + ?Sized>(
        &self,
        profile: &Profile,
        groups: &Groups,
        favoured: usize,
        rng: &mut R,
    ) -> Result<Profile> {
        let m = profile.m();
        lisse_core::check_dim("groups (items)", m, groups.m())?;
        if favoured >= groups.len() {
            return Err(Error::invalid(
                "favoured",
                favoured,
                format!("a group index below {}", groups.len()),
            ));
        }
        let mut is_fav = vec![false; m];
        for &c in groups.members(favoured) {
            is_fav[c as usize] = true;
        }
        let mut orders = Vec::with_capacity(profile.n_rankings() * m);
        let mut scratch = Scratch::new(m);
        for o in profile.orders() {
            let start = orders.len();
            orders.extend_from_slice(o);
            self.bias_one(&mut orders[start..], &is_fav, &mut scratch, rng);
        }
        Profile::from_flat(m, orders, profile.weights().to_vec())
    }

    /// Biases one order in place.
    fn bias_one<R: Rng + ?Sized>(
        &self,
        order: &mut [u32],
        is_fav: &[bool],
        s: &mut Scratch,
        rng: &mut R,
    ) {
        let m = order.len();
        for (f, &c) in s.fav.iter_mut().zip(order.iter()) {
            *f = is_fav[c as usize];
        }
        // Inverted pairs: a disadvantaged item above a favoured one.
        let mut below_fav = 0usize;
        let mut pairs = 0usize;
        for p in (0..m).rev() {
            if s.fav[p] {
                below_fav += 1;
            } else {
                pairs += below_fav;
            }
        }
        let swaps = (self.lambda * pairs as f64).floor() as usize;
        for _ in 0..swaps {
            let Some((p, q)) = self.draw_pair(s, rng) else {
                break;
            };
            order.swap(p, q);
            s.fav.swap(p, q);
        }
    }

    /// Draws an inverted pair of positions (p < q, disadvantaged at p, favoured at q) with
    /// probability ∝ φ^(q − p); `None` when there is none.
    fn draw_pair<R: Rng + ?Sized>(&self, s: &mut Scratch, rng: &mut R) -> Option<(usize, usize)> {
        let m = s.fav.len();
        let phi = self.phi;
        // tail[p] = Σ_{q > p, fav[q]} φ^(q − p), by the recurrence tail[p] = φ (fav[p+1] + tail[p+1]).
        let mut total = 0.0;
        let mut next = 0.0;
        for p in (0..m).rev() {
            s.tail[p] = next;
            if !s.fav[p] {
                total += next;
            }
            next = phi * (f64::from(u8::from(s.fav[p])) + next);
        }
        if total > 0.0 && total.is_finite() {
            let mut u = rng.random::<f64>() * total;
            let mut row = None;
            for p in 0..m {
                if !s.fav[p] && s.tail[p] > 0.0 {
                    row = Some(p);
                    if u < s.tail[p] {
                        break;
                    }
                    u -= s.tail[p];
                }
            }
            let p = row?;
            let mut u = rng.random::<f64>() * s.tail[p];
            let mut w = 1.0;
            let mut last = None;
            for q in p + 1..m {
                w *= phi;
                if s.fav[q] {
                    last = Some(q);
                    if u < w {
                        return Some((p, q));
                    }
                    u -= w;
                }
            }
            return last.map(|q| (p, q)); // rounding left a sliver of u
        }
        // All weights underflowed: uniform over the inverted pairs at the smallest distance.
        let mut best = usize::MAX;
        let mut cands: Vec<(usize, usize)> = Vec::new();
        let mut last_fav: Option<usize> = None;
        for p in (0..m).rev() {
            if s.fav[p] {
                last_fav = Some(p);
            } else if let Some(q) = last_fav {
                let d = q - p;
                if d < best {
                    best = d;
                    cands.clear();
                }
                if d == best {
                    cands.push((p, q));
                }
            }
        }
        if cands.is_empty() {
            None
        } else {
            Some(cands[rng.random_range(0..cands.len())])
        }
    }
}

/// Per-call buffers of the swap sampler.
struct Scratch {
    fav: Vec<bool>,
    tail: Vec<f64>,
}

impl Scratch {
    fn new(m: usize) -> Self {
        Self {
            fav: vec![false; m],
            tail: vec![0.0; m],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lisse_core::RngStreams;

    fn inverted_pairs(o: &[u32], fav: impl Fn(u32) -> bool) -> usize {
        let mut n = 0;
        for i in 0..o.len() {
            for j in i + 1..o.len() {
                if !fav(o[i]) && fav(o[j]) {
                    n += 1;
                }
            }
        }
        n
    }

    #[test]
    fn lambda_zero_is_identity_and_swaps_reduce_inversions() {
        let g = Groups::partition(&[0, 1, 0, 1, 0, 1, 0, 1]).unwrap();
        let p = Profile::new(
            8,
            vec![vec![1, 3, 5, 7, 0, 2, 4, 6], vec![7, 6, 5, 4, 3, 2, 1, 0]],
        )
        .unwrap();
        let rng = &mut RngStreams::new(9).stream(0);
        let b0 = SwapBias::new(0.5, 0.0)
            .unwrap()
            .apply(&p, &g, 0, rng)
            .unwrap();
        assert_eq!(b0, p);
        let fav = |c: u32| c.is_multiple_of(2);
        for lambda in [0.25, 0.5, 1.0] {
            let b = SwapBias::new(0.5, lambda)
                .unwrap()
                .apply(&p, &g, 0, rng)
                .unwrap();
            for (o, ob) in p.orders().zip(b.orders()) {
                let before = inverted_pairs(o, fav);
                let after = inverted_pairs(ob, fav);
                // Each swap removes at least one inversion; t = ⌊λ·before⌋ swaps happen unless
                // the inversions run out first.
                let t = (lambda * before as f64).floor() as usize;
                assert!(
                    after + t <= before || after == 0,
                    "λ = {lambda}: {before} → {after}"
                );
                // The biased ranking is still a permutation of the same items.
                let mut s = ob.to_vec();
                s.sort_unstable();
                assert_eq!(s, (0..8).collect::<Vec<_>>());
            }
        }
        let full = SwapBias::new(1.0, 1.0)
            .unwrap()
            .apply(&p, &g, 0, rng)
            .unwrap();
        for o in full.orders() {
            assert_eq!(
                inverted_pairs(o, fav),
                0,
                "λ = 1 removes every inversion: {o:?}"
            );
        }
    }

    #[test]
    fn tiny_phi_swaps_adjacent_pairs_and_underflow_falls_back() {
        let g = Groups::partition(&[0, 1, 1, 1]).unwrap();
        let p = Profile::new(4, vec![vec![1, 2, 3, 0]]).unwrap(); // 3 inversions
        let rng = &mut RngStreams::new(2).stream(0);
        // φ = 0: only the closest pair moves each time, so item 0 bubbles up one step at a time.
        let b = SwapBias::new(0.0, 0.34)
            .unwrap()
            .apply(&p, &g, 0, rng)
            .unwrap();
        assert_eq!(b.order(0), &[1, 2, 0, 3]);
        let b = SwapBias::new(1e-300, 1.0)
            .unwrap()
            .apply(&p, &g, 0, rng)
            .unwrap();
        assert_eq!(b.order(0)[0], 0);
        assert!(SwapBias::new(0.5, 1.5).is_err());
        assert!(
            SwapBias::new(0.5, 0.5)
                .unwrap()
                .apply(&p, &g, 2, rng)
                .is_err()
        );
    }

    #[test]
    fn swap_probabilities_follow_phi() {
        // One swap from [b1, b2, a] (a favoured): pairs (b1, a) at distance 2 and (b2, a) at
        // distance 1, drawn with probabilities φ²/(φ+φ²) and φ/(φ+φ²).
        let g = Groups::partition(&[0, 1, 1]).unwrap();
        let p = Profile::new(3, vec![vec![1, 2, 0]]).unwrap();
        let bias = SwapBias::new(0.5, 0.5).unwrap(); // ⌊0.5·2⌋ = 1 swap
        let rng = &mut RngStreams::new(3).stream(0);
        let trials = 4000;
        let far = (0..trials)
            .filter(|_| bias.apply(&p, &g, 0, rng).unwrap().order(0)[0] == 0)
            .count();
        let expect = 0.25 / 0.75 * trials as f64;
        let sd = (trials as f64 * (1.0 / 3.0) * (2.0 / 3.0)).sqrt();
        assert!((far as f64 - expect).abs() < 4.0 * sd, "{far} vs {expect}");
    }
}
