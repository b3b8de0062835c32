//! An external merge sort for manifest lines, so that manifests come out in one canonical
//! order (by line bytes: bucket, encoded key, version) whatever the delivery's format or file
//! order, in bounded memory: lines are collected in a fixed-size arena, sorted and spilled
//! to temporary files when it fills, then merged.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use crate::error::{Error, Result};

/// Arena size before a sorted run is spilled to disk.
pub const DEFAULT_RUN_BYTES: usize = 64 << 20;

fn io(e: std::io::Error) -> Error {
    Error::Io {
        path: "manifest spool (temporary file)".into(),
        source: e,
    }
}

/// Collects `(line, size)` records and gives them back sorted by line.
pub struct Spool {
    arena: Vec<u8>,
    index: Vec<(usize, usize)>,
    run_bytes: usize,
    runs: Vec<File>,
}

impl Spool {
    pub fn new(run_bytes: usize) -> Spool {
        Spool {
            arena: Vec::new(),
            index: Vec::new(),
            run_bytes,
            runs: Vec::new(),
        }
    }

    /// Adds one line (without `\n`) and the size of its object.
    pub fn push(&mut self, line: &[u8], size: u64) -> Result<()> {
        if !self.arena.is_empty() && self.arena.len() + line.len() + 8 > self.run_bytes {
            self.spill()?;
        }
        let start = self.arena.len();
        self.arena.extend_from_slice(line);
        self.arena.extend_from_slice(&size.to_le_bytes());
        self.index.push((start, line.len()));
        Ok(())
    }

    /// Sorts the index by line, on all cores. Lines share a long common start (the bucket
    /// name, often the first folders), so each is compared first by the 16 bytes after the
    /// part every line of the run shares, as a big-endian integer, and only on a tie by
    /// its bytes.
    fn sort(&mut self) {
        use rayon::prelude::*;
        let arena = &self.arena;
        let line = |&(start, len): &(usize, usize)| &arena[start..start + len];
        let common = match self.index.first() {
            None => return,
            Some(first) => self.index.iter().fold(first.1, |n, e| {
                let (a, b) = (line(first), line(e));
                n.min(a.iter().zip(b).take_while(|(x, y)| x == y).count())
            }),
        };
        let key = |e: &(usize, usize)| {
            let rest = &line(e)[common..];
            let mut k = [0u8; 16];
            let n = rest.len().min(16);
            k[..n].copy_from_slice(&rest[..n]);
            u128::from_be_bytes(k)
        };
        let mut keyed: Vec<(u128, (usize, usize))> =
            self.index.par_iter().map(|e| (key(e), *e)).collect();
        keyed.par_sort_unstable_by(|(ka, a), (kb, b)| {
            ka.cmp(kb)
                .then_with(|| line(a)[common..].cmp(&line(b)[common..]))
        });
        self.index.clear();
        self.index.extend(keyed.into_iter().map(|(_, e)| e));
    }

    fn spill(&mut self) -> Result<()> {
        self.sort();
        let mut file = tempfile::tempfile().map_err(io)?;
        {
            let mut w = BufWriter::with_capacity(1 << 20, &mut file);
            for &(start, len) in &self.index {
                w.write_all(&(len as u32).to_le_bytes()).map_err(io)?;
                w.write_all(&self.arena[start..start + len + 8])
                    .map_err(io)?;
            }
            w.flush().map_err(io)?;
        }
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        self.runs.push(file);
        self.arena.clear();
        self.index.clear();
        Ok(())
    }

    /// Number of runs spilled to disk so far.
    pub fn spilled_runs(&self) -> usize {
        self.runs.len()
    }

    /// The records in line order.
    pub fn finish(mut self) -> Result<Sorted> {
        if self.runs.is_empty() {
            self.sort();
            return Ok(Sorted::Memory {
                arena: self.arena,
                index: self.index.into_iter(),
            });
        }
        if !self.index.is_empty() {
            self.spill()?;
        }
        let mut readers: Vec<BufReader<File>> = self
            .runs
            .into_iter()
            .map(|f| BufReader::with_capacity(256 << 10, f))
            .collect();
        let mut heap = BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some((line, size)) = read_record(r)? {
                heap.push(Reverse((line, i, size)));
            }
        }
        Ok(Sorted::Merge { readers, heap })
    }
}

/// One spilled record: its line and its object's size.
fn read_record(r: &mut BufReader<File>) -> Result<Option<(Vec<u8>, u64)>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(io(e)),
    }
    let mut line = vec![0u8; u32::from_le_bytes(len) as usize];
    r.read_exact(&mut line).map_err(io)?;
    let mut size = [0u8; 8];
    r.read_exact(&mut size).map_err(io)?;
    Ok(Some((line, u64::from_le_bytes(size))))
}

/// Sorted records: `(line, size)`.
pub enum Sorted {
    Memory {
        arena: Vec<u8>,
        index: std::vec::IntoIter<(usize, usize)>,
    },
    Merge {
        readers: Vec<BufReader<File>>,
        /// `(line, run, size)`: ordered by line like the in-memory runs, ties by run.
        heap: BinaryHeap<Reverse<(Vec<u8>, usize, u64)>>,
    },
}

impl Sorted {
    /// Calls `f(line, size)` for every record, in order.
    pub fn for_each(self, mut f: impl FnMut(&[u8], u64) -> Result<()>) -> Result<()> {
        match self {
            Sorted::Memory { arena, index } => {
                for (start, len) in index {
                    let size = u64::from_le_bytes(
                        arena[start + len..start + len + 8]
                            .try_into()
                            .expect("8 bytes"),
                    );
                    f(&arena[start..start + len], size)?;
                }
            }
            Sorted::Merge {
                mut readers,
                mut heap,
            } => {
                while let Some(Reverse((line, i, size))) = heap.pop() {
                    f(&line, size)?;
                    if let Some((next, next_size)) = read_record(&mut readers[i])? {
                        heap.push(Reverse((next, i, next_size)));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(spool: Spool) -> Vec<(Vec<u8>, u64)> {
        let mut out = Vec::new();
        spool
            .finish()
            .unwrap()
            .for_each(|l, s| {
                out.push((l.to_vec(), s));
                Ok(())
            })
            .unwrap();
        out
    }

    #[test]
    fn sorts_in_memory_and_across_spilled_runs() {
        let lines: Vec<(String, u64)> = (0..5000u64)
            .map(|i| (format!("b,key-{:05},v{}", (i * 7919) % 5000, i % 3), i))
            .collect();
        let mut expected = lines.clone();
        expected.sort();
        for run_bytes in [1 << 30, 4096, 64] {
            let mut spool = Spool::new(run_bytes);
            for (l, s) in &lines {
                spool.push(l.as_bytes(), *s).unwrap();
            }
            let spilled = spool.spilled_runs();
            let got: Vec<(String, u64)> = collect(spool)
                .into_iter()
                .map(|(l, s)| (String::from_utf8(l).unwrap(), s))
                .collect();
            assert_eq!(got, expected, "run_bytes {run_bytes} ({spilled} runs)");
            if run_bytes == 64 {
                assert!(spilled > 100);
            }
        }
    }

    #[test]
    fn sorts_like_plain_byte_order_whatever_the_shared_start() {
        // Pseudo-random lines over a tiny alphabet (NUL included), sharing starts of every
        // length, so the 8-byte keys tie often and the fallback comparison decides.
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        for shared in ["", "b,", "bucket,logs/2026/"] {
            let lines: Vec<Vec<u8>> = (0..3000)
                .map(|_| {
                    let mut l = shared.as_bytes().to_vec();
                    let n = next() % 14;
                    l.extend((0..n).map(|_| [0u8, b'a', b'b', 0xff][next() % 4]));
                    l
                })
                .collect();
            let mut spool = Spool::new(1 << 30);
            for l in &lines {
                spool.push(l, 1).unwrap();
            }
            let got: Vec<Vec<u8>> = collect(spool).into_iter().map(|(l, _)| l).collect();
            let mut expected = lines.clone();
            expected.sort();
            assert_eq!(got, expected, "shared start {shared:?}");
        }
    }

    #[test]
    fn a_line_sorts_before_its_extensions() {
        let mut spool = Spool::new(16);
        // Sizes whose first byte sorts above ',' must not reorder lines in the merge.
        for l in ["b,ab,1", "b,a,1", "b,a,10", "b,a", "b,a"] {
            spool.push(l.as_bytes(), 0xff).unwrap();
        }
        let got: Vec<String> = collect(spool)
            .into_iter()
            .map(|(l, _)| String::from_utf8(l).unwrap())
            .collect();
        assert_eq!(got, ["b,a", "b,a", "b,a,1", "b,a,10", "b,ab,1"]);
    }
}
