//! The MD5 of a file being written, computed on a thread of its own so that hashing (the
//! ETag of a local manifest, the `MD5checksum` of a manifest.json entry) overlaps writing
//! instead of adding to it.

use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use md5::{Digest, Md5};

/// Bytes are handed to the hashing thread in blocks of about this size.
const BLOCK: usize = 1 << 20;

pub struct BackgroundMd5 {
    block: Vec<u8>,
    tx: SyncSender<Vec<u8>>,
    hasher: JoinHandle<[u8; 16]>,
}

impl BackgroundMd5 {
    pub fn new() -> BackgroundMd5 {
        // A few blocks in flight: enough to keep the thread busy, little memory.
        let (tx, rx) = sync_channel::<Vec<u8>>(4);
        let hasher = std::thread::spawn(move || {
            let mut md5 = Md5::new();
            for block in rx {
                md5.update(&block);
            }
            md5.finalize().into()
        });
        BackgroundMd5 {
            block: Vec::with_capacity(BLOCK),
            tx,
            hasher,
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.block.extend_from_slice(data);
        if self.block.len() >= BLOCK {
            let full = std::mem::replace(&mut self.block, Vec::with_capacity(BLOCK));
            // The thread only stops when `tx` is dropped, so the send cannot fail.
            self.tx
                .send(full)
                .expect("the MD5 thread runs until finish");
        }
    }

    /// The hex digest of everything passed to `update`.
    pub fn finish(self) -> String {
        let BackgroundMd5 { block, tx, hasher } = self;
        tx.send(block).expect("the MD5 thread runs until finish");
        drop(tx);
        hex::encode(hasher.join().expect("the MD5 thread does not panic"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equals_the_md5_of_the_whole() {
        let data: Vec<u8> = (0..3 * BLOCK + 12345)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        for pieces in [1, 7, 1000, 5000] {
            let mut h = BackgroundMd5::new();
            for chunk in data.chunks(data.len().div_ceil(pieces)) {
                h.update(chunk);
            }
            assert_eq!(
                h.finish(),
                hex::encode(Md5::digest(&data)),
                "{pieces} pieces"
            );
        }
        assert_eq!(
            BackgroundMd5::new().finish(),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
    }
}
