//! The MD5 of a file being written, computed on a thread of its own so that hashing (the
//! ETag of a local manifest, the `MD5checksum` of a manifest.json entry) overlaps writing
//! instead of adding to it. The same pass keeps the MD5 of every 8 MiB chunk, from which
//! the ETag `aws s3 cp` gives a file it uploads in parts follows (`aws_cli_etag`).

use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use md5::{Digest, Md5};

/// Bytes are handed to the hashing thread in blocks of about this size.
const BLOCK: usize = 1 << 20;

/// `aws s3 cp`'s defaults (`multipart_threshold`, `multipart_chunksize`): files of at least
/// 8 MiB go up in 8 MiB parts, the chunk doubled until there are at most 10,000 parts.
pub const AWS_CLI_MULTIPART_THRESHOLD: u64 = 8 << 20;
const AWS_CLI_CHUNK: u64 = 8 << 20;
const AWS_CLI_MAX_PARTS: u64 = 10_000;

pub struct BackgroundMd5 {
    block: Vec<u8>,
    tx: SyncSender<Vec<u8>>,
    hasher: JoinHandle<Digests>,
}

/// The MD5 of the whole and of each 8 MiB chunk.
pub struct Digests {
    pub md5: String,
    bytes: u64,
    chunks: Vec<[u8; 16]>,
}

/// The chunk size `aws s3 cp` uses for a file of `size` bytes (s3transfer's
/// `ChunksizeAdjuster`).
pub fn aws_cli_chunk_size(size: u64) -> u64 {
    let mut chunk = AWS_CLI_CHUNK;
    while size.div_ceil(chunk) > AWS_CLI_MAX_PARTS {
        chunk *= 2;
    }
    chunk
}

/// The multipart ETag of parts with these MD5s: `md5(md5_1 ‖ … ‖ md5_n)-n`.
pub fn multipart_etag(parts: &[[u8; 16]]) -> String {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    format!("{}-{}", hex::encode(h.finalize()), parts.len())
}

impl Digests {
    /// The ETag S3 gives this content when `aws s3 cp` uploads it with its default settings:
    /// the MD5 below 8 MiB, else the multipart ETag; `None` when the chunk is not 8 MiB (a
    /// file past 78 GiB), which the caller computes from the file.
    pub fn aws_cli_etag(&self) -> Option<String> {
        if self.bytes < AWS_CLI_MULTIPART_THRESHOLD {
            return Some(self.md5.clone());
        }
        (aws_cli_chunk_size(self.bytes) == AWS_CLI_CHUNK).then(|| multipart_etag(&self.chunks))
    }
}

impl BackgroundMd5 {
    pub fn new() -> BackgroundMd5 {
        // A few blocks in flight: enough to keep the thread busy, little memory.
        let (tx, rx) = sync_channel::<Vec<u8>>(4);
        let hasher = std::thread::spawn(move || {
            let mut md5 = Md5::new();
            let mut chunk = Md5::new();
            let (mut bytes, mut in_chunk) = (0u64, 0u64);
            let mut chunks = Vec::new();
            for block in rx {
                md5.update(&block);
                bytes += block.len() as u64;
                let mut rest = &block[..];
                while !rest.is_empty() {
                    let take = rest.len().min((AWS_CLI_CHUNK - in_chunk) as usize);
                    chunk.update(&rest[..take]);
                    in_chunk += take as u64;
                    rest = &rest[take..];
                    if in_chunk == AWS_CLI_CHUNK {
                        chunks.push(chunk.finalize_reset().into());
                        in_chunk = 0;
                    }
                }
            }
            if in_chunk > 0 {
                chunks.push(chunk.finalize().into());
            }
            Digests {
                md5: hex::encode(md5.finalize()),
                bytes,
                chunks,
            }
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

    /// The digests of everything passed to `update`.
    pub fn finish(self) -> Digests {
        let BackgroundMd5 { block, tx, hasher } = self;
        tx.send(block).expect("the MD5 thread runs until finish");
        drop(tx);
        hasher.join().expect("the MD5 thread does not panic")
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
                h.finish().md5,
                hex::encode(Md5::digest(&data)),
                "{pieces} pieces"
            );
        }
        assert_eq!(
            BackgroundMd5::new().finish().md5,
            "d41d8cd98f00b204e9800998ecf8427e"
        );
    }

    #[test]
    fn aws_cli_etag_is_the_multipart_etag_of_8_mib_chunks() {
        // 8 MiB + 5 bytes: two parts (8 MiB and 5 bytes), computed here from the parts.
        let data: Vec<u8> = (0..(8 << 20) + 5).map(|i| (i * 7 % 253) as u8).collect();
        let mut h = BackgroundMd5::new();
        for piece in data.chunks(3 << 19) {
            h.update(piece);
        }
        let d = h.finish();
        let parts: Vec<[u8; 16]> = data
            .chunks(8 << 20)
            .map(|c| Md5::digest(c).into())
            .collect();
        let mut whole = Md5::new();
        for p in &parts {
            whole.update(p);
        }
        let expected = format!("{}-2", hex::encode(whole.finalize()));
        assert_eq!(d.aws_cli_etag().unwrap(), expected);
        // Below the threshold it is the plain MD5.
        let mut h = BackgroundMd5::new();
        h.update(&data[..(8 << 20) - 1]);
        let d = h.finish();
        assert_eq!(d.aws_cli_etag().unwrap(), d.md5);
        assert_eq!(aws_cli_chunk_size(80_000 << 20), 8 << 20);
        assert_eq!(aws_cli_chunk_size((80_000 << 20) + 1), 16 << 20);
    }
}
