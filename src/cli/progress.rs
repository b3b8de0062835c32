//! The progress line on stderr: files and bytes done, rate and ETA, redrawn in place.
//! Shown only when stderr is a terminal and `--quiet` is off.
//!
//! Every other line written to stderr while it is shown (steps, notes, `RUST_LOG` logs)
//! goes through [`message`] or [`LogWriter`]: the line is erased, the text printed on a
//! line of its own, and the line drawn again below it, so no text is glued to the bar.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::output::human_bytes;
use crate::progress::{Progress, SharedProgress};

/// The progress line as last drawn; `None` when nothing is on screen. Held while writing
/// to stderr so a log line and a redraw never interleave.
static SHOWN: Mutex<Option<String>> = Mutex::new(None);

/// Writes `bytes` (whole lines) to stderr above the progress line, if one is shown.
fn write_above(bytes: &[u8]) {
    let shown = SHOWN.lock().unwrap_or_else(|e| e.into_inner());
    let mut err = std::io::stderr().lock();
    if shown.is_some() {
        let _ = err.write_all(b"\r\x1b[2K");
    }
    let _ = err.write_all(bytes);
    if let Some(line) = shown.as_deref() {
        let _ = err.write_all(line.as_bytes());
    }
    let _ = err.flush();
}

/// Prints one line of text to stderr, above the progress line.
pub(super) fn message(text: &str) {
    write_above(format!("{text}\n").as_bytes());
}

/// `tracing`'s writer: each event is buffered and written above the progress line.
pub struct LogWriter(Vec<u8>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.0.is_empty() {
            write_above(&self.0);
            self.0.clear();
        }
        Ok(())
    }
}

impl Drop for LogWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Makes a [`LogWriter`] per event (for `tracing_subscriber`'s `with_writer`).
pub fn log_writer() -> LogWriter {
    LogWriter(Vec::new())
}

/// A running progress line; `finish` erases it.
pub(super) struct ProgressLine {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ProgressLine {
    pub(super) fn start(progress: SharedProgress, quiet: bool) -> ProgressLine {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || render_loop(&progress, &stop))
        });
        ProgressLine { stop, thread }
    }

    pub(super) fn finish(mut self) {
        self.retire();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    /// Erases the line for good, now: called before the first result reaches a terminal
    /// stdout, which shares the screen with the line.
    pub(super) fn retire(&self) {
        self.stop.store(true, Ordering::Relaxed);
        erase();
    }

    /// A handle that retires this line (for a stream's first batch).
    pub(super) fn retirer(&self) -> impl Fn() + Send + Sync + 'static {
        let stop = Arc::clone(&self.stop);
        move || {
            stop.store(true, Ordering::Relaxed);
            erase();
        }
    }
}

fn render_loop(p: &Progress, stop: &AtomicBool) {
    let started = Instant::now();
    let mut phase_start: Option<(Phase, Instant, u64)> = None;
    loop {
        std::thread::sleep(Duration::from_millis(200));
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let phase = phase(p);
        if phase == Phase::Between {
            continue;
        }
        let bytes = done_bytes(p, phase);
        // Rates are measured from the start of the current phase (verifying, or one
        // scanning pass), noted from the first tick on (before anything is drawn), so the
        // first line drawn has a rate.
        if phase_start.map(|(s, _, _)| s) != Some(phase) {
            phase_start = Some((phase, Instant::now(), bytes));
        }
        if started.elapsed() < Duration::from_millis(600) {
            continue; // quick runs never flash a line
        }
        let (_, t0, b0) = phase_start.expect("set above");
        let elapsed = t0.elapsed().as_secs_f64();
        // No bytes moved yet in this phase: no rate at all rather than "0 B/s".
        let rate = (bytes > b0 && elapsed > 0.0).then(|| (bytes - b0) as f64 / elapsed);
        let line = status_line(p, rate);
        let mut shown = SHOWN.lock().unwrap_or_else(|e| e.into_inner());
        // Checked under the lock: once `retire` has erased the line it stays erased.
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        *shown = Some(line);
    }
    erase();
}

/// Erases the progress line, if one is shown.
fn erase() {
    let mut shown = SHOWN.lock().unwrap_or_else(|e| e.into_inner());
    if shown.take().is_some() {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}

/// What the line shows: verification, or the scans of pass N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Verifying,
    Between,
    Scanning(u64),
    /// Joining the buckets of a partitioned comparison (`diff`).
    Joining,
}

/// Scanning once every planned verification is done and the current pass planned a scan.
/// Between passes (a query begun, its scans not planned yet) the scan just finished stays
/// on screen rather than flashing back to the finished verification.
fn phase(p: &Progress) -> Phase {
    let pass = p.pass();
    let verifying = Progress::get(&p.verified_files) < Progress::get(&p.verify_files);
    if verifying || Progress::get(&p.passes) == 0 {
        Phase::Verifying
    } else if p.joining() {
        Phase::Joining
    } else if pass.files == 0 {
        Phase::Between
    } else {
        Phase::Scanning(pass.number)
    }
}

fn done_bytes(p: &Progress, phase: Phase) -> u64 {
    match phase {
        Phase::Verifying => Progress::get(&p.verified_bytes),
        Phase::Between => 0,
        Phase::Scanning(_) => p.pass().done_bytes,
        Phase::Joining => Progress::get(&p.joined_bytes),
    }
}

/// One progress line: the phase (verifying MD5s, then scanning), files and bytes done of
/// the phase's total (a report runs several queries: each is a pass, shown on its own),
/// rows so far, rate (bytes per second) and ETA.
fn status_line(p: &Progress, rate: Option<f64>) -> String {
    let phase = phase(p);
    let mut unit = "files";
    let (label, files, total_files, bytes, total_bytes, rows) = match phase {
        Phase::Joining => {
            unit = "buckets";
            (
                "joining".to_string(),
                Progress::get(&p.joined_buckets),
                Progress::get(&p.join_buckets),
                Progress::get(&p.joined_bytes),
                Progress::get(&p.join_bytes),
                None,
            )
        }
        Phase::Verifying | Phase::Between => (
            "verifying".to_string(),
            Progress::get(&p.verified_files),
            Progress::get(&p.verify_files),
            Progress::get(&p.verified_bytes),
            Progress::get(&p.verify_bytes),
            None,
        ),
        Phase::Scanning(number) => {
            let pass = p.pass();
            let label = if number > 1 {
                format!("pass {number}: scanning")
            } else {
                "scanning".to_string()
            };
            (
                label,
                pass.done_files,
                pass.files,
                pass.done_bytes,
                pass.bytes,
                Some(pass.rows),
            )
        }
    };
    // Sizes-only verification (--no-verify) reads no bytes: files only.
    let amount = if total_bytes > 0 {
        format!(", {} of {}", human_bytes(bytes), human_bytes(total_bytes))
    } else {
        String::new()
    };
    let rows = match rows {
        Some(rows) => format!(", {} rows", crate::output::thousands(rows)),
        None => String::new(),
    };
    let speed = match rate {
        Some(rate) => {
            let eta = if total_bytes > bytes {
                format!(
                    ", eta {}",
                    human_duration((total_bytes - bytes) as f64 / rate)
                )
            } else {
                String::new()
            };
            format!(", {}/s{eta}", human_bytes(rate as u64))
        }
        None => String::new(),
    };
    format!("{label} {files}/{total_files} {unit}{amount}{rows}{speed}")
}

fn human_duration(secs: f64) -> String {
    let s = secs.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s / 60 % 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_phase_files_bytes_rate_and_eta() {
        let p = Progress::default();
        p.start(4, 400 << 20);
        p.plan_verify(4, 400 << 20);
        Progress::add(&p.verified_files, 1);
        Progress::add(&p.verified_bytes, 100 << 20);
        assert_eq!(
            status_line(&p, Some((50 << 20) as f64)),
            "verifying 1/4 files, 100.0 MiB of 400.0 MiB, 50.0 MiB/s, eta 6s"
        );
        Progress::add(&p.verified_files, 3);
        Progress::add(&p.verified_bytes, 300 << 20);
        p.begin_pass();
        p.plan_scan(4, 400 << 20);
        Progress::add(&p.scanned_bytes, 300 << 20);
        Progress::add(&p.scanned_files, 3);
        Progress::add(&p.rows, 1_234_567);
        assert_eq!(
            status_line(&p, Some((100 << 20) as f64)),
            "scanning 3/4 files, 300.0 MiB of 400.0 MiB, 1,234,567 rows, 100.0 MiB/s, eta 1s"
        );
    }

    #[test]
    fn each_pass_is_shown_against_its_own_total_and_no_rate_is_not_zero() {
        // The report runs several queries: a later one never grows the total of the
        // pass on screen, so its ETA does not jump back.
        let p = Progress::default();
        p.start(4, 400 << 20);
        p.begin_pass();
        p.plan_scan(4, 400 << 20);
        Progress::add(&p.scanned_files, 4);
        Progress::add(&p.scanned_bytes, 400 << 20);
        Progress::add(&p.rows, 1_000);
        assert_eq!(
            status_line(&p, None),
            "scanning 4/4 files, 400.0 MiB of 400.0 MiB, 1,000 rows"
        );
        // Pass 2 joins the delivery with itself: two scans, planned before either runs.
        p.begin_pass();
        p.plan_scan(4, 400 << 20);
        p.plan_scan(4, 400 << 20);
        Progress::add(&p.scanned_files, 1);
        Progress::add(&p.scanned_bytes, 100 << 20);
        Progress::add(&p.rows, 250);
        assert_eq!(
            status_line(&p, None),
            "pass 2: scanning 1/8 files, 100.0 MiB of 800.0 MiB, 250 rows"
        );
        // A partitioned diff joins its buckets after the scans that wrote them.
        p.plan_join(64, 2 << 30);
        Progress::add(&p.joined_buckets, 16);
        Progress::add(&p.joined_bytes, 512 << 20);
        assert_eq!(
            status_line(&p, Some((256 << 20) as f64)),
            "joining 16/64 buckets, 512.0 MiB of 2.0 GiB, 256.0 MiB/s, eta 6s"
        );
        Progress::add(&p.joined_buckets, 48);
        assert_eq!(phase(&p), Phase::Scanning(2));
        // A pass whose query planned no scan yet leaves the last line as it was.
        p.begin_pass();
        assert_eq!(phase(&p), Phase::Between);
        // --no-verify: sizes only, no bytes to count.
        let p = Progress::default();
        p.plan_verify(3, 0);
        Progress::add(&p.verified_files, 2);
        assert_eq!(status_line(&p, None), "verifying 2/3 files");
    }

    #[test]
    fn human_units() {
        assert_eq!(human_duration(42.4), "42s");
        assert_eq!(human_duration(125.0), "2m05s");
        assert_eq!(human_duration(7300.0), "2h01m");
    }
}
