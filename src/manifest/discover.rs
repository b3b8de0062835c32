//! Finding a delivery from a LOCATION: a `manifest.json`, a dated delivery folder, or a
//! configuration folder (newest complete delivery, or the one `--at` names).

use object_store::ObjectStoreExt;
use object_store::path::Path;

use super::json::{FileFormat, InventoryManifest};
use super::verify::md5_hex;
use crate::error::{Error, Result};
use crate::storage::{Action, Location, Store};

/// Which delivery of a configuration folder to use (`--at`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AtSpec {
    /// `2026-11-20`: the newest complete delivery of that day.
    Day(String),
    /// `2026-11-20T01-00Z`: exactly that delivery.
    Exact(String),
}

impl AtSpec {
    /// Parses `YYYY-MM-DD` or `YYYY-MM-DDTHH-MMZ`.
    pub fn parse(s: &str) -> Result<AtSpec> {
        let s = s.trim();
        if is_delivery_name(s) {
            return Ok(AtSpec::Exact(s.to_string()));
        }
        if is_day(s) {
            return Ok(AtSpec::Day(s.to_string()));
        }
        Err(Error::Usage(format!(
            "invalid --at {s:?}: use a day like 2026-11-20 or a delivery like 2026-11-20T01-00Z"
        )))
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            AtSpec::Exact(e) => name == e,
            AtSpec::Day(d) => {
                name.starts_with(d.as_str()) && name.as_bytes().get(10) == Some(&b'T')
            }
        }
    }
}

impl std::fmt::Display for AtSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AtSpec::Day(s) | AtSpec::Exact(s) => f.write_str(s),
        }
    }
}

fn is_day(s: &str) -> bool {
    is_day_bytes(s.as_bytes())
}

fn is_day_bytes(b: &[u8]) -> bool {
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// `YYYY-MM-DDTHH-MMZ`, the folder name of one delivery.
fn is_delivery_name(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 17
        // Bytes, not `&s[..10]`: a multi-byte character may straddle byte 10.
        && is_day_bytes(&b[..10])
        && b[10] == b'T'
        && b[11].is_ascii_digit()
        && b[12].is_ascii_digit()
        && b[13] == b'-'
        && b[14].is_ascii_digit()
        && b[15].is_ascii_digit()
        && b[16] == b'Z'
}

/// Whether `manifest.checksum` was compared with the manifest's MD5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumState {
    /// manifest.checksum exists and equals the MD5 of manifest.json.
    Verified,
    /// Verification was turned off (`--no-verify`).
    Skipped,
}

/// One data file of a delivery, resolved to a path in the store.
#[derive(Debug, Clone)]
pub struct DataFile {
    pub path: Path,
    /// How to show the file to a user (`s3://bucket/key` or a local path).
    pub display: String,
    pub size: u64,
    pub md5: String,
}

/// An opened delivery: its manifest and the data files it lists.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub store: Store,
    pub manifest_path: Path,
    /// User-facing name of the manifest.
    pub manifest_display: String,
    /// The dated folder name (`2026-11-20T01-00Z`) when the manifest sits in one.
    pub name: Option<String>,
    pub manifest: InventoryManifest,
    pub checksum: ChecksumState,
    pub files: Vec<DataFile>,
    /// Notes for the user (e.g. the newest delivery was incomplete and skipped).
    pub notes: Vec<String>,
}

impl Delivery {
    pub fn format(&self) -> FileFormat {
        self.manifest.file_format
    }
}

/// One row of `s3inv deliveries`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeliveryInfo {
    pub name: String,
    pub manifest: String,
    pub complete: bool,
    pub format: Option<String>,
    pub files: Option<usize>,
    pub bytes: Option<u64>,
    pub creation_timestamp_ms: Option<i64>,
    /// Why the manifest could not be read, if it could not.
    pub problem: Option<String>,
}

async fn exists(store: &Store, path: &Path) -> Result<bool> {
    match store.object_store.head(path).await {
        Ok(_) => Ok(true),
        Err(object_store::Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(store.error(e, path, Action::Get)),
    }
}

/// The dated delivery folders directly under `folder`, sorted oldest first.
async fn delivery_folders(store: &Store, folder: &Path) -> Result<Vec<String>> {
    let mut names = sub_folders(store, folder).await?;
    names.retain(|n| is_delivery_name(n));
    Ok(names)
}

/// The names of the folders (common prefixes) right below `folder`, sorted.
async fn sub_folders(store: &Store, folder: &Path) -> Result<Vec<String>> {
    let prefix = if folder.as_ref().is_empty() {
        None
    } else {
        Some(folder)
    };
    let listing = match store.object_store.list_with_delimiter(prefix).await {
        Ok(l) => l,
        Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(store.error(e, folder, Action::List)),
    };
    let mut names: Vec<String> = listing
        .common_prefixes
        .iter()
        .filter_map(|p| p.parts().next_back().map(|s| Store::segment(&s)))
        .collect();
    names.sort();
    Ok(names)
}

/// Where to look instead, when `location` holds no delivery: its configuration folder (for
/// a dated delivery folder), the configuration folders below it (for a source-bucket
/// folder), or the same prefix with the empty segment S3 Inventory writes (`inv//…` for a
/// destination prefix given as `inv/`). `None` when nothing better is known.
pub async fn where_to_look(location: &Location, store: &Store) -> Option<String> {
    let folder = location.object_path().ok()?;
    let shown = location.to_string();
    let shown = shown.trim_end_matches('/');
    let parts: Vec<String> = folder.parts().map(|p| Store::segment(&p)).collect();
    if let Some((last, _)) = parts.split_last()
        && is_delivery_name(last)
    {
        let parent = shown.rsplit_once('/').map_or(shown, |(p, _)| p);
        return Some(format!(
            "{shown} is a dated delivery folder: its configuration folder is {parent}/"
        ));
    }
    let children = sub_folders(store, &folder).await.ok()?;
    let mut configs = Vec::new();
    for child in children.iter().take(50) {
        let path = Store::join(&folder, child);
        if !delivery_folders(store, &path).await.ok()?.is_empty() {
            configs.push(child.clone());
        }
    }
    if let Some(first) = configs.first() {
        return Some(if configs.len() == 1 {
            format!("{shown} holds the configuration folder {first}: point at {shown}/{first}/")
        } else {
            format!(
                "{shown} holds the configuration folders {}: point at one, like {shown}/{first}/",
                configs.join(", ")
            )
        });
    }
    if let Location::S3 { bucket, key } = location {
        let key = key.trim_end_matches('/');
        // Insert an empty segment after each segment in turn: `inv/a/b` → `inv//a/b`, …
        let cuts: Vec<usize> = key.match_indices('/').map(|(i, _)| i).collect();
        for cut in cuts {
            let twin = format!("{}/{}", &key[..cut], &key[cut..]);
            let path = crate::storage::key_path(&twin);
            let mut listing = store.object_store.list(Some(&path));
            if let Some(Ok(_)) = futures::StreamExt::next(&mut listing).await {
                return Some(format!(
                    "s3://{bucket}/{twin}/ exists (an inventory destination prefix that ends in `/` makes S3 write keys with `//`): use that LOCATION"
                ));
            }
        }
    }
    None
}

/// Finds and opens the delivery `location` points at. `verify` compares manifest.checksum
/// with the manifest's MD5.
pub async fn open_delivery(
    location: &Location,
    store: &Store,
    at: Option<&AtSpec>,
    verify: bool,
) -> Result<Delivery> {
    let path = location.object_path()?;
    let shown = location.to_string();
    let mut notes = Vec::new();
    let manifest_path = if path.as_ref().ends_with(".json") {
        if at.is_some() {
            return Err(Error::Usage(
                "--at selects a delivery in a configuration folder; LOCATION is already a manifest.json".into(),
            ));
        }
        path
    } else if store.bucket.is_none() && is_plain_object(store, &path).await {
        // Checked first: "…/README.md/manifest.json: Not a directory" names the wrong cause.
        return Err(not_a_manifest(&shown));
    } else if at.is_none() && exists(store, &Store::join(&path, "manifest.json")).await? {
        Store::join(&path, "manifest.json")
    } else {
        let names = delivery_folders(store, &path).await?;
        if names.is_empty() && is_plain_object(store, &path).await {
            return Err(not_a_manifest(&shown));
        }
        if names.is_empty()
            && let Location::Local(dir) = location
            && !dir.exists()
        {
            return Err(Error::NoManifest {
                location: shown,
                reason: "the folder does not exist".into(),
            });
        }
        if names.is_empty() {
            let mut reason = if at.is_some() {
                "no dated delivery folders (YYYY-MM-DDTHH-MMZ) here; --at needs a configuration folder".to_string()
            } else {
                "no manifest.json and no dated delivery folders (YYYY-MM-DDTHH-MMZ); point at a manifest.json, a delivery folder or a configuration folder".to_string()
            };
            if let Some(hint) = where_to_look(location, store).await {
                reason.push_str("; ");
                reason.push_str(&hint);
            }
            return Err(Error::NoManifest {
                location: shown,
                reason,
            });
        }
        choose_delivery(store, &path, &names, at, &mut notes, &shown).await?
    };
    let manifest_display = store.display(&manifest_path);
    let bytes = store.get_bytes(&manifest_path).await.map_err(|e| match e {
        Error::NotFound { path, .. } => Error::NoManifest {
            location: path,
            reason: "the file does not exist".into(),
        },
        other => other,
    })?;
    let checksum = if verify {
        verify_manifest_checksum(store, &manifest_path, &bytes).await?;
        ChecksumState::Verified
    } else {
        ChecksumState::Skipped
    };
    let manifest = InventoryManifest::parse(&bytes, &manifest_display)?;
    let layout = data_layout(store, &manifest_path, &manifest).await?;
    let files = manifest
        .files
        .iter()
        .map(|f| {
            let path = layout.locate(store, &f.key);
            DataFile {
                display: store.display(&path),
                path,
                size: f.size,
                md5: f.md5.clone(),
            }
        })
        .collect();
    let name = manifest_path
        .parts()
        .collect::<Vec<_>>()
        .iter()
        .rev()
        .nth(1)
        .map(|p| Store::segment(p))
        .filter(|n| is_delivery_name(n));
    Ok(Delivery {
        store: store.clone(),
        manifest_display,
        manifest_path,
        name,
        manifest,
        checksum,
        files,
        notes,
    })
}

/// True when `path` is a file (an object), not a folder (a prefix).
async fn is_plain_object(store: &Store, path: &Path) -> bool {
    if path.as_ref().is_empty() {
        return false;
    }
    match &store.bucket {
        None => Store::local_path(path).is_file(),
        Some(_) => store.object_store.head(path).await.is_ok(),
    }
}

/// LOCATION names a file other than a manifest.json (a README, a data file).
fn not_a_manifest(shown: &str) -> Error {
    Error::NoManifest {
        location: shown.to_string(),
        reason: "it is a file, not a manifest.json or an inventory folder; point at a manifest.json, a dated delivery folder (…/<config-id>/2026-11-20T01-00Z/) or a configuration folder (…/<source-bucket>/<config-id>/)".into(),
    }
}

async fn choose_delivery(
    store: &Store,
    folder: &Path,
    names: &[String],
    at: Option<&AtSpec>,
    notes: &mut Vec<String>,
    shown: &str,
) -> Result<Path> {
    let candidates: Vec<&String> = names
        .iter()
        .rev()
        .filter(|n| at.is_none_or(|a| a.matches(n)))
        .collect();
    if candidates.is_empty() {
        return Err(Error::NoManifest {
            location: shown.to_string(),
            reason: format!(
                "no delivery matches --at {}; available: {}",
                at.map(|a| a.to_string()).unwrap_or_default(),
                names.join(", ")
            ),
        });
    }
    let mut skipped = Vec::new();
    for name in candidates {
        let dir = Store::join(folder, name);
        if exists(store, &Store::join(&dir, "manifest.checksum")).await? {
            if !skipped.is_empty() {
                notes.push(format!(
                    "skipped incomplete deliveries (no manifest.checksum yet): {}; using {name}",
                    skipped.join(", ")
                ));
            }
            return Ok(Store::join(&dir, "manifest.json"));
        }
        skipped.push(name.clone());
    }
    let reason = match (at, skipped.as_slice()) {
        // The user asked for this delivery: say how to read it as it is.
        (Some(_), [one]) => format!(
            "delivery {one} is incomplete (no manifest.checksum); AWS writes manifest.checksum last, so it may still be arriving; to read it as it is, give its dated folder with --no-verify: {}/{one}/ --no-verify",
            shown.trim_end_matches('/')
        ),
        _ => format!(
            "no complete delivery (manifest.checksum missing in {}); AWS writes it last, so the delivery may still be arriving{}",
            skipped.join(", "),
            if at.is_some() {
                "; to read one as it is, give its dated folder with --no-verify"
            } else {
                ""
            }
        ),
    };
    Err(Error::NoManifest {
        location: shown.to_string(),
        reason,
    })
}

async fn verify_manifest_checksum(store: &Store, manifest_path: &Path, bytes: &[u8]) -> Result<()> {
    // `manifest.json` -> `manifest.checksum`, beside it.
    let name = manifest_path.filename().unwrap_or("manifest.json");
    let checksum_name = format!("{}.checksum", name.strip_suffix(".json").unwrap_or(name));
    let parent = manifest_path.parent().unwrap_or_default();
    let checksum_path = Store::join(&parent, &checksum_name);
    let expected = match store.get_bytes(&checksum_path).await {
        Ok(b) => String::from_utf8_lossy(&b).trim().to_ascii_lowercase(),
        Err(Error::NotFound { path, .. }) => {
            return Err(Error::NotFound {
                path,
                hint: ": the delivery is incomplete or the manifest was copied without it (use --no-verify to read it anyway)",
            });
        }
        Err(e) => return Err(e),
    };
    let actual = md5_hex(bytes);
    if expected != actual {
        return Err(Error::ChecksumMismatch {
            path: store.display(manifest_path),
            expected,
            actual,
            hint: " (manifest.checksum does not match manifest.json: edited or partly written?)",
        });
    }
    Ok(())
}

/// Where a delivery's data files are, relative to what `files[].key` says.
#[derive(Debug, Clone, PartialEq)]
enum DataLayout {
    /// `files[].key` is relative to this destination-bucket root (AWS's own layout, or a
    /// copy that keeps it below some folder).
    Root(Path),
    /// A copy of one configuration folder (`aws s3 sync s3://dest/prefix/src/cfg/ DIR`):
    /// the files are in `DIR/data/`, named as in their keys.
    ConfigData(Path),
}

impl DataLayout {
    fn locate(&self, store: &Store, key: &str) -> Path {
        match self {
            DataLayout::Root(root) => store.join_key(root, key),
            DataLayout::ConfigData(config) => {
                let name = key.rsplit('/').next().unwrap_or(key);
                Store::join(config, &format!("data/{name}"))
            }
        }
    }
}

/// Where `files[].key` points.
///
/// A delivery sits at `<root>/<dest-prefix>/<source-bucket>/<config-id>/<date>/manifest.json`
/// and its files at `<root>/<dest-prefix>/<source-bucket>/<config-id>/data/<uuid>`, so the
/// root is the configuration folder with the files' `<dest-prefix>/<source-bucket>/<config-id>`
/// removed from its end. Copies that do not keep the layout are looked up, in order, in the
/// configuration folder's own `data/` (a synced configuration folder), then under the
/// nearest ancestor of the manifest where the first file exists; the error lists every
/// place tried.
async fn data_layout(
    store: &Store,
    manifest_path: &Path,
    manifest: &InventoryManifest,
) -> Result<DataLayout> {
    let Some(first) = manifest.files.first() else {
        return Ok(DataLayout::Root(Path::default()));
    };
    let parts: Vec<_> = manifest_path.parts().collect();
    let manifest_dir = &parts[..parts.len().saturating_sub(1)];
    // On a file system `a//b` is `a/b` (see `Store::join_key`).
    let key = match store.bucket {
        Some(_) => first.key.clone(),
        None => crate::storage::collapse_empty_segments(&first.key),
    };
    let key_parts: Vec<&str> = key.split('/').collect();
    let config_dir = &manifest_dir[..manifest_dir.len().saturating_sub(1)];
    let mut candidates = Vec::new();
    if let Some(data_at) = key_parts.iter().rposition(|p| *p == "data")
        && !manifest_dir.is_empty()
    {
        let config_suffix = &key_parts[..data_at];
        if config_dir.len() >= config_suffix.len()
            && config_dir[config_dir.len() - config_suffix.len()..]
                .iter()
                .zip(config_suffix)
                .all(|(a, b)| Store::segment(a) == *b)
        {
            let layout = DataLayout::Root(Path::from_iter(
                config_dir[..config_dir.len() - config_suffix.len()]
                    .iter()
                    .cloned(),
            ));
            // AWS's own layout: taken without a look, as the verification checks every
            // file. Keys with empty segments are looked at first: a copy that collapsed
            // them is found below and named.
            if crate::storage::collapse_empty_segments(&key) == key {
                return Ok(layout);
            }
            candidates.push(layout);
        }
    }
    if !manifest_dir.is_empty() {
        candidates.push(DataLayout::ConfigData(Path::from_iter(
            config_dir.iter().cloned(),
        )));
    }
    for depth in (0..=manifest_dir.len()).rev() {
        candidates.push(DataLayout::Root(Path::from_iter(
            manifest_dir[..depth].iter().cloned(),
        )));
    }
    let mut tried = Vec::new();
    for layout in &candidates {
        let path = layout.locate(store, &first.key);
        if exists(store, &path).await? {
            return Ok(layout.clone());
        }
        tried.push(store.display(&path));
    }
    // A copy made by a tool that collapses `//` keeps the files, under other keys: say so
    // rather than "not found" (and never read them silently as if they were the same).
    let collapsed = crate::storage::collapse_empty_segments(&first.key);
    let mut twin = None;
    if store.bucket.is_some() && collapsed != first.key {
        for layout in &candidates {
            let path = layout.locate(store, &collapsed);
            if exists(store, &path).await? {
                twin = Some(store.display(&path));
                break;
            }
        }
    }
    Err(Error::DataFileNotFound {
        key: first.key.clone(),
        tried,
        twin,
    })
}

/// Lists the deliveries of a configuration folder, oldest first.
pub async fn list_deliveries(location: &Location, store: &Store) -> Result<Vec<DeliveryInfo>> {
    let folder = location.object_path()?;
    if is_plain_object(store, &folder).await {
        let shown = location.to_string();
        // `deliveries` lists a configuration folder; a manifest.json names its own.
        let config = shown
            .strip_suffix("/manifest.json")
            .and_then(|dated| dated.rsplit_once('/'))
            .filter(|(_, name)| is_delivery_name(name))
            .map(|(config, _)| config);
        return Err(Error::Usage(match config {
            Some(config) => format!(
                "{shown} is one delivery's manifest.json; `deliveries` lists a configuration folder: s3inv deliveries {config}/"
            ),
            None => format!(
                "{shown} is a file; `deliveries` lists a configuration folder (…/<source-bucket>/<config-id>/)"
            ),
        }));
    }
    let names = delivery_folders(store, &folder).await?;
    if names.is_empty()
        && let Location::Local(dir) = location
        && !dir.exists()
    {
        // S3 has no folders: an empty prefix and a missing one look the same and list
        // nothing; a local folder can be told missing.
        return Err(Error::NoManifest {
            location: location.to_string(),
            reason: "the folder does not exist".into(),
        });
    }
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let dir = Store::join(&folder, &name);
        let manifest_path = Store::join(&dir, "manifest.json");
        let display = store.display(&manifest_path);
        let complete = exists(store, &Store::join(&dir, "manifest.checksum")).await?;
        let mut info = DeliveryInfo {
            name,
            manifest: display.clone(),
            complete,
            format: None,
            files: None,
            bytes: None,
            creation_timestamp_ms: None,
            problem: None,
        };
        match store.get_bytes(&manifest_path).await {
            Ok(bytes) => match InventoryManifest::parse(&bytes, &display) {
                Ok(m) => {
                    info.format = Some(m.file_format.to_string());
                    info.files = Some(m.files.len());
                    info.bytes = Some(m.total_bytes());
                    info.creation_timestamp_ms = Some(m.creation_timestamp_ms);
                }
                Err(e) => info.problem = Some(e.to_string()),
            },
            Err(Error::NotFound { .. }) => {
                info.complete = false;
                info.problem = Some("no manifest.json".into());
            }
            Err(e) => return Err(e),
        }
        out.push(info);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_names_and_at() {
        assert!(is_delivery_name("2026-11-20T01-00Z"));
        assert!(!is_delivery_name("2026-11-20T01-00"));
        assert!(!is_delivery_name("data"));
        assert_eq!(
            AtSpec::parse("2026-11-20").unwrap(),
            AtSpec::Day("2026-11-20".into())
        );
        assert!(
            AtSpec::parse("2026-11-20")
                .unwrap()
                .matches("2026-11-20T01-00Z")
        );
        assert!(
            !AtSpec::parse("2026-11-20")
                .unwrap()
                .matches("2026-11-21T01-00Z")
        );
        assert!(AtSpec::parse("20-11-2026").is_err());
        // Found by the fuzzer: a multi-byte character across byte 10 is no panic.
        assert!(AtSpec::parse("stuckn00d\u{fffd}ng>10").is_err());
    }
}
