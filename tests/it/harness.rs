//! Shared test harness: paths to the bundled deliveries, running the binary, temporary
//! generated deliveries, and a real S3 HTTP server (s3s + s3s-fs) on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use s3inv::generate::{DeliverySpec, GenerateOptions, Versions, write_delivery};
use s3inv::manifest::FileFormat;

/// `testdata/buckets`.
pub fn buckets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/buckets")
}

/// The configuration folder of a real AWS delivery (`csv-all`, `csv-current`, `orc-all`,
/// `parquet-all`).
pub fn real(config: &str) -> PathBuf {
    buckets()
        .join("filemanager-inventory-test/filemanager-inventory-test")
        .join(config)
}

/// The configuration folder of a bundled generated delivery (`csv-all`, `orc-current`, …).
pub fn generated(config: &str) -> PathBuf {
    buckets().join("acme-inventory/acme-data").join(config)
}

/// One current, 1000-byte STANDARD, SSE-S3 object version of `bucket` written at
/// `last_modified_ms`, as a scenario writes it: set the fields a test is about.
pub fn object_row(
    bucket: &str,
    key: &str,
    version: Option<&str>,
    status: Option<&str>,
    last_modified_ms: i64,
) -> s3inv::generate::Row {
    s3inv::generate::Row {
        bucket: bucket.into(),
        key: key.into(),
        version_id: version.map(str::to_string),
        is_latest: true,
        is_delete_marker: false,
        size: Some(1000),
        last_modified_ms,
        e_tag: Some("0123456789abcdef0123456789abcdef".into()),
        storage_class: Some("STANDARD".into()),
        is_multipart_uploaded: Some(false),
        replication_status: status.map(str::to_string),
        encryption_status: Some("SSE-S3".into()),
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

/// The options the bundled generated deliveries were written with (see testdata/README.md).
pub fn bundled_options() -> GenerateOptions {
    GenerateOptions {
        rows: 400,
        seed: 1,
        source_bucket: "acme-data".into(),
        destination_bucket: "acme-inventory".into(),
        destination_prefix: String::new(),
        created_ms: 1_795_136_400_000, // 2026-11-20T01:00Z
        files: 2,
        hostile: true,
        day: 0,
    }
}

/// The s3inv binary with a clean AWS environment (no host credentials or config leak in).
pub fn s3inv() -> Command {
    let mut cmd = Command::cargo_bin("s3inv").expect("binary built");
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_CONFIG_FILE", "/nonexistent/s3inv-test-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/s3inv-test-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

/// Runs the binary; returns (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let out = cmd.output().expect("run s3inv");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `s3inv sql LOCATION SQL --format csv`, expects success, returns stdout.
pub fn sql_csv(location: &Path, sql: &str) -> String {
    let (code, out, err) = run(s3inv()
        .arg("sql")
        .arg(location)
        .arg(sql)
        .args(["--format", "csv"]));
    assert_eq!(code, 0, "s3inv failed: {err}");
    out
}

/// A generated delivery of `rows` rows in `files` data files of `format` (all versions, no
/// hostile keys), written into `dir`; returns the configuration folder.
pub fn large_delivery(dir: &Path, rows: u64, files: usize, format: FileFormat) -> PathBuf {
    let opts = GenerateOptions {
        rows,
        files,
        hostile: false,
        ..bundled_options()
    };
    write_generated(dir, &opts, format, Versions::All)
}

/// Writes one generated delivery into `dir` (the folder standing for S3); returns the
/// configuration folder.
pub fn write_generated(
    dir: &Path,
    opts: &GenerateOptions,
    format: FileFormat,
    versions: Versions,
) -> PathBuf {
    let suffix = if versions == Versions::All {
        "all"
    } else {
        "current"
    };
    let spec = DeliverySpec {
        format,
        versions,
        config_id: format!("{}-{suffix}", format.as_str().to_ascii_lowercase()),
    };
    let root = dir.join(&opts.destination_bucket);
    write_delivery(&root, opts, &spec).expect("generate delivery");
    root.join(&opts.source_bucket).join(&spec.config_id)
}

/// Renders batches as lines of `|`-separated values (for comparisons across formats).
pub fn lines(batches: &[RecordBatch]) -> Vec<String> {
    let options = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for b in batches {
        let formatters: Vec<ArrayFormatter> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for row in 0..b.num_rows() {
            out.push(
                formatters
                    .iter()
                    .map(|f| f.value(row).to_string())
                    .collect::<Vec<_>>()
                    .join("|"),
            );
        }
    }
    out
}

/// A runtime for tests that call the library directly, and for the test servers.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

pub const ACCESS_KEY: &str = "AKIAS3INVTESTKEY0001";
pub const SECRET_KEY: &str = "s3inv/test/secret/key/0000000000000000000";

/// A real S3 HTTP server over a folder (each subfolder is a bucket), on 127.0.0.1, in its
/// own thread and runtime. GETs and PUTs of keys containing `denied` get AccessDenied; so do
/// PUTs of temporary `….tmp` keys under a `fail-upload` prefix, and every multipart part
/// there fails.
pub struct S3Server {
    pub endpoint: String,
    pub root: tempfile::TempDir,
    _shutdown: std::sync::mpsc::Sender<()>,
}

struct DenySome;

#[async_trait::async_trait]
impl s3s::access::S3Access for DenySome {
    async fn get_object(
        &self,
        req: &mut s3s::S3Request<s3s::dto::GetObjectInput>,
    ) -> s3s::S3Result<()> {
        if req.input.key.contains("denied") {
            return Err(s3s::s3_error!(AccessDenied, "denied by the test server"));
        }
        Ok(())
    }

    async fn put_object(
        &self,
        req: &mut s3s::S3Request<s3s::dto::PutObjectInput>,
    ) -> s3s::S3Result<()> {
        if req.input.key.contains("denied") || fails_upload(&req.input.key) {
            return Err(s3s::s3_error!(AccessDenied, "denied by the test server"));
        }
        Ok(())
    }

    async fn upload_part(
        &self,
        req: &mut s3s::S3Request<s3s::dto::UploadPartInput>,
    ) -> s3s::S3Result<()> {
        if req.input.key.contains("fail-upload") {
            return Err(s3s::s3_error!(
                InternalError,
                "part refused by the test server"
            ));
        }
        Ok(())
    }
}

fn fails_upload(key: &str) -> bool {
    key.contains("fail-upload") && key.ends_with(".tmp")
}

/// Every file under `dir` (relative paths, sorted), hidden ones included.
pub fn files_under(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk(base, &e.path(), out);
            } else {
                out.push(e.path().strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

impl S3Server {
    /// Starts a server whose buckets are a copy of `buckets_dir`'s subfolders.
    pub fn start(buckets_dir: &Path) -> S3Server {
        Self::serve(buckets_dir, |root| s3s_fs::FileSystem::new(root).unwrap())
    }

    /// Like [`S3Server::start`], for keys with empty segments (`inv//src/…`), which a file
    /// system cannot hold: a folder named [`EMPTY_SEGMENT`] on disk is an empty segment of
    /// the keys the server shows.
    pub fn start_with_empty_segments(buckets_dir: &Path) -> S3Server {
        Self::serve(buckets_dir, |root| {
            EmptySegments(s3s_fs::FileSystem::new(root).unwrap())
        })
    }

    fn serve<B: s3s::S3>(
        buckets_dir: &Path,
        backend: impl FnOnce(&Path) -> B + Send + 'static,
    ) -> S3Server {
        let root = tempfile::tempdir().unwrap();
        copy_dir(buckets_dir, root.path());
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = std::sync::mpsc::channel::<()>();
        let fs_root = root.path().to_path_buf();
        std::thread::spawn(move || {
            let rt = runtime();
            rt.block_on(async move {
                let fs = backend(&fs_root);
                let service = {
                    let mut b = s3s::service::S3ServiceBuilder::new(fs);
                    b.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
                    b.set_access(DenySome);
                    b.build()
                };
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let http = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                let shutdown = Arc::new(std::sync::Mutex::new(shutdown_rx));
                loop {
                    // The sender is dropped with the S3Server: then stop accepting.
                    if matches!(
                        shutdown.lock().unwrap().try_recv(),
                        Err(std::sync::mpsc::TryRecvError::Disconnected)
                    ) {
                        break;
                    }
                    let accepted = tokio::time::timeout(
                        std::time::Duration::from_millis(200),
                        listener.accept(),
                    )
                    .await;
                    let Ok(Ok((socket, _))) = accepted else {
                        continue;
                    };
                    let conn = http
                        .serve_connection(hyper_util::rt::TokioIo::new(socket), service.clone())
                        .into_owned();
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
            });
        });
        let addr = addr_rx.recv().unwrap();
        S3Server {
            endpoint: format!("http://{addr}"),
            root,
            _shutdown: shutdown_tx,
        }
    }

    /// The binary, pointed at this server with valid credentials.
    pub fn s3inv(&self) -> Command {
        let mut cmd = s3inv();
        cmd.env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", "us-east-1");
        cmd
    }
}

/// The on-disk folder name that stands for an empty key segment in
/// [`S3Server::start_with_empty_segments`].
pub const EMPTY_SEGMENT: &str = "(empty)";

/// s3s-fs with keys mapped between S3 (`a//b`) and disk (`a/(empty)/b`); reads and
/// listings only, which is what reading a delivery takes.
struct EmptySegments(s3s_fs::FileSystem);

fn key_to_disk(key: &str) -> String {
    key.split('/')
        .map(|s| if s.is_empty() { EMPTY_SEGMENT } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// A listing prefix: its last segment is a partial name, kept as it is.
fn prefix_to_disk(prefix: &str) -> String {
    match prefix.rsplit_once('/') {
        Some((dirs, last)) => format!("{}/{last}", key_to_disk(dirs)),
        None => prefix.to_string(),
    }
}

fn key_from_disk(key: &str) -> String {
    key.split('/')
        .map(|s| if s == EMPTY_SEGMENT { "" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

#[async_trait::async_trait]
impl s3s::S3 for EmptySegments {
    async fn get_object(
        &self,
        mut req: s3s::S3Request<s3s::dto::GetObjectInput>,
    ) -> s3s::S3Result<s3s::S3Response<s3s::dto::GetObjectOutput>> {
        req.input.key = key_to_disk(&req.input.key);
        self.0.get_object(req).await
    }

    async fn head_object(
        &self,
        mut req: s3s::S3Request<s3s::dto::HeadObjectInput>,
    ) -> s3s::S3Result<s3s::S3Response<s3s::dto::HeadObjectOutput>> {
        req.input.key = key_to_disk(&req.input.key);
        self.0.head_object(req).await
    }

    async fn list_objects_v2(
        &self,
        mut req: s3s::S3Request<s3s::dto::ListObjectsV2Input>,
    ) -> s3s::S3Result<s3s::S3Response<s3s::dto::ListObjectsV2Output>> {
        let asked = req.input.prefix.clone();
        req.input.prefix = asked.as_deref().map(prefix_to_disk);
        let mut resp = self.0.list_objects_v2(req).await?;
        let out = &mut resp.output;
        out.prefix = asked;
        for object in out.contents.iter_mut().flatten() {
            object.key = object.key.as_deref().map(key_from_disk);
        }
        for common in out.common_prefixes.iter_mut().flatten() {
            common.prefix = common.prefix.as_deref().map(key_from_disk);
        }
        Ok(resp)
    }
}

/// Recursively copies a folder.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// All formats.
pub const FORMATS: [FileFormat; 3] = [FileFormat::Csv, FileFormat::Orc, FileFormat::Parquet];

/// The dated delivery folder of a generated configuration.
pub fn delivery_dir(config: &Path) -> PathBuf {
    config.join("2026-11-20T01-00Z")
}

/// The first data file of a generated configuration.
pub fn data_file(config: &Path) -> PathBuf {
    std::fs::read_dir(config.join("data"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

/// Writes a small CSV delivery (`Bucket, Key, Size, ReplicationStatus`) of source bucket
/// `source`, configuration `config`, created at `created_ms`, into `root` (the folder
/// standing for the destination bucket `inv`); returns the dated delivery folder.
pub fn csv_delivery(
    root: &Path,
    source: &str,
    config: &str,
    created_ms: i64,
    rows: &[(&str, u64, &str)],
) -> PathBuf {
    use std::io::Write;
    let name = chrono::DateTime::from_timestamp_millis(created_ms)
        .unwrap()
        .format("%Y-%m-%dT%H-%MZ")
        .to_string();
    let config_dir = root.join("inv").join(source).join(config);
    let delivery = config_dir.join(&name);
    std::fs::create_dir_all(&delivery).unwrap();
    let mut files = Vec::new();
    if !rows.is_empty() {
        std::fs::create_dir_all(config_dir.join("data")).unwrap();
        let mut csv = String::new();
        for (key, size, status) in rows {
            csv.push_str(&format!("\"{source}\",\"{key}\",\"{size}\",\"{status}\"\n"));
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(csv.as_bytes()).unwrap();
        let bytes = gz.finish().unwrap();
        let file = format!("{name}.csv.gz");
        std::fs::write(config_dir.join("data").join(&file), &bytes).unwrap();
        files.push(serde_json::json!({
            "key": format!("{source}/{config}/data/{file}"),
            "size": bytes.len(),
            "MD5checksum": s3inv::manifest::md5_hex(&bytes),
        }));
    }
    let manifest = serde_json::json!({
        "sourceBucket": source,
        "destinationBucket": "arn:aws:s3:::inv",
        "version": "2016-11-30",
        "creationTimestamp": created_ms.to_string(),
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, Size, ReplicationStatus",
        "files": files,
    })
    .to_string();
    std::fs::write(delivery.join("manifest.json"), &manifest).unwrap();
    std::fs::write(
        delivery.join("manifest.checksum"),
        s3inv::manifest::md5_hex(manifest.as_bytes()),
    )
    .unwrap();
    delivery
}

/// The manifest parts (`manifest-00001.csv`, …) in `out`, in order.
pub fn manifest_parts(out: &Path) -> Vec<PathBuf> {
    let mut p: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_str().unwrap();
            n.starts_with("manifest-") && n.ends_with(".csv")
        })
        .collect();
    p.sort();
    p
}

/// Every line of the manifest parts in `out`, in order.
pub fn manifest_lines(out: &Path) -> Vec<String> {
    manifest_parts(out)
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Writes a delivery's manifest.json and the manifest.checksum that matches it.
pub fn write_manifest(config: &Path, manifest: &str) {
    let dir = delivery_dir(config);
    std::fs::write(dir.join("manifest.json"), manifest).unwrap();
    std::fs::write(
        dir.join("manifest.checksum"),
        format!("{}\n", s3inv::manifest::md5_hex(manifest.as_bytes())),
    )
    .unwrap();
}

/// Replaces `file`'s bytes and updates the manifest (size, MD5) and its checksum, so that
/// only the reader can notice what is wrong with them.
pub fn replace_data_file(config: &Path, file: &Path, bytes: &[u8]) {
    use s3inv::manifest::md5_hex;
    let old = std::fs::read(file).unwrap();
    std::fs::write(file, bytes).unwrap();
    let manifest = std::fs::read_to_string(delivery_dir(config).join("manifest.json"))
        .unwrap()
        .replace(&md5_hex(&old), &md5_hex(bytes))
        .replace(
            &format!("\"size\" : {},", old.len()),
            &format!("\"size\" : {},", bytes.len()),
        );
    write_manifest(config, &manifest);
}

/// [`replace_data_file`] for the first data file; returns its path.
pub fn replace_data(config: &Path, bytes: &[u8]) -> PathBuf {
    let file = data_file(config);
    replace_data_file(config, &file, bytes);
    file
}

/// A moto server (`moto_server`, Python) on 127.0.0.1: real S3, IAM and KMS APIs for the
/// `doctor --live` tests, in its own process, killed when dropped. Its credentials are any
/// keys until [`MotoServer::enable_auth`]; its account is 123456789012.
pub struct MotoServer {
    pub endpoint: String,
    child: std::process::Child,
    log: tempfile::NamedTempFile,
}

impl MotoServer {
    /// Starts `moto_server` on a free port and waits until it accepts connections. Fails
    /// the test, saying how to install it, when `moto_server` is not on PATH.
    pub fn start() -> MotoServer {
        let mut last_log = String::new();
        // A port found free may be taken before moto binds it: then try another.
        for _ in 0..3 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let log = tempfile::NamedTempFile::new().unwrap();
            let child = std::process::Command::new("moto_server")
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(std::process::Stdio::null())
                .stdout(log.reopen().unwrap())
                .stderr(log.reopen().unwrap())
                .spawn();
            let child = match child {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                    "moto_server is not on PATH: the doctor --live tests run against it; install \
                     it with `python3 -m pip install --user 'moto[server]'` (and put \
                     ~/.local/bin on PATH); .ci/run does this"
                ),
                Err(e) => panic!("cannot start moto_server: {e}"),
            };
            let mut server = MotoServer {
                endpoint: format!("http://127.0.0.1:{port}"),
                child,
                log,
            };
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
            while std::time::Instant::now() < deadline {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return server;
                }
                if server.child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            last_log = std::fs::read_to_string(server.log.path()).unwrap_or_default();
        }
        panic!("moto_server did not start; its output:\n{last_log}");
    }

    /// From now on, every request must be signed by an IAM user's access key and allowed by
    /// that user's policies (moto's `/moto-api/reset-auth`); the default keys stop working.
    pub fn enable_auth(&self) {
        use std::io::{Read, Write};
        let addr = self.endpoint.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        // text/plain: moto reads the raw body (a form body would be parsed away).
        write!(
            stream,
            "POST /moto-api/reset-auth HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain\r\n\
             Content-Length: 1\r\nConnection: close\r\n\r\n0"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "moto reset-auth: {answer}"
        );
    }

    /// What the server logged so far (requests, tracebacks), for a failing test's message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
