//! What one comparison counts: objects and bytes per category, per `--by` group and
//! category, the smallest example keys, and the rows on each side that were classified
//! (the conservation check). Each worker keeps its own tally; they are merged at the end.

use std::collections::{BTreeMap, BinaryHeap};
use std::hash::{Hash, Hasher};

use hashbrown::{Equivalent, HashMap};

use super::Category;
use crate::replication::Counts;

/// One classified version, as the tally sees it.
pub struct Entry<'a> {
    pub category: Category,
    pub size: u64,
    /// A source version (every category but the destination-only rows).
    pub from_source: bool,
    /// A destination version took part (matched, or destination-only).
    pub at_destination: bool,
    /// Present with another ETag that could not be judged (encryption).
    pub etag_skipped: bool,
    pub key: &'a str,
    pub version: Option<&'a str>,
}

/// Totals, groups and examples of one pass (or one worker's share of it).
#[derive(Debug, Default)]
pub struct Tally {
    categories: [Counts; Category::ALL.len()],
    groups: HashMap<Vec<String>, [Counts; Category::ALL.len()]>,
    /// Per category the smallest examples, as a max-heap of at most `limit`.
    examples: BTreeMap<Category, BinaryHeap<String>>,
    limit: usize,
    pub etag_skipped: Counts,
    pub source_rows: Counts,
    pub destination_only: Counts,
    /// Destination versions that took part (matched or not).
    pub destination_rows: u64,
}

/// A row's `--by` values, looked up in the groups without allocating: hashes and compares
/// like the `Vec<String>` it stands for.
struct Dims<'a>(&'a [&'a str]);

impl Hash for Dims<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state)
    }
}

impl Equivalent<Vec<String>> for Dims<'_> {
    fn equivalent(&self, key: &Vec<String>) -> bool {
        self.0.len() == key.len() && self.0.iter().zip(key).all(|(a, b)| *a == b.as_str())
    }
}

impl Tally {
    pub fn new(limit: usize) -> Tally {
        Tally {
            limit,
            ..Tally::default()
        }
    }

    /// Counts `entry` under its category, and under its group when `dims` (the `--by`
    /// values) are given.
    pub fn add(&mut self, entry: &Entry, dims: &[&str]) {
        let one = Counts {
            objects: 1,
            bytes: entry.size,
        };
        let c = entry.category.code() as usize;
        self.categories[c].add(one);
        if entry.from_source {
            self.source_rows.add(one);
        } else {
            self.destination_only.add(one);
        }
        if entry.at_destination {
            self.destination_rows += 1;
        }
        if entry.etag_skipped {
            self.etag_skipped.add(one);
        }
        if !dims.is_empty() {
            match self.groups.get_mut(&Dims(dims)) {
                Some(counts) => counts[c].add(one),
                None => {
                    let mut counts = [Counts::default(); Category::ALL.len()];
                    counts[c].add(one);
                    self.groups
                        .insert(dims.iter().map(|d| d.to_string()).collect(), counts);
                }
            }
        }
        if self.limit > 0 && entry.category != Category::Replicated {
            let heap = self.examples.entry(entry.category).or_default();
            if heap.len() >= self.limit && heap.peek().is_some_and(|max| entry.key >= max.as_str())
            {
                return;
            }
            let example = match entry.version.filter(|v| !v.is_empty()) {
                Some(v) => format!("{} ({v})", entry.key),
                None => entry.key.to_string(),
            };
            push_example(heap, example, self.limit);
        }
    }

    /// Adds another worker's tally.
    pub fn merge(&mut self, other: Tally) {
        for (mine, theirs) in self.categories.iter_mut().zip(other.categories) {
            mine.add(theirs);
        }
        for (dims, counts) in other.groups {
            let mine = self.groups.entry(dims).or_default();
            for (m, t) in mine.iter_mut().zip(counts) {
                m.add(t);
            }
        }
        for (category, heap) in other.examples {
            let mine = self.examples.entry(category).or_default();
            for example in heap {
                push_example(mine, example, self.limit);
            }
        }
        self.etag_skipped.add(other.etag_skipped);
        self.source_rows.add(other.source_rows);
        self.destination_only.add(other.destination_only);
        self.destination_rows += other.destination_rows;
    }

    /// The categories that have versions.
    pub fn categories(&self) -> BTreeMap<Category, Counts> {
        Category::ALL
            .iter()
            .zip(self.categories)
            .filter(|(_, n)| n.objects > 0)
            .map(|(c, n)| (*c, n))
            .collect()
    }

    /// Per group and category, the groups' versions.
    pub fn groups(&self) -> BTreeMap<(Vec<String>, Category), Counts> {
        let mut out = BTreeMap::new();
        for (dims, counts) in &self.groups {
            for (c, n) in Category::ALL.iter().zip(counts) {
                if n.objects > 0 {
                    out.insert((dims.clone(), *c), *n);
                }
            }
        }
        out
    }

    /// The smallest examples of each category, in order.
    pub fn examples(self) -> BTreeMap<Category, Vec<String>> {
        self.examples
            .into_iter()
            .map(|(c, heap)| (c, heap.into_sorted_vec()))
            .collect()
    }
}

fn push_example(heap: &mut BinaryHeap<String>, example: String, limit: usize) {
    if heap.len() >= limit && heap.peek().is_some_and(|max| example >= *max) {
        return;
    }
    heap.push(example);
    if heap.len() > limit {
        heap.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(category: Category, key: &str, size: u64) -> Entry<'_> {
        Entry {
            category,
            size,
            from_source: true,
            at_destination: false,
            etag_skipped: false,
            key,
            version: None,
        }
    }

    #[test]
    fn merged_tallies_equal_one_tally_of_every_row() {
        let rows = [
            (Category::Replicated, "a", 1, "x"),
            (Category::Mismatch, "b", 2, "x"),
            (Category::Mismatch, "c", 3, "y"),
            (Category::MissingAtDestination, "d", 4, "y"),
            (Category::Mismatch, "a/e", 5, "x"),
        ];
        let mut whole = Tally::new(2);
        let (mut one, mut two) = (Tally::new(2), Tally::new(2));
        for (i, (c, k, s, d)) in rows.iter().enumerate() {
            whole.add(&entry(*c, k, *s), &[d]);
            let part = if i % 2 == 0 { &mut one } else { &mut two };
            part.add(&entry(*c, k, *s), &[d]);
        }
        one.merge(two);
        assert_eq!(one.categories(), whole.categories());
        assert_eq!(one.groups(), whole.groups());
        assert_eq!(one.source_rows, whole.source_rows);
        let examples = one.examples();
        assert_eq!(examples, whole.examples());
        assert_eq!(examples[&Category::Mismatch], vec!["a/e", "b"]);
        let mismatch = Counts {
            objects: 3,
            bytes: 10,
        };
        assert_eq!(
            Tally::new(0).categories().get(&Category::Mismatch),
            None,
            "no empty categories"
        );
        let mut t = Tally::new(0);
        for (c, k, s, d) in rows {
            t.add(&entry(c, k, s), &[d]);
        }
        assert_eq!(t.categories()[&Category::Mismatch], mismatch);
        assert_eq!(
            t.groups()[&(vec!["x".to_string()], Category::Mismatch)],
            Counts {
                objects: 2,
                bytes: 7
            }
        );
    }
}
