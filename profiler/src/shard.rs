//! Splitting a plan into `N` shards for `zkprof run --shard I/N`.
//!
//! The partition depends only on the set of cell ids and their estimated costs, never
//! on the order of the suite file: cells are sorted by estimated cost (largest first,
//! ties by id) and each goes to the shard with the least total cost so far (ties to the
//! lowest index), the "longest processing time first" rule. Without cost estimates
//! every cell costs 1 and the rule deals the cells, sorted by id, round-robin.
//!
//! Every shard of a matrix must be given the same plan filters and the same cost file,
//! or the shards no longer partition the plan; the [`ShardRecord`] each run writes lets
//! `zkprof merge` detect that.

use crate::error::UserError;
use crate::results::{ResultsFile, ShardRecord};
use crate::suite::Cell;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A shard of a plan: `index` of `count`, 1-based.
///
/// Invariant: `1 <= index <= count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardSpec {
    index: u32,
    count: u32,
}

impl ShardSpec {
    /// A shard; errors say which bound was broken and what to write instead.
    pub fn new(index: u32, count: u32) -> Result<ShardSpec, String> {
        if count == 0 {
            return Err(format!(
                "{index}/{count}: the shard count must be at least 1, e.g. --shard 1/3"
            ));
        }
        if index == 0 {
            return Err(format!(
                "{index}/{count}: shards are numbered from 1; use 1/{count} to {count}/{count}"
            ));
        }
        if index > count {
            return Err(format!(
                "{index}/{count}: shard {index} is past the shard count {count}; use 1/{count} to {count}/{count}"
            ));
        }
        Ok(ShardSpec { index, count })
    }

    /// The 1-based shard index.
    pub fn index(self) -> u32 {
        self.index
    }

    /// The number of shards.
    pub fn count(self) -> u32 {
        self.count
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for ShardSpec {
    type Err = String;

    /// Parses `I/N`, e.g. `2/3`.
    fn from_str(s: &str) -> Result<ShardSpec, String> {
        let bad = || {
            format!(
                "`{s}`: expected I/N with whole numbers, e.g. --shard 2/3 for the second of three"
            )
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        ShardSpec::new(index, count)
    }
}

/// Estimated cost of each cell, in seconds, and where the estimates came from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Costs {
    /// Seconds per cell id; cells not listed get the median of the listed ones.
    pub seconds: BTreeMap<String, f64>,
    /// `uniform`, or `results:<sha256>` (recorded in every shard, compared by `merge`).
    pub source: String,
}

impl Costs {
    /// No estimates: every cell costs the same.
    pub fn uniform() -> Costs {
        Costs {
            seconds: BTreeMap::new(),
            source: "uniform".into(),
        }
    }

    /// Estimates from an earlier results file: per cell, the total wall time of every
    /// step of every repetition (warmups included), seconds. `sha256` is the file's hash.
    pub fn from_results(results: &ResultsFile, sha256: &str) -> Costs {
        let seconds = results
            .cells
            .iter()
            .map(|c| {
                let total: f64 = c
                    .repetitions
                    .iter()
                    .flat_map(|r| r.steps.iter())
                    .map(|s| s.wall_s)
                    .filter(|w| w.is_finite() && *w >= 0.0)
                    .sum();
                (c.id.clone(), total)
            })
            .filter(|(_, t)| *t > 0.0)
            .collect();
        Costs {
            seconds,
            source: format!("results:{sha256}"),
        }
    }

    /// The cost of `id`: its estimate, else the median estimate, else 1.
    fn of(&self, id: &str, fallback: f64) -> f64 {
        self.seconds.get(id).copied().unwrap_or(fallback)
    }

    fn median(&self) -> f64 {
        let v: Vec<f64> = self.seconds.values().copied().collect();
        if v.is_empty() {
            return 1.0;
        }
        crate::results::Summary::of(&v).median
    }
}

/// Splits `ids` into `count` shards (index 0 = shard 1). Each returned list is sorted.
///
/// Duplicated ids are kept once. Deterministic: the same set of ids and costs gives the
/// same shards, whatever order `ids` comes in.
pub fn partition(ids: &[String], count: u32, costs: &Costs) -> Vec<Vec<String>> {
    let count = count.max(1) as usize;
    let mut unique: Vec<&String> = ids.iter().collect();
    unique.sort();
    unique.dedup();
    let fallback = costs.median();
    let mut items: Vec<(f64, &String)> = unique
        .into_iter()
        .map(|id| (costs.of(id, fallback), id))
        .collect();
    items.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let mut loads = vec![0.0f64; count];
    let mut shards: Vec<Vec<String>> = vec![Vec::new(); count];
    for (cost, id) in items {
        let mut best = 0;
        for (i, load) in loads.iter().enumerate() {
            if *load < loads[best] {
                best = i;
            }
        }
        loads[best] += cost;
        shards[best].push(id.clone());
    }
    for s in &mut shards {
        s.sort();
    }
    shards
}

/// SHA-256 (hex) over sorted ids, one per line: names a plan independently of its order.
pub fn plan_sha256(sorted_ids: &[String]) -> String {
    let mut h = Sha256::new();
    for id in sorted_ids {
        h.update(id.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// Keeps the cells of shard `spec` (in their plan order) and describes the split.
///
/// Errors when the plan holds the same cell id twice (a shard could not say which).
pub fn select(
    cells: Vec<Cell>,
    spec: ShardSpec,
    costs: &Costs,
) -> Result<(Vec<Cell>, ShardRecord), UserError> {
    let mut plan: Vec<String> = cells.iter().map(|c| c.id.clone()).collect();
    plan.sort();
    if let Some(w) = plan.windows(2).find(|w| w[0] == w[1]) {
        return Err(UserError::Input(format!(
            "the plan holds cell `{}` twice; give models, frameworks and settings distinct names before sharding",
            w[0]
        )));
    }
    let mut shards = partition(&plan, spec.count(), costs);
    let mine = std::mem::take(&mut shards[(spec.index() - 1) as usize]);
    let kept: Vec<Cell> = cells
        .into_iter()
        .filter(|c| mine.binary_search(&c.id).is_ok())
        .collect();
    let record = ShardRecord {
        plan_sha256: plan_sha256(&plan),
        count: spec.count(),
        index: spec.index(),
        costs: costs.source.clone(),
        plan,
        cells: mine,
        host_id: String::new(),
    };
    Ok((kept, record))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn ids(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| format!("m{i:02}/fw/default/native"))
            .collect()
    }

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            "2/3".parse::<ShardSpec>().unwrap(),
            ShardSpec::new(2, 3).unwrap()
        );
        assert_eq!("3/3".parse::<ShardSpec>().unwrap().to_string(), "3/3");
        let e = "0/3".parse::<ShardSpec>().unwrap_err();
        assert!(
            e.contains("numbered from 1") && e.contains("1/3 to 3/3"),
            "{e}"
        );
        let e = "4/3".parse::<ShardSpec>().unwrap_err();
        assert!(e.contains("past the shard count 3"), "{e}");
        let e = "1/0".parse::<ShardSpec>().unwrap_err();
        assert!(e.contains("at least 1"), "{e}");
        for bad in ["", "3", "a/b", "1/3/4", "-1/3", "1.5/3"] {
            let e = bad.parse::<ShardSpec>().unwrap_err();
            assert!(e.contains("expected I/N"), "{bad}: {e}");
        }
    }

    #[test]
    fn uniform_shards_partition_and_balance() {
        let all = ids(11);
        for n in 1..=13u32 {
            let shards = partition(&all, n, &Costs::uniform());
            assert_eq!(shards.len(), n as usize);
            let mut union: Vec<String> = shards.iter().flatten().cloned().collect();
            union.sort();
            assert_eq!(union, all, "n={n}: every cell exactly once");
            let sizes: Vec<usize> = shards.iter().map(Vec::len).collect();
            let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
            assert!(max - min <= 1, "n={n}: sizes {sizes:?}");
        }
    }

    #[test]
    fn independent_of_input_order() {
        let all = ids(9);
        let mut rev = all.clone();
        rev.reverse();
        rev.swap(0, 4);
        let mut costs = Costs::uniform();
        costs.seconds.insert(all[3].clone(), 50.0);
        costs.seconds.insert(all[7].clone(), 20.0);
        for c in [Costs::uniform(), costs] {
            assert_eq!(partition(&all, 4, &c), partition(&rev, 4, &c));
        }
    }

    #[test]
    fn costs_balance_better_than_counts() {
        // One long cell and six short ones: the long one gets a shard of its own.
        let all = ids(7);
        let mut costs = Costs::uniform();
        costs.seconds.insert(all[0].clone(), 60.0);
        for id in &all[1..] {
            costs.seconds.insert(id.clone(), 10.0);
        }
        let shards = partition(&all, 2, &costs);
        let load = |s: &Vec<String>| s.iter().map(|id| costs.seconds[id]).sum::<f64>();
        assert_eq!(load(&shards[0]), 60.0);
        assert_eq!(load(&shards[1]), 60.0);
        assert_eq!(shards[0], vec![all[0].clone()]);
        // Counting cells instead would put four cells (90 s) on one side.
        let naive = partition(&all, 2, &Costs::uniform());
        let worst = naive.iter().map(load).fold(0.0, f64::max);
        assert!(worst > 60.0, "{naive:?}");
    }

    #[test]
    fn unknown_cells_cost_the_median() {
        let all = ids(4);
        let mut costs = Costs::uniform();
        costs.seconds.insert(all[0].clone(), 1.0);
        costs.seconds.insert(all[1].clone(), 3.0);
        assert_eq!(costs.median(), 2.0);
        assert_eq!(costs.of(&all[3], costs.median()), 2.0);
        assert_eq!(Costs::uniform().median(), 1.0);
    }

    #[test]
    fn stable_when_the_suite_file_is_reordered() {
        use crate::suite::{PlanOptions, Suite};
        let models = "[[model]]\nname = \"a\"\n[[model]]\nname = \"b\"\n[[model]]\nname = \"c\"\n";
        let models_rev =
            "[[model]]\nname = \"c\"\n[[model]]\nname = \"a\"\n[[model]]\nname = \"b\"\n";
        let fw = |name: &str, settings: &str| {
            format!("[[framework]]\nname = \"{name}\"\nkind = \"command\"\nsettings = [{settings}]\nsteps = {{ prove = [\"true\"] }}\n")
        };
        let (f1, f2) = (
            fw("x", "{ k = 1 }, { k = 2 }"),
            fw("y", "{ k = 2 }, { k = 1 }"),
        );
        let f2_rev = fw("y", "{ k = 1 }, { k = 2 }");
        let head = "[suite]\nname = \"s\"\n";
        let one = format!("{head}{models}{f1}{f2}");
        let two = format!("{head}{f2_rev}{models_rev}{f1}");
        let plan = |text: &str| {
            Suite::parse(Path::new("s.toml"), text)
                .unwrap()
                .plan(&PlanOptions::default())
                .unwrap()
        };
        let (p1, p2) = (plan(&one), plan(&two));
        assert_ne!(
            p1.iter().map(|c| &c.id).collect::<Vec<_>>(),
            p2.iter().map(|c| &c.id).collect::<Vec<_>>(),
            "the two files list the cells in different orders"
        );
        for i in 1..=4 {
            let spec = ShardSpec::new(i, 4).unwrap();
            let (c1, r1) = select(p1.clone(), spec, &Costs::uniform()).unwrap();
            let (c2, r2) = select(p2.clone(), spec, &Costs::uniform()).unwrap();
            let ids = |c: &[Cell]| {
                c.iter()
                    .map(|c| c.id.clone())
                    .collect::<std::collections::BTreeSet<_>>()
            };
            assert_eq!(ids(&c1), ids(&c2), "shard {i}");
            assert_eq!(r1, r2, "shard {i}");
        }
    }

    #[test]
    fn plan_hash_depends_on_the_set() {
        let a = ids(3);
        let b = ids(4);
        assert_ne!(plan_sha256(&a), plan_sha256(&b));
        assert_eq!(plan_sha256(&a), plan_sha256(&ids(3)));
    }
}
