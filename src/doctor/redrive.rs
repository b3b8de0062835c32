//! `doctor --emit-manifests DIR`: the objects of each actionable cause as one Batch
//! Operations manifest set in `DIR/<cause>/` (parts, `summary.json`, job requests), written
//! and proven by the manifest writer, so that a user fixes one thing and re-drives exactly
//! the objects it broke. Causes whose fix ends in a re-drive get a Batch Replication
//! manifest; archived objects a restore manifest (they replicate only once back); causes that
//! are states S3 is meant to be in (a replica, recent lag) or that s3inv cannot decide get
//! none.
//!
//! Objects are spooled while the diagnosis pass reads them: no scan of its own. An object
//! with different causes at two destinations is in both causes' manifests (each fix
//! re-drives it); in one cause's manifest once. `DIR/causes.json`, written last, lists what
//! the run wrote: a rerun with `--force` replaces exactly that.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use super::reasons;
use crate::batch::dest::Destination;
use crate::batch::job::{Operation, RestoreTier};
use crate::batch::manifest::{
    Counts, ManifestReport, Prepared, Selected, prepare, remove_earlier, write_selected,
};
use crate::error::{Error, Result};
use crate::replication::{REFUSED_CLASSES, REFUSED_TIERS};
use crate::settings::RawManifest;
use crate::storage::{Location, S3Options};
use crate::table::Session;

/// The index of a run's manifests, at the top of DIR.
pub const INDEX: &str = "causes.json";

/// What a command's manifest folders and index are called: `doctor` writes DIR/<cause>/
/// and causes.json, `diff` DIR/<destination>/<category>/ and diff.json.
#[derive(Debug)]
pub struct IndexSpec {
    /// The index file at the top of DIR.
    pub file: &'static str,
    /// The member that marks an index as s3inv's.
    pub version_key: &'static str,
    /// What a folder stands for (`cause`, `category`), in the index and job descriptions.
    pub subject: &'static str,
    /// The members listing the folders' entries.
    pub entries: &'static str,
    /// Whether a top-level name in DIR is one of this command's folders.
    pub is_ours: fn(&str) -> bool,
}

/// `doctor --emit-manifests`.
pub const DOCTOR: IndexSpec = IndexSpec {
    file: INDEX,
    version_key: "s3inv_doctor_manifests_version",
    subject: "cause",
    entries: "causes",
    is_ours: |name| {
        super::causes::ALL.iter().any(|c| c.id == name) || name.starts_with("reported-")
    },
};

/// `diff --emit-manifests`: DIR/<destination>/<category>/ (checked when written: the
/// destination names are known only once the deliveries are open).
pub const DIFF: IndexSpec = IndexSpec {
    file: "diff.json",
    version_key: "s3inv_diff_manifests_version",
    subject: "category",
    entries: "categories",
    is_ours: |_| false,
};

/// Whether a folder named in an index stays inside DIR.
fn safe_folder(f: &str) -> bool {
    !f.is_empty()
        && !f.contains('\\')
        && f.split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

/// Sort runs per cause: a few causes at once stay well within memory, and the spools spill
/// past this.
const RUN_BYTES: usize = 16 << 20;

/// What re-drives the objects of a cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Batch Replication, once the cause is fixed.
    Replicate,
    /// A restore first: GLACIER / DEEP_ARCHIVE (`tiering` false) or an Intelligent-Tiering
    /// archive access tier (`tiering` true; CreateJob refuses an expiry for those).
    Restore { tiering: bool },
    /// No manifest: the state is expected, or nothing says what to fix.
    None,
}

impl Action {
    /// The action for a cause id (`reported:<Code>` included).
    pub fn of(cause: &str) -> Action {
        match cause {
            "replica"
            | "pending-recent"
            | "delete-marker-not-replicated"
            | "other-destination"
            | "unknown-status"
            | "tag-filter-undecidable" => Action::None,
            "archived-storage-class" => Action::Restore { tiering: false },
            "archive-access-tier" => Action::Restore { tiering: true },
            id => match id.strip_prefix("reported:") {
                // A reason no re-drive can get past as the object is (not eligible, gone,
                // already replicated) gets no manifest; an unknown one does: the user judges.
                Some(code) => match reasons::lookup(code) {
                    Some(r) if !r.retry_helps => Action::None,
                    _ => Action::Replicate,
                },
                None => Action::Replicate,
            },
        }
    }

    fn name(self) -> &'static str {
        match self {
            Action::Replicate => "S3ReplicateObject",
            Action::Restore { .. } => "S3InitiateRestoreObject",
            Action::None => "none",
        }
    }
}

/// One object, as the diagnosis reads it.
pub struct Object<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub version: Option<&'a str>,
    pub size: u64,
    /// The status label it is counted under (NONE, FAILED, …).
    pub status: &'a str,
    pub delete_marker: bool,
    pub storage_class: Option<&'a str>,
    pub tier: Option<&'a str>,
}

impl Object<'_> {
    /// Why Batch Replication would refuse it, if it would.
    fn refused(&self) -> bool {
        self.storage_class
            .is_some_and(|c| REFUSED_CLASSES.contains(&c))
            || self.tier.is_some_and(|t| REFUSED_TIERS.contains(&t))
    }
}

/// The per-cause selections of one diagnosis.
pub struct Spools {
    versioned: bool,
    causes: HashMap<String, Slot>,
    /// Scratch for `reported:<Code>` ids, so that a row allocates nothing.
    id: String,
}

struct Slot {
    action: Action,
    selected: Selected,
}

/// Why an object of a cause is not written.
const SKIP_DELETE_MARKER: &str = "delete marker (never written to a manifest)";
const SKIP_ARCHIVED: &str =
    "archived (Batch Replication refuses it: see archived-storage-class / archive-access-tier)";

impl Spools {
    /// `versioned` when the inventory has version ids.
    pub fn new(versioned: bool) -> Spools {
        Spools {
            versioned,
            causes: HashMap::new(),
            id: String::new(),
        }
    }

    /// Adds `object` under a catalog cause id, or under `reported:<code>` when `reported`.
    pub fn add(&mut self, cause: &str, reported: bool, object: &Object) -> Result<()> {
        let id = if reported {
            self.id.clear();
            self.id.push_str("reported:");
            // An old name of a code counts under the current one, as in the rows.
            self.id
                .push_str(reasons::lookup(cause).map_or(cause, |r| r.code));
            self.id.as_str()
        } else {
            cause
        };
        let slot = match self.causes.get_mut(id) {
            Some(slot) => slot,
            None => {
                let action = Action::of(id);
                self.causes.entry(id.to_string()).or_insert(Slot {
                    action,
                    selected: Selected::new(self.versioned, RUN_BYTES),
                })
            }
        };
        match slot.action {
            Action::None => Ok(()),
            _ if object.delete_marker => {
                slot.selected.skip(SKIP_DELETE_MARKER, object.size);
                Ok(())
            }
            Action::Replicate if object.refused() => {
                slot.selected.skip(SKIP_ARCHIVED, object.size);
                Ok(())
            }
            _ => slot.selected.push(
                object.bucket,
                object.key,
                object.version,
                object.size,
                object.status,
            ),
        }
    }
}

/// Where and how to write: the `manifest` command's settings for DIR, applied per cause
/// folder.
#[derive(Debug, Clone)]
pub struct EmitOptions {
    /// `out` is DIR; `manifest_url` (a local DIR's upload URL) and the job settings as for
    /// `s3inv manifest`.
    pub raw: RawManifest,
    pub s3: S3Options,
    pub restore_days: u32,
    pub restore_tier: RestoreTier,
    pub index: &'static IndexSpec,
}

/// DIR checked before the scan, with what an earlier run wrote there.
pub struct Target {
    dir: Destination,
    /// The folders an earlier run's `causes.json` lists.
    earlier: Vec<String>,
    /// An earlier run's `causes.json` is there.
    had_index: bool,
    /// Removes the folders the check made if the run leaves them empty.
    _created: MadeDirs,
}

/// Local folders made for the output (the deepest first): removed again when still empty,
/// so that a run that fails leaves no empty folder behind.
struct MadeDirs(Vec<std::path::PathBuf>);

impl Drop for MadeDirs {
    fn drop(&mut self) {
        for dir in &self.0 {
            // Fails, as it should, when the folder holds anything.
            if std::fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
}

/// One cause's manifests.
#[derive(Debug, Clone)]
pub struct Emitted {
    pub cause: String,
    pub action: Action,
    /// `DIR/<folder>`, as shown to the user.
    pub location: String,
    pub report: ManifestReport,
}

/// What a run wrote.
#[derive(Debug, Clone, Default)]
pub struct Written {
    pub emitted: Vec<Emitted>,
    /// Causes with objects of which none could be written, with the skipped counts.
    pub nothing_to_write: Vec<(String, BTreeMap<String, Counts>)>,
    pub removed: Vec<String>,
    pub index: String,
}

/// The folder of a cause: its id, with `reported:` as `reported-` (a colon is no file-name
/// character everywhere).
pub fn folder(cause: &str) -> String {
    cause.replace(':', "-")
}

fn join(base: &str, name: &str) -> String {
    format!("{}/{name}", base.trim_end_matches('/'))
}

impl EmitOptions {
    /// The manifest options for one cause's folder, checked.
    fn for_folder(
        &self,
        name: &str,
        action: Action,
        cause: &str,
        statuses: Vec<String>,
    ) -> Result<(Location, crate::batch::manifest::ManifestOptions)> {
        let mut raw = self.raw.clone();
        raw.out = join(&self.raw.out, name);
        raw.manifest_url = self.raw.manifest_url.as_deref().map(|u| join(u, name));
        if !statuses.is_empty() {
            raw.statuses = statuses;
        }
        let (location, mut options) = raw.validate()?;
        options.operation = match action {
            Action::Restore { tiering } => Operation::Restore {
                expiration_days: (!tiering).then_some(self.restore_days),
                tier: self.restore_tier,
            },
            _ => Operation::Replicate,
        };
        options.purpose = Some(format!("{} {cause}", self.index.subject));
        Ok((location, options))
    }

    /// Checks DIR before the scan: writable, and an earlier run's manifests replaced only
    /// with `--force`. The settings are checked by building one folder's options.
    pub async fn check(&self) -> Result<Target> {
        let shown = &self.raw.out;
        if shown.trim().is_empty() {
            return Err(Error::Usage(
                "--emit-manifests needs a folder or an s3:// prefix".into(),
            ));
        }
        let (location, _) = self.raw.validate()?;
        let mut created = MadeDirs(Vec::new());
        if let Location::Local(path) = &location {
            created.0 = path
                .ancestors()
                .take_while(|p| !p.as_os_str().is_empty() && !p.exists())
                .map(|p| p.to_path_buf())
                .collect();
            if let Err(e) = std::fs::create_dir_all(path) {
                return Err(Error::Usage(format!(
                    "--emit-manifests {shown}: cannot create the folder: {e}"
                )));
            }
        }
        let dir = Destination::open(&location, &self.s3).await?;
        dir.check_writable().await.map_err(|e| match e {
            Error::Usage(m) => Error::Usage(format!("--emit-manifests {shown}: {m}")),
            other => other,
        })?;
        let mut earlier = Vec::new();
        let mut had_index = false;
        let spec = self.index;
        let file = spec.file;
        if let Some(text) = dir.read(file).await? {
            let index: Value = serde_json::from_slice(&text).unwrap_or(Value::Null);
            if index.get(spec.version_key).is_none() {
                return Err(Error::Usage(format!(
                    "{} holds a {file} that s3inv did not write; choose another --emit-manifests folder or move the file",
                    dir.shown()
                )));
            }
            if !self.raw.force {
                return Err(Error::Usage(format!(
                    "{} already holds re-drive manifests of an earlier run ({file}); pass --force to replace them",
                    dir.shown()
                )));
            }
            earlier = index["outputs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter(|f| safe_folder(f))
                .map(str::to_string)
                .collect();
            had_index = true;
        }
        // A cause folder already there must be replaceable now, not after the scan: an
        // earlier run's manifests need --force, a folder s3inv did not write is refused.
        for name in dir.list().await? {
            if (spec.is_ours)(&name) {
                let (location, opts) =
                    self.for_folder(&name, Action::Replicate, &name, Vec::new())?;
                prepare(&Destination::open(&location, &self.s3).await?, &opts).await?;
            }
        }
        Ok(Target {
            dir,
            earlier,
            had_index,
            _created: created,
        })
    }
}

/// Writes every cause's manifests, removes the folders of an earlier run this one did not
/// write, then the index.
pub async fn write(
    session: &Session,
    spools: Spools,
    options: &EmitOptions,
    target: Target,
) -> Result<Written> {
    let subject = options.index.subject;
    let mut written = Written::default();
    if target.had_index {
        // Until the new index is written, the folder does not claim to be complete.
        target.dir.remove(&[options.index.file.to_string()]).await?;
    }
    let mut causes: Vec<(String, Slot)> = spools.causes.into_iter().collect();
    causes.sort_by(|a, b| a.0.cmp(&b.0));
    let mut entries = Vec::new();
    let mut outputs = Vec::new();
    // Every folder is checked before any is written: a refusal changes nothing.
    let mut ready = Vec::new();
    for (cause, slot) in causes {
        if slot.action == Action::None {
            continue;
        }
        if slot.selected.objects() == 0 {
            written
                .nothing_to_write
                .push((cause.clone(), slot.selected.skipped().clone()));
            entries.push(json!({
                (subject): cause,
                "operation": slot.action.name(),
                "folder": Value::Null,
                "objects": 0,
                "bytes": 0,
                "skipped": counts_json(slot.selected.skipped()),
            }));
            continue;
        }
        let name = folder(&cause);
        let statuses = slot.selected.statuses();
        let (location, opts) = options.for_folder(&name, slot.action, &cause, statuses)?;
        let dest = Destination::open(&location, &options.s3).await?;
        let prepared: Prepared = prepare(&dest, &opts).await?;
        ready.push((cause, slot, name, opts, dest, prepared));
    }
    for (cause, slot, name, opts, dest, prepared) in ready {
        let mut report = write_selected(session, &dest, &opts, prepared, slot.selected).await?;
        if let Action::Restore { tiering } = slot.action {
            report.notes.push(if tiering {
                "restore manifest: once the objects are back in the frequent access tier, re-drive them with Batch Replication".to_string()
            } else {
                "restore manifest: a restored GLACIER / DEEP_ARCHIVE object still does not replicate; copy it in place to a non-archive storage class (the new version replicates)".to_string()
            });
        }
        let total = report.total();
        entries.push(json!({
            (subject): cause,
            "operation": slot.action.name(),
            "folder": name,
            "objects": total.objects,
            "bytes": total.bytes,
            "skipped": counts_json(&report.skipped),
            "jobs": report.jobs.iter().map(|j| j.name.clone()).collect::<Vec<_>>(),
        }));
        outputs.push(name);
        written.emitted.push(Emitted {
            cause,
            action: slot.action,
            location: dest.shown().to_string(),
            report,
        });
    }
    // The earlier run's folders this run did not write: their files go (a user's own
    // files in them stay).
    for stale in target.earlier.iter().filter(|f| !outputs.contains(f)) {
        let location = Location::parse(&join(&options.raw.out, stale))?;
        let dest = Destination::open(&location, &options.s3).await?;
        for name in remove_earlier(&dest).await? {
            written.removed.push(format!("{stale}/{name}"));
        }
        if let Location::Local(path) = &location {
            // Only an empty folder goes.
            let _ = std::fs::remove_dir(path);
        }
    }
    entries.sort_by(|a, b| a[subject].as_str().cmp(&b[subject].as_str()));
    let mut index = serde_json::Map::new();
    index.insert(options.index.version_key.into(), json!(1));
    index.insert(
        "delivery".into(),
        crate::output::summary::delivery_json(&session.delivery),
    );
    index.insert(options.index.entries.into(), Value::Array(entries));
    index.insert("outputs".into(), json!(outputs));
    index.insert("removed".into(), json!(written.removed));
    let text = serde_json::to_string_pretty(&Value::Object(index)).expect("json") + "\n";
    let file = target
        .dir
        .write_whole(options.index.file, text.as_bytes())
        .await?;
    written.index = file.location;
    Ok(written)
}

fn counts_json(m: &BTreeMap<String, Counts>) -> Value {
    m.iter()
        .map(|(k, c)| (k.clone(), json!({"objects": c.objects, "bytes": c.bytes})))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_follow_the_fix() {
        assert_eq!(Action::of("dst-versioning-off"), Action::Replicate);
        assert_eq!(Action::of("pre-existing"), Action::Replicate);
        assert_eq!(Action::of("failed-unexplained"), Action::Replicate);
        assert_eq!(
            Action::of("archived-storage-class"),
            Action::Restore { tiering: false }
        );
        assert_eq!(
            Action::of("archive-access-tier"),
            Action::Restore { tiering: true }
        );
        for id in [
            "replica",
            "pending-recent",
            "other-destination",
            "tag-filter-undecidable",
        ] {
            assert_eq!(Action::of(id), Action::None, "{id}");
        }
        assert_eq!(
            Action::of("reported:DstPutObjectNotPermitted"),
            Action::Replicate
        );
        // Not eligible as it is: a re-drive fails the same way.
        assert_eq!(Action::of("reported:SrcObjectNotEligible"), Action::None);
        assert_eq!(Action::of("reported:SomethingNew"), Action::Replicate);
        assert_eq!(
            folder("reported:DstBucketUnversioned"),
            "reported-DstBucketUnversioned"
        );
    }
}
