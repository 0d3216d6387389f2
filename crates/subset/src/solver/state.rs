//! Incremental evaluation of an OWA committee score: per-voter sorted member positions, so a
//! marginal gain costs O(n·k) and no allocation.

use crate::rule::CommitteeScore;

/// The members' positions per voter, sorted ascending, and F(S) (scaled).
pub(crate) struct OwaState<'f, 'a> {
    f: &'f CommitteeScore<'a>,
    /// Row-major n × k, only the first `len` entries of each row used.
    pos: Vec<u32>,
    len: usize,
    k: usize,
    pub(crate) value: u128,
    pub(crate) members: Vec<u32>,
}

impl<'f, 'a> OwaState<'f, 'a> {
    pub(crate) fn new(f: &'f CommitteeScore<'a>) -> Self {
        use crate::ScoreFunction;
        let k = f.k();
        Self {
            f,
            pos: vec![0; f.profile().n_rankings() * k],
            len: 0,
            k,
            value: 0,
            members: Vec::new(),
        }
    }

    /// F(S + c) − F(S), scaled (c not a member, |S| < k).
    pub(crate) fn gain(&self, c: u32) -> u128 {
        let p = self.f.profile();
        let (s, owa) = (self.f.s(), self.f.owa());
        let mut total = 0u128;
        for v in 0..p.n_rankings() {
            let pc = p.position(v, c) as u32;
            let row = &self.pos[v * self.k..v * self.k + self.len];
            let r = row.partition_point(|&q| q < pc);
            let mut plus = u128::from(owa[r]) * u128::from(s[pc as usize]);
            let mut minus = 0u128;
            for (t, &q) in row.iter().enumerate().skip(r) {
                let sq = u128::from(s[q as usize]);
                plus += u128::from(owa[t + 1]) * sq;
                minus += u128::from(owa[t]) * sq;
            }
            total += u128::from(p.weight(v)) * (plus - minus);
        }
        total
    }

    /// Adds c (not a member, |S| < k).
    pub(crate) fn add(&mut self, c: u32) {
        self.value += self.gain(c);
        let p = self.f.profile();
        for v in 0..p.n_rankings() {
            let pc = p.position(v, c) as u32;
            let row = &mut self.pos[v * self.k..=v * self.k + self.len];
            let r = row[..self.len].partition_point(|&q| q < pc);
            row.copy_within(r..self.len, r + 1);
            row[r] = pc;
        }
        self.len += 1;
        self.members.push(c);
    }

    /// Removes the most recently added member.
    pub(crate) fn pop(&mut self) {
        let Some(c) = self.members.pop() else { return };
        let p = self.f.profile();
        self.len -= 1;
        for v in 0..p.n_rankings() {
            let pc = p.position(v, c) as u32;
            let row = &mut self.pos[v * self.k..=v * self.k + self.len];
            let r = row.partition_point(|&q| q < pc);
            row.copy_within(r + 1..=self.len, r);
        }
        self.value -= self.gain(c);
    }
}
