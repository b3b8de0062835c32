//! Deterministic inventory rows: versioned objects with delete markers and null versions,
//! every replication status, hostile keys, log-normal sizes. The same seed always gives
//! the same rows, one at a time, so any number of rows fits in bounded memory.

/// One inventory row, in canonical terms (raw key, `None` for empty).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub is_latest: bool,
    pub is_delete_marker: bool,
    pub size: Option<i64>,
    /// Epoch milliseconds.
    pub last_modified_ms: i64,
    pub e_tag: Option<String>,
    pub storage_class: Option<String>,
    pub is_multipart_uploaded: Option<bool>,
    pub replication_status: Option<String>,
    pub encryption_status: Option<String>,
    pub object_lock_retain_until_ms: Option<i64>,
    pub object_lock_mode: Option<String>,
    pub object_lock_legal_hold_status: Option<String>,
    pub intelligent_tiering_access_tier: Option<String>,
    pub bucket_key_status: Option<String>,
    pub checksum_algorithm: Option<String>,
    pub object_access_control_list: Option<String>,
    pub object_owner: Option<String>,
    pub lifecycle_expiration_ms: Option<i64>,
}

fn fnv1a(salt: u64, bytes: impl Iterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
    for b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Row {
    /// FNV-1a over key and version id, seeded with `salt`: a stable per-object number
    /// (same on every run and platform) for decisions that must follow the object.
    pub fn stable_hash(&self, salt: u64) -> u64 {
        let version = self.version_id.as_deref().unwrap_or("");
        fnv1a(salt, self.key.bytes().chain([0]).chain(version.bytes()))
    }

    /// The same over the key alone: one number for every version of an object.
    pub fn key_hash(&self, salt: u64) -> u64 {
        fnv1a(salt, self.key.bytes())
    }

    /// Whether a current-versions-only report lists this row.
    pub fn is_current(&self) -> bool {
        self.is_latest && !self.is_delete_marker
    }
}

/// Keys that break naive readers and writers; the generator emits them first.
pub const HOSTILE_KEYS: &[&str] = &[
    "hostile/with space.txt",
    "hostile/plus+sign.txt",
    "hostile/100%.txt",
    "hostile/%41literal",
    "hostile/amp&eq=q?hash#.txt",
    "hostile/comma,name.csv",
    "hostile/quote\"d'.txt",
    "hostile/tab\there.txt",
    "hostile/new\nline.txt",
    "hostile/cr\rreturn.txt",
    "hostile/caf\u{e9}-nfc.txt",
    "hostile/cafe\u{301}-nfd.txt",
    "hostile/日本語/ファイル.txt",
    "hostile/emoji-😀🚀.png",
    "hostile/folder/",
    "hostile/a//double-slash",
    "hostile/back\\slash",
    "hostile/~tilde*star(paren)",
    "/leading-slash.txt",
    "no-slash-at-all.txt",
    " leading-space",
    "trailing-space ",
    "hostile/%2B-already-encoded",
    "hostile/semi;colon:and@at!",
];

/// A 1,000-byte key (S3 allows up to 1,024).
pub fn long_key() -> String {
    let mut k = String::from("hostile/long/");
    while k.len() < 1000 {
        k.push(char::from(b'a' + (k.len() % 26) as u8));
    }
    k
}

/// splitmix64: tiny, fast, and good enough for test data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-12);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    pub fn hex(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            s.push_str(&format!("{:016x}", self.next_u64()));
        }
        s.truncate(len);
        s
    }

    /// A version id like S3's: 32 URL-safe characters.
    pub fn version_id(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
        (0..32)
            .map(|_| ALPHABET[self.below(ALPHABET.len() as u64) as usize] as char)
            .collect()
    }

    /// A random UUID-shaped name (data file names).
    pub fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }
}

const DAY_MS: i64 = 86_400_000;
const TOP_PREFIXES: &[&str] = &[
    "logs", "images", "backups", "data", "tmp", "archive", "exports", "ml",
];
const OWNERS: &[&str] = &[
    "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
    "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
];

/// Generates the rows of one versioned source bucket.
#[derive(Debug, Clone)]
pub struct RowGen {
    rng: Rng,
    bucket: String,
    created_ms: i64,
    hostile: std::vec::IntoIter<String>,
    object: u64,
    /// Versions still to emit for the current object, newest first.
    pending: Vec<Row>,
}

impl RowGen {
    /// `created_ms` is the delivery's creation time: every object is older.
    pub fn new(seed: u64, bucket: &str, created_ms: i64, hostile: bool) -> Self {
        let mut keys: Vec<String> = if hostile {
            HOSTILE_KEYS.iter().map(|k| k.to_string()).collect()
        } else {
            Vec::new()
        };
        if hostile {
            keys.push(long_key());
        }
        RowGen {
            rng: Rng::new(seed),
            bucket: bucket.to_string(),
            created_ms,
            hostile: keys.into_iter(),
            object: 0,
            pending: Vec::new(),
        }
    }

    fn next_key(&mut self) -> String {
        if let Some(k) = self.hostile.next() {
            return k;
        }
        let r = &mut self.rng;
        // Skewed popularity: low indices far more often.
        let top = TOP_PREFIXES[((r.unit().powi(3)) * TOP_PREFIXES.len() as f64) as usize];
        let depth = 1 + r.below(3);
        let mut key = top.to_string();
        for level in 0..depth {
            let fanout = [12u64, 30, 200][level as usize];
            let n = (r.unit().powi(2) * fanout as f64) as u64;
            key.push_str(&format!("/{}{n:03}", ["p", "d", "s"][level as usize]));
        }
        key.push_str(&format!(
            "/obj-{:08}.{}",
            self.object,
            r.pick(&["json", "gz", "parquet", "jpg", "bin"])
        ));
        key
    }

    fn object_versions(&mut self) -> Vec<Row> {
        let key = self.next_key();
        self.object += 1;
        let r = &mut self.rng;
        let versions = 1 + (r.chance(0.25) as u64) + (r.chance(0.1) as u64);
        let null_version = r.chance(0.08);
        let latest_is_marker = r.chance(0.07);
        let mut rows = Vec::new();
        let mut t = self.created_ms - (r.unit().powi(2) * 1200.0 * DAY_MS as f64) as i64 - 60_000;
        let total = versions + latest_is_marker as u64;
        for v in 0..total {
            let is_latest = v == 0;
            let is_marker = latest_is_marker && v == 0;
            // The oldest version of a "null" object was written before versioning.
            let version_id = if null_version && v == total - 1 {
                None
            } else {
                Some(self.rng.version_id())
            };
            let row = if is_marker {
                self.delete_marker(&key, version_id, t)
            } else {
                self.object_row(&key, version_id, is_latest, t)
            };
            rows.push(row);
            t -= (self.rng.unit() * 90.0 * DAY_MS as f64) as i64 + 1000;
        }
        rows
    }

    fn delete_marker(&mut self, key: &str, version_id: Option<String>, t: i64) -> Row {
        Row {
            bucket: self.bucket.clone(),
            key: key.to_string(),
            version_id,
            is_latest: true,
            is_delete_marker: true,
            size: None,
            last_modified_ms: t,
            e_tag: None,
            storage_class: None,
            is_multipart_uploaded: None,
            replication_status: self.rng.chance(0.3).then(|| "COMPLETED".to_string()),
            encryption_status: None,
            object_lock_retain_until_ms: None,
            object_lock_mode: None,
            object_lock_legal_hold_status: None,
            intelligent_tiering_access_tier: None,
            bucket_key_status: Some("DISABLED".into()),
            checksum_algorithm: None,
            object_access_control_list: None,
            object_owner: None,
            lifecycle_expiration_ms: None,
        }
    }

    fn object_row(
        &mut self,
        key: &str,
        version_id: Option<String>,
        is_latest: bool,
        t: i64,
    ) -> Row {
        let r = &mut self.rng;
        let age_days = (self.created_ms - t) / DAY_MS;
        let folder = key.ends_with('/');
        let size = if folder {
            0
        } else {
            (r.normal() * 2.2 + 10.5).exp().min(5e12) as i64
        };
        let multipart = size > 16 << 20 && r.chance(0.8);
        let encryption = *r.pick(&[
            "SSE-S3", "SSE-S3", "SSE-S3", "SSE-KMS", "SSE-KMS", "DSSE-KMS", "SSE-C", "NOT-SSE",
        ]);
        let class = if r.chance(0.7) {
            "STANDARD"
        } else {
            r.pick(&[
                "STANDARD_IA",
                "INTELLIGENT_TIERING",
                "GLACIER",
                "DEEP_ARCHIVE",
                "GLACIER_IR",
                "ONEZONE_IA",
                "FSX_OPENZFS",
            ])
        };
        // Objects older than the replication rule (two years) were never replicated;
        // FAILED clusters on SSE-KMS and on one prefix; PENDING is mostly recent.
        let status = if age_days > 730 && r.chance(0.9) {
            None
        } else if key.starts_with("backups/") && r.chance(0.15)
            || encryption.contains("KMS") && r.chance(0.2)
        {
            Some("FAILED")
        } else if age_days < 2 && r.chance(0.5) || r.chance(0.02) {
            Some("PENDING")
        } else if r.chance(0.05) {
            Some("REPLICA")
        } else if r.chance(0.03) {
            None
        } else {
            Some("COMPLETED")
        };
        let tier = (class == "INTELLIGENT_TIERING").then(|| {
            r.pick(&[
                "FREQUENT",
                "INFREQUENT",
                "ARCHIVE_INSTANT_ACCESS",
                "ARCHIVE",
                "DEEP_ARCHIVE",
            ])
            .to_string()
        });
        let lock = r.chance(0.05);
        let e_tag = if multipart {
            format!("{}-{}", r.hex(32), 2 + r.below(50))
        } else if size == 0 {
            "d41d8cd98f00b204e9800998ecf8427e".to_string()
        } else {
            r.hex(32)
        };
        let owner = *r.pick(OWNERS);
        let acl = format!(
            "{{\"version\":\"2022-11-10\",\"status\":\"AVAILABLE\",\"grants\":[{{\"canonicalId\":\"{owner}\",\"type\":\"CanonicalUser\",\"permission\":\"FULL_CONTROL\"}}]}}"
        );
        Row {
            bucket: self.bucket.clone(),
            key: key.to_string(),
            version_id,
            is_latest,
            is_delete_marker: false,
            size: Some(size),
            last_modified_ms: t,
            e_tag: Some(e_tag),
            storage_class: Some(class.to_string()),
            is_multipart_uploaded: Some(multipart),
            replication_status: status.map(str::to_string),
            encryption_status: Some(encryption.to_string()),
            object_lock_retain_until_ms: lock.then(|| t + 365 * DAY_MS),
            object_lock_mode: lock.then(|| r.pick(&["GOVERNANCE", "COMPLIANCE"]).to_string()),
            object_lock_legal_hold_status: Some(
                if lock && r.chance(0.3) { "ON" } else { "OFF" }.to_string(),
            ),
            intelligent_tiering_access_tier: tier,
            bucket_key_status: Some(
                if encryption.contains("KMS") && r.chance(0.5) {
                    "ENABLED"
                } else {
                    "DISABLED"
                }
                .to_string(),
            ),
            checksum_algorithm: r.chance(0.4).then(|| {
                r.pick(&["CRC32", "CRC32C", "SHA256", "CRC64NVME"])
                    .to_string()
            }),
            object_access_control_list: Some(base64(acl.as_bytes())),
            object_owner: Some(owner.to_string()),
            lifecycle_expiration_ms: (status != Some("FAILED") && r.chance(0.1))
                .then(|| self.created_ms + 30 * DAY_MS),
        }
    }
}

impl Iterator for RowGen {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        if self.pending.is_empty() {
            let mut versions = self.object_versions();
            versions.reverse();
            self.pending = versions;
        }
        self.pending.pop()
    }
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_varied() {
        let a: Vec<Row> = RowGen::new(7, "b", 1_763_600_000_000, true)
            .take(500)
            .collect();
        let b: Vec<Row> = RowGen::new(7, "b", 1_763_600_000_000, true)
            .take(500)
            .collect();
        assert_eq!(a, b);
        assert_eq!(a[0].key, HOSTILE_KEYS[0]);
        assert!(a.iter().any(|r| r.is_delete_marker));
        assert!(a.iter().any(|r| r.version_id.is_none()));
        assert!(a.iter().any(|r| !r.is_latest));
        for s in ["COMPLETED", "PENDING", "FAILED", "REPLICA"] {
            assert!(
                a.iter().any(|r| r.replication_status.as_deref() == Some(s)),
                "{s}"
            );
        }
        assert!(
            a.iter()
                .any(|r| r.replication_status.is_none() && !r.is_delete_marker)
        );
        assert!(a.iter().all(|r| r.last_modified_ms < 1_763_600_000_000));
    }

    #[test]
    fn base64_matches_known_values() {
        assert_eq!(base64(b"{}\n"), "e30K");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
    }
}
