//! Clustering: connected components of the pairs at or above the threshold, with a guard
//! against chaining.
//!
//! Connected components alone chain: A~B and B~C put A and C together even when A and C
//! are clearly different people. The guard: in every component of three or more records,
//! pick the best-connected record (most edges, then highest summed probability, then
//! lowest index) as its centre, and require every member to match the centre with
//! probability at least `lower_bound` (pairs that blocking did not propose are scored on
//! demand). A component that fails is **split**, never just flagged: first by
//! re-clustering it at stricter thresholds (`1 - (1 - t) / 10`, then `/ 100`), then, if a
//! part still fails, by centre: the centre and the members that match it at
//! `lower_bound` form one cluster and the rest is clustered again. Clusters produced by a
//! split are listed in [`Clusters::split`].

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// A union-find (disjoint set) structure with path halving and union by size.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    /// `n` singletons.
    pub fn new(n: usize) -> Self {
        Self {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }
    /// The representative of `x`'s set.
    pub fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = self.parent[x as usize];
        }
        x
    }
    /// Joins the sets of `a` and `b`.
    pub fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let (big, small) = if self.size[ra as usize] >= self.size[rb as usize] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small as usize] = big;
        self.size[big as usize] += self.size[small as usize];
    }
}

/// A scored edge between two records (indexes) with its match probability.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    /// Lower record index.
    pub a: u32,
    /// Higher record index.
    pub b: u32,
    /// Match probability.
    pub probability: f64,
}

/// A partition of the records into clusters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Clusters {
    /// Cluster id of every record (dense, numbered in order of each cluster's first
    /// record).
    pub assignment: Vec<u32>,
    /// Number of clusters.
    pub count: u32,
    /// Ids of clusters that came out of a split by the chaining guard.
    pub split: Vec<u32>,
}

impl Clusters {
    /// Members of every cluster with at least two records, each sorted, in cluster-id order.
    pub fn groups(&self) -> Vec<Vec<u32>> {
        let mut by: Vec<Vec<u32>> = vec![Vec::new(); self.count as usize];
        for (i, &c) in self.assignment.iter().enumerate() {
            by[c as usize].push(i as u32);
        }
        by.into_iter().filter(|g| g.len() > 1).collect()
    }
}

/// Settings of the clustering.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClusterOptions {
    /// Edges at or above this probability link records.
    pub threshold: f64,
    /// Every member must match its cluster's centre at least this well.
    pub lower_bound: f64,
}

struct Ctx<'a, F: FnMut(u32, u32) -> f64> {
    probs: FxHashMap<u64, f64>,
    score: &'a mut F,
    lower: f64,
}

impl<F: FnMut(u32, u32) -> f64> Ctx<'_, F> {
    fn prob(&mut self, a: u32, b: u32) -> f64 {
        let k = super::blocking::pair_key(a, b);
        if let Some(&p) = self.probs.get(&k) {
            return p;
        }
        let p = (self.score)(a, b);
        self.probs.insert(k, p);
        p
    }
}

/// Components of `members` linked by `edges` (local edges only) at `t`.
fn components(members: &[u32], edges: &[Edge], t: f64) -> Vec<Vec<u32>> {
    let pos: FxHashMap<u32, u32> = members
        .iter()
        .enumerate()
        .map(|(i, &m)| (m, i as u32))
        .collect();
    let mut uf = UnionFind::new(members.len());
    for e in edges {
        if e.probability >= t {
            if let (Some(&x), Some(&y)) = (pos.get(&e.a), pos.get(&e.b)) {
                uf.union(x, y);
            }
        }
    }
    let mut groups: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    for (i, &m) in members.iter().enumerate() {
        groups.entry(uf.find(i as u32)).or_default().push(m);
    }
    let mut out: Vec<Vec<u32>> = groups.into_values().collect();
    out.sort_unstable_by_key(|g| g[0]);
    out
}

/// The best-connected member: most edges at `t`, then highest summed probability, then
/// lowest index.
fn centre(members: &[u32], edges: &[Edge], t: f64) -> u32 {
    let mut deg: FxHashMap<u32, (u32, f64)> = FxHashMap::default();
    for e in edges.iter().filter(|e| e.probability >= t) {
        for x in [e.a, e.b] {
            let d = deg.entry(x).or_insert((0, 0.0));
            d.0 += 1;
            d.1 += e.probability;
        }
    }
    let mut best = members[0];
    let mut best_d = (0u32, 0.0f64);
    for &m in members {
        let d = deg.get(&m).copied().unwrap_or((0, 0.0));
        if d.0 > best_d.0 || (d.0 == best_d.0 && d.1 > best_d.1) {
            best = m;
            best_d = d;
        }
    }
    best
}

/// Whether every member matches `c` at the lower bound.
fn coherent<F: FnMut(u32, u32) -> f64>(ctx: &mut Ctx<'_, F>, members: &[u32], c: u32) -> bool {
    members
        .iter()
        .all(|&m| m == c || ctx.prob(m, c) >= ctx.lower)
}

/// Splits `members` (sorted) until every part is coherent; pushes parts to `out` with a
/// flag telling whether they came from a split.
fn settle<F: FnMut(u32, u32) -> f64>(
    ctx: &mut Ctx<'_, F>,
    members: Vec<u32>,
    edges: &[Edge],
    t: f64,
    depth: u32,
    out: &mut Vec<(Vec<u32>, bool)>,
    was_split: bool,
) {
    if members.len() <= 2 {
        // Two records joined by an edge at `t` >= lower bound are coherent.
        out.push((members, was_split));
        return;
    }
    let c = centre(&members, edges, t);
    if coherent(ctx, &members, c) {
        out.push((members, was_split));
        return;
    }
    if depth < 2 {
        let stricter = 1.0 - (1.0 - t) / 10.0;
        let local: Vec<Edge> = edges
            .iter()
            .copied()
            .filter(|e| e.probability >= stricter)
            .collect();
        for part in components(&members, &local, stricter) {
            settle(ctx, part, &local, stricter, depth + 1, out, true);
        }
        return;
    }
    // Split by centre.
    let (with, rest): (Vec<u32>, Vec<u32>) = members
        .iter()
        .partition(|&&m| m == c || ctx.prob(m, c) >= ctx.lower);
    out.push((with, true));
    for part in components(&rest, edges, t) {
        settle(ctx, part, edges, t, depth, out, true);
    }
}

/// Clusters `n` records from `edges` (probabilities of scored pairs; may include pairs
/// below the threshold, which the guard reuses). `score(a, b)` gives the probability of a
/// pair that is not among `edges`. The result is a partition of `0..n`.
pub fn cluster<F: FnMut(u32, u32) -> f64>(
    n: usize,
    edges: &[Edge],
    opts: ClusterOptions,
    score: &mut F,
) -> Clusters {
    let mut uf = UnionFind::new(n);
    for e in edges {
        if e.probability >= opts.threshold && (e.a as usize) < n && (e.b as usize) < n {
            uf.union(e.a, e.b);
        }
    }
    // Components with 3+ members, each with its internal edges.
    let mut comp_of: FxHashMap<u32, usize> = FxHashMap::default();
    let mut comps: Vec<Vec<u32>> = Vec::new();
    let mut sizes: FxHashMap<u32, u32> = FxHashMap::default();
    for i in 0..n as u32 {
        *sizes.entry(uf.find(i)).or_insert(0) += 1;
    }
    for i in 0..n as u32 {
        let r = uf.find(i);
        if sizes[&r] >= 3 {
            let k = *comp_of.entry(r).or_insert_with(|| {
                comps.push(Vec::new());
                comps.len() - 1
            });
            comps[k].push(i);
        }
    }
    let mut comp_edges: Vec<Vec<Edge>> = vec![Vec::new(); comps.len()];
    let mut probs: FxHashMap<u64, f64> = FxHashMap::default();
    for e in edges {
        if (e.a as usize) >= n || (e.b as usize) >= n {
            continue;
        }
        let (ra, rb) = (uf.find(e.a), uf.find(e.b));
        if ra == rb {
            if let Some(&k) = comp_of.get(&ra) {
                comp_edges[k].push(*e);
                probs.insert(super::blocking::pair_key(e.a, e.b), e.probability);
            }
        }
    }
    let mut ctx = Ctx {
        probs,
        score,
        lower: opts.lower_bound.min(opts.threshold),
    };
    // Final label per record: representative -> parts.
    let mut label: Vec<u32> = (0..n as u32).map(|i| uf.find(i)).collect();
    let mut split_reps: Vec<u32> = Vec::new();
    for (members, edges) in comps.into_iter().zip(comp_edges) {
        let mut parts = Vec::new();
        settle(
            &mut ctx,
            members,
            &edges,
            opts.threshold,
            0,
            &mut parts,
            false,
        );
        for (part, was_split) in parts {
            // Label each part by its smallest member, which is unique to it.
            let rep = part[0];
            for &m in &part {
                label[m as usize] = rep;
            }
            if was_split {
                split_reps.push(rep);
            }
        }
    }
    // Dense ids in order of first record.
    let mut dense: FxHashMap<u32, u32> = FxHashMap::default();
    let mut assignment = Vec::with_capacity(n);
    for &l in &label {
        let next = dense.len() as u32;
        assignment.push(*dense.entry(l).or_insert(next));
    }
    let mut split: Vec<u32> = split_reps
        .iter()
        .filter_map(|r| dense.get(r).copied())
        .collect();
    split.sort_unstable();
    split.dedup();
    Clusters {
        count: dense.len() as u32,
        assignment,
        split,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(a: u32, b: u32, p: f64) -> Edge {
        Edge {
            a,
            b,
            probability: p,
        }
    }

    fn opts() -> ClusterOptions {
        ClusterOptions {
            threshold: 0.9,
            lower_bound: 0.5,
        }
    }

    #[test]
    fn pairs_and_singletons() {
        let edges = [e(0, 1, 0.95), e(2, 3, 0.5)];
        let c = cluster(5, &edges, opts(), &mut |_, _| 0.0);
        assert_eq!(c.assignment, vec![0, 0, 1, 2, 3]);
        assert_eq!(c.count, 4);
        assert_eq!(c.groups(), vec![vec![0, 1]]);
        assert!(c.split.is_empty());
    }

    #[test]
    fn coherent_triangle_stays_together() {
        let edges = [e(0, 1, 0.99), e(1, 2, 0.99), e(0, 2, 0.7)];
        let c = cluster(3, &edges, opts(), &mut |_, _| 0.0);
        assert_eq!(c.count, 1);
        assert!(c.split.is_empty());
    }

    #[test]
    fn chain_is_split() {
        // 0~1~2~3~4 chained at 0.95; ends do not match each other or the middle.
        let edges = [e(0, 1, 0.95), e(1, 2, 0.95), e(2, 3, 0.95), e(3, 4, 0.95)];
        let c = cluster(5, &edges, opts(), &mut |_, _| 0.01);
        assert!(c.count >= 2, "{c:?}");
        assert!(!c.split.is_empty());
        // Every cluster is coherent around some member.
        for g in c.groups() {
            assert!(g.len() <= 3);
        }
    }

    #[test]
    fn stricter_threshold_separates_weak_bridge() {
        // Two tight pairs bridged by one weaker (but above threshold) edge.
        let edges = [
            e(0, 1, 0.999),
            e(0, 2, 0.999),
            e(1, 2, 0.999),
            e(2, 3, 0.91),
            e(3, 4, 0.999),
            e(3, 5, 0.999),
            e(4, 5, 0.999),
        ];
        let c = cluster(6, &edges, opts(), &mut |_, _| 0.0);
        assert_eq!(c.groups(), vec![vec![0, 1, 2], vec![3, 4, 5]]);
        assert_eq!(c.split.len(), 2);
    }

    proptest::proptest! {
        #[test]
        fn clustering_is_a_partition(
            n in 1usize..40,
            raw in proptest::collection::vec((0u32..40, 0u32..40, 0.0f64..1.0), 0..120),
            fallback in 0.0f64..1.0,
        ) {
            let edges: Vec<Edge> = raw
                .into_iter()
                .filter(|(a, b, _)| a != b && (*a as usize) < n && (*b as usize) < n)
                .map(|(a, b, p)| e(a.min(b), a.max(b), p))
                .collect();
            let c = cluster(n, &edges, opts(), &mut |_, _| fallback);
            proptest::prop_assert_eq!(c.assignment.len(), n);
            let mut seen = vec![false; c.count as usize];
            for &a in &c.assignment {
                proptest::prop_assert!(a < c.count);
                seen[a as usize] = true;
            }
            proptest::prop_assert!(seen.iter().all(|&s| s));
            // Each cluster is coherent around some member at the lower bound.
            let lookup = |a: u32, b: u32| -> f64 {
                edges.iter().rev().find(|x| (x.a, x.b) == (a.min(b), a.max(b))).map_or(fallback, |x| x.probability)
            };
            for g in c.groups() {
                if g.len() > 2 {
                    let ok = g.iter().any(|&ctr| g.iter().all(|&m| m == ctr || lookup(m, ctr) >= 0.5));
                    proptest::prop_assert!(ok, "incoherent cluster {:?}", g);
                }
            }
        }
    }
}
