//! The destination table's index: an open-addressing hash table of row ids, built on
//! every core and probed a batch at a time with the slots fetched ahead.
//!
//! hashbrown (used before) builds on one thread and offers no way to fetch a slot before it
//! is read; probing millions of source versions is a chain of cache misses (the slot, then
//! the destination's key), so a lookup waited for each in turn. Here a slot is one `u64`
//! holding the upper half of the hash as a tag next to the row id, so that a probe reads
//! one cache line and touches the destination's rows only when the tag matches (almost
//! always the version sought), and [`Slots::prefetch`] lets the prober ask for the slots
//! of the rows a few steps ahead. The table is split into parts by the top bits of the
//! hash: each part is built by one thread, without locks, and a version always lands in
//! the part its hash names.

use rayon::prelude::*;

/// Row ids are below this (the slot keeps 30 bits for them).
pub const MAX_ROWS: u64 = 1 << 30;

/// The hash of a row that matches nothing (no key): such rows are not indexed.
pub const NO_KEY: u64 = u64::MAX;

const OCCUPIED: u64 = 1 << 31;
const DUPLICATE: u64 = 1 << 30;
const ID_MASK: u64 = DUPLICATE - 1;

/// Parts of the table (a power of two): more than the cores, so that rayon balances them.
const PART_BITS: u32 = 3;

/// The most bytes per indexed row the table takes: its slots at the lowest load (1/3), and
/// the hashes and ids gathered while it is built.
pub const BYTES_PER_ROW: u64 = 24 + 8 + 16;

/// Rows filed ahead of the one being filed when the table is built.
const BUILD_AHEAD: usize = 16;

/// A hash as the table files it: [`NO_KEY`] is kept for rows without a key, so a real
/// hash that happens to equal it is moved next door (a collision like any other).
pub fn file_hash(hash: u64) -> u64 {
    if hash == NO_KEY { NO_KEY - 1 } else { hash }
}

/// A row found by [`Slots::find`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub id: u32,
    /// The table holds another row equal to it.
    pub duplicate: bool,
}

struct Part {
    slots: Vec<u64>,
    mask: usize,
}

impl Part {
    fn with_rows(rows: usize) -> Part {
        // Load between 1/3 and 2/3: linear probing stays short.
        let capacity = (rows * 3 / 2 + 1).next_power_of_two().max(16);
        let mut slots = Vec::with_capacity(capacity);
        advise_huge_pages(slots.as_ptr() as usize, capacity * 8);
        // Written, not calloc'ed: a probe reading a zero page first would make every
        // first write a copy-on-write fault, with a TLB flush on every core.
        slots.resize(capacity, 0);
        Part {
            slots,
            mask: capacity - 1,
        }
    }
}

/// Row ids indexed by hash, with the rows equal to an earlier one flagged.
pub struct Slots {
    parts: Vec<Part>,
}

fn tag(hash: u64) -> u64 {
    hash & !0xffff_ffff
}

fn part_of(hash: u64) -> usize {
    (hash >> (64 - PART_BITS)) as usize
}

impl Slots {
    /// Indexes rows: `chunks[c]` holds the hashes of the rows `first_id(c) + r`
    /// ([`NO_KEY`] for rows left out); `same(a, b)` says whether two rows are equal (one
    /// is kept, flagged [`Hit::duplicate`]). Every id must be below [`MAX_ROWS`].
    pub fn build(
        chunks: &[Vec<u64>],
        first_id: impl Fn(usize) -> u32 + Sync,
        same: impl Fn(u32, u32) -> bool + Sync,
    ) -> Slots {
        let mut counts = [0usize; 1 << PART_BITS];
        for hashes in chunks {
            for &h in hashes {
                if h != NO_KEY {
                    counts[part_of(h)] += 1;
                }
            }
        }
        let parts = counts
            .par_iter()
            .enumerate()
            .map(|(p, &rows)| {
                let mut mine = Vec::with_capacity(rows);
                for (c, hashes) in chunks.iter().enumerate() {
                    let first = first_id(c);
                    for (r, &h) in hashes.iter().enumerate() {
                        if h != NO_KEY && part_of(h) == p {
                            mine.push((h, first + r as u32));
                        }
                    }
                }
                let mut part = Part::with_rows(rows);
                for (k, &(h, id)) in mine.iter().enumerate() {
                    // The slot a few rows on, fetched while this one is filed.
                    if let Some(&(ahead, _)) = mine.get(k + BUILD_AHEAD) {
                        prefetch_read(&part.slots[ahead as usize & part.mask]);
                    }
                    insert(&mut part, h, id, &same);
                }
                part
            })
            .collect();
        Slots { parts }
    }

    /// The bytes the slots take.
    pub fn bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.slots.len() as u64 * 8).sum()
    }

    /// Asks for the slot of `hash` to be brought into the cache (a hint: no effect on
    /// what is found).
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        let part = &self.parts[part_of(hash)];
        let slot = &part.slots[hash as usize & part.mask];
        prefetch_read(slot);
    }

    /// The first row filed under `hash`'s tag, if any: the likeliest answer of
    /// [`Slots::find`], for the caller to fetch its data ahead.
    #[inline]
    pub fn peek(&self, hash: u64) -> Option<u32> {
        self.find(hash, |_| true).map(|hit| hit.id)
    }

    /// The row filed under `hash` for which `is(id)` holds.
    #[inline]
    pub fn find(&self, hash: u64, mut is: impl FnMut(u32) -> bool) -> Option<Hit> {
        let part = &self.parts[part_of(hash)];
        let mut i = hash as usize & part.mask;
        loop {
            let slot = part.slots[i];
            if slot == 0 {
                return None;
            }
            if tag(slot) == tag(hash) {
                let id = (slot & ID_MASK) as u32;
                if is(id) {
                    return Some(Hit {
                        id,
                        duplicate: slot & DUPLICATE != 0,
                    });
                }
            }
            i = (i + 1) & part.mask;
        }
    }
}

fn insert(part: &mut Part, hash: u64, id: u32, same: &impl Fn(u32, u32) -> bool) {
    let mut i = hash as usize & part.mask;
    loop {
        let slot = part.slots[i];
        if slot == 0 {
            part.slots[i] = tag(hash) | OCCUPIED | id as u64;
            return;
        }
        if tag(slot) == tag(hash) && same((slot & ID_MASK) as u32, id) {
            part.slots[i] = slot | DUPLICATE;
            return;
        }
        i = (i + 1) & part.mask;
    }
}

/// Asks Linux to back an allocation of ours (`bytes` from `address`) with huge pages:
/// random probes over a table of hundreds of MB otherwise miss the TLB as often as the
/// cache.
#[cfg(target_os = "linux")]
fn advise_huge_pages(address: usize, bytes: usize) {
    const PAGE: usize = 4096;
    let start = address.next_multiple_of(PAGE);
    let end = (address + bytes) / PAGE * PAGE;
    if end > start {
        // SAFETY: the range lies inside the vector's own allocation; the advice changes how
        // it is backed, never its contents. A refusal (no THP) is harmless.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_: usize, _: usize) {}

#[cfg(target_arch = "x86_64")]
#[inline]
pub fn prefetch_read<T>(value: &T) {
    let p = value as *const T as *const i8;
    // SAFETY: a prefetch is a hint that never faults; `p` comes from a reference anyway.
    unsafe { std::arch::x86_64::_mm_prefetch(p, std::arch::x86_64::_MM_HINT_T0) }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
pub fn prefetch_read<T>(_: &T) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows are equal when their values are; the hash is deliberately weak (collisions).
    fn table(values: &[Vec<u64>]) -> Slots {
        let hashes: Vec<Vec<u64>> = values
            .iter()
            .map(|c| {
                c.iter()
                    .map(|v| file_hash((v % 7).wrapping_mul(0x9e37_79b9_7f4a_7c15)))
                    .collect()
            })
            .collect();
        let flat: Vec<u64> = values.iter().flatten().copied().collect();
        let starts: Vec<u32> = values
            .iter()
            .scan(0u32, |s, c| {
                let first = *s;
                *s += c.len() as u32;
                Some(first)
            })
            .collect();
        Slots::build(
            &hashes,
            |c| starts[c],
            |a, b| flat[a as usize] == flat[b as usize],
        )
    }

    #[test]
    fn every_row_is_found_by_its_value_and_repeats_are_flagged() {
        let values = vec![vec![1, 2, 3, 8, 15], vec![22, 2, 29, 100]];
        let flat: Vec<u64> = values.iter().flatten().copied().collect();
        let slots = table(&values);
        let find = |v: u64| {
            slots.find(
                file_hash((v % 7).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
                |id| flat[id as usize] == v,
            )
        };
        // 1, 8, 15, 22, 29 share one hash: found apart all the same.
        for (id, v) in [(0, 1), (3, 8), (4, 15), (5, 22), (7, 29), (8, 100), (2, 3)] {
            assert_eq!(
                find(v),
                Some(Hit {
                    id,
                    duplicate: false
                }),
                "{v}"
            );
        }
        assert_eq!(
            find(2),
            Some(Hit {
                id: 1,
                duplicate: true
            })
        );
        assert_eq!(find(36), None);
        assert_eq!(find(4), None);
    }

    #[test]
    fn rows_without_a_key_are_not_indexed() {
        let slots = Slots::build(&[vec![NO_KEY, 5]], |_| 0, |_, _| false);
        assert_eq!(slots.find(NO_KEY, |_| true), None);
        assert_eq!(
            slots.find(5, |_| true),
            Some(Hit {
                id: 1,
                duplicate: false
            })
        );
        assert_eq!(file_hash(NO_KEY), NO_KEY - 1);
    }
}
