//! S3 faults: a proxy in front of the tests' S3 server injects `503 SlowDown`, `500
//! InternalError`, dropped connections and bodies cut short at a fixed rate. Answers and
//! written files must be byte-identical to a clean run; a server that fails every request
//! must end the run with exit 2, soon, naming the object, the last status and the retries.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};

use crate::harness::{S3Server, buckets, run};

type ProxyBody = BoxBody<Bytes, std::io::Error>;

/// Which requests fail, and how.
#[derive(Clone, Copy)]
enum Faults {
    /// Every `n`-th request, cycling through 503, 500, reset and a cut body.
    Every(u64),
    /// Every request answers 503 SlowDown.
    Always,
}

struct FaultProxy {
    endpoint: String,
    faults: Arc<AtomicU64>,
    _shutdown: tokio::sync::oneshot::Sender<()>,
    _runtime: std::thread::JoinHandle<()>,
}

fn error_xml(status: u16, code: &str) -> Response<ProxyBody> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected by the test proxy</Message></Error>"
    );
    Response::builder()
        .status(status)
        .header("content-type", "application/xml")
        .body(Full::new(Bytes::from(body)).map_err(|e| match e {}).boxed())
        .unwrap()
}

impl FaultProxy {
    fn start(upstream: &str, faults: Faults) -> FaultProxy {
        let upstream = upstream.to_string();
        let injected = Arc::new(AtomicU64::new(0));
        let counter = Arc::new(AtomicU64::new(0));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, mut shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let injected_in = Arc::clone(&injected);
        let runtime = std::thread::spawn(move || {
            let rt = crate::harness::runtime();
            rt.block_on(async move {
                let client = hyper_util::client::legacy::Client::builder(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .build_http::<Full<Bytes>>();
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                loop {
                    let (socket, _) = tokio::select! {
                        accepted = listener.accept() => match accepted {
                            Ok(a) => a,
                            Err(_) => continue,
                        },
                        _ = &mut shutdown_rx => break,
                    };
                    let client = client.clone();
                    let upstream = upstream.clone();
                    let counter = Arc::clone(&counter);
                    let injected = Arc::clone(&injected_in);
                    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let client = client.clone();
                        let upstream = upstream.clone();
                        let n = counter.fetch_add(1, Ordering::SeqCst);
                        let injected = Arc::clone(&injected);
                        async move {
                            let fault = match faults {
                                Faults::Always => Some(0),
                                Faults::Every(k) if n % k == k - 1 => Some((n / k) % 4),
                                Faults::Every(_) => None,
                            };
                            if fault.is_some() {
                                injected.fetch_add(1, Ordering::SeqCst);
                            }
                            match fault {
                                Some(0) => return Ok(error_xml(503, "SlowDown")),
                                Some(1) => return Ok(error_xml(500, "InternalError")),
                                // Dropping the connection without an answer.
                                Some(2) => return Err(std::io::Error::other("injected reset")),
                                _ => {}
                            }
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await.map_err(std::io::Error::other)?;
                            let uri = format!(
                                "{upstream}{}",
                                parts.uri.path_and_query().map_or("/", |p| p.as_str())
                            );
                            let mut forward = Request::builder().method(parts.method).uri(uri);
                            for (name, value) in &parts.headers {
                                forward = forward.header(name, value);
                            }
                            let forward = forward.body(Full::new(body.to_bytes())).unwrap();
                            let answer = client
                                .request(forward)
                                .await
                                .map_err(std::io::Error::other)?;
                            let (parts, body) = answer.into_parts();
                            let bytes = body
                                .collect()
                                .await
                                .map_err(std::io::Error::other)?
                                .to_bytes();
                            let body: ProxyBody = if fault == Some(3) && bytes.len() > 1 {
                                // Headers promise the whole body; half arrives, then the
                                // connection breaks.
                                let half = bytes.slice(..bytes.len() / 2);
                                let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = vec![
                                    Ok(Frame::data(half)),
                                    Err(std::io::Error::other("injected cut")),
                                ];
                                StreamBody::new(futures::stream::iter(frames)).boxed()
                            } else {
                                Full::new(bytes).map_err(|e| match e {}).boxed()
                            };
                            Ok::<_, std::io::Error>(Response::from_parts(parts, body))
                        }
                    });
                    tokio::spawn(async move {
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(socket), service)
                            .await;
                    });
                }
            });
        });
        let addr = addr_rx.recv().unwrap();
        FaultProxy {
            endpoint: format!("http://{addr}"),
            faults: injected,
            _shutdown: shutdown_tx,
            _runtime: runtime,
        }
    }
}

fn s3inv_at(server: &S3Server, endpoint: &str, args: &[&str]) -> (i32, String, String) {
    run(server
        .s3inv()
        .env_remove("RUST_BACKTRACE")
        .args(args)
        .args(["--endpoint-url", endpoint]))
}

/// The files under `prefix` in the S3 server's bucket folder, by name relative to it.
fn written(server: &S3Server, bucket_prefix: &str) -> Vec<(String, Vec<u8>)> {
    let root = server.root.path().join(bucket_prefix);
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.to_string_lossy().contains(".s3s") {
                let rel = p.strip_prefix(&root).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn faults_change_no_answer_and_no_written_byte() {
    let server = S3Server::start(&buckets());
    let proxy = FaultProxy::start(&server.endpoint, Faults::Every(4));
    for config in ["csv-all", "orc-all", "parquet-all"] {
        let location = format!("s3://acme-inventory/acme-data/{config}/");
        for args in [
            vec!["summary", &location, "--format", "json"],
            vec![
                "summary",
                &location,
                "--by",
                "prefix,age",
                "--format",
                "csv",
            ],
        ] {
            let (code, clean, err) = s3inv_at(&server, &server.endpoint, &args);
            assert_eq!(code, 0, "{args:?}: {err}");
            let (code, faulty, err) = s3inv_at(&server, &proxy.endpoint, &args);
            assert_eq!(code, 0, "{args:?} through faults: {err}");
            assert_eq!(faulty, clean, "{args:?}");
        }
    }
    // Manifests and a report written to S3 through the faults: the same bytes.
    for (name, endpoint) in [("clean", &server.endpoint), ("faulty", &proxy.endpoint)] {
        let out = format!("s3://acme-inventory/runs/{name}/m");
        let (code, _, err) = s3inv_at(
            &server,
            endpoint,
            &[
                "manifest",
                "s3://acme-inventory/acme-data/csv-all/",
                "--out",
                &out,
                "--max-objects",
                "20",
            ],
        );
        assert_eq!(code, 0, "manifest {name}: {err}");
        let out = format!("s3://acme-inventory/runs/{name}/r");
        let (code, _, err) = s3inv_at(
            &server,
            endpoint,
            &[
                "report",
                "s3://acme-inventory/acme-data/parquet-all/",
                "--out",
                &out,
                "-q",
            ],
        );
        assert_eq!(code, 0, "report {name}: {err}");
    }
    let clean = written(&server, "acme-inventory/runs/clean");
    let faulty = written(&server, "acme-inventory/runs/faulty");
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&faulty), names(&clean));
    assert!(
        clean.iter().any(|(n, _)| n == "m/manifest-00002.csv"),
        "{:?}",
        names(&clean)
    );
    for ((name, a), (_, b)) in clean.iter().zip(&faulty) {
        // Only the destination's own name differs.
        let a = String::from_utf8_lossy(a).replace("runs/clean", "runs/X");
        let b = String::from_utf8_lossy(b).replace("runs/faulty", "runs/X");
        assert_eq!(a, b, "{name}");
    }
    assert!(
        proxy.faults.load(Ordering::SeqCst) >= 20,
        "the proxy injected only {} faults",
        proxy.faults.load(Ordering::SeqCst)
    );
}

#[test]
fn a_server_that_always_fails_ends_the_run_soon_with_the_cause() {
    let server = S3Server::start(&buckets());
    let proxy = FaultProxy::start(&server.endpoint, Faults::Always);
    let started = Instant::now();
    let (code, out, err) = s3inv_at(
        &server,
        &proxy.endpoint,
        &[
            "summary",
            "s3://acme-inventory/acme-data/csv-all/2026-11-20T01-00Z/manifest.json",
            "--retries",
            "3",
            "--timeout",
            "20s",
        ],
    );
    let took = started.elapsed();
    assert_eq!(code, 2, "{out}");
    assert!(out.is_empty(), "{out}");
    // (The AWS SDK may warn about the tests' absent config files; s3inv says one line.)
    let ours: Vec<&str> = err.lines().filter(|l| l.starts_with("s3inv:")).collect();
    assert_eq!(ours.len(), 1, "{err}");
    let err = ours[0];
    assert!(err.starts_with("s3inv: error: "), "{err}");
    assert!(
        err.contains("acme-data/csv-all/2026-11-20T01-00Z/manifest.json"),
        "{err}"
    );
    assert!(err.contains("503"), "the last status: {err}");
    assert!(err.contains("after 3 retries"), "the retries made: {err}");
    // 3 retries of at most 20 s backoff each, bounded by --timeout 20s.
    assert!(took < Duration::from_secs(25), "took {took:?}");
}

/// A server that accepts connections and never answers is given up on within `--timeout`
/// (one try used to wait object_store's 30 s whatever the bound).
#[test]
fn a_silent_server_is_given_up_on_within_the_timeout() {
    // Connections queue in the backlog and are never answered.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let server = S3Server::start(&buckets());
    let started = Instant::now();
    let (code, out, err) = s3inv_at(
        &server,
        &endpoint,
        &[
            "sql",
            "s3://acme-inventory/acme-data/csv-all/",
            "SELECT 1",
            "--timeout",
            "3s",
            "--retries",
            "0",
        ],
    );
    let took = started.elapsed();
    drop(listener);
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("acme-data/csv-all"), "{err}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}
