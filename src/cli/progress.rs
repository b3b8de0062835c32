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
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn render_loop(p: &Progress, stop: &AtomicBool) {
    let started = Instant::now();
    let mut phase_start: Option<(bool, Instant, u64)> = None;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
        let scanning = is_scanning(p);
        let bytes = done_bytes(p, scanning);
        // Rates are measured from the start of the current phase, noted from the first
        // tick on (before anything is drawn), so the first line drawn has a rate.
        if phase_start.map(|(s, _, _)| s) != Some(scanning) {
            phase_start = Some((scanning, Instant::now(), bytes));
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
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        *shown = Some(line);
    }
    let mut shown = SHOWN.lock().unwrap_or_else(|e| e.into_inner());
    if shown.take().is_some() {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}

fn is_scanning(p: &Progress) -> bool {
    Progress::get(&p.scanned_bytes) > 0 || Progress::get(&p.rows) > 0
}

fn done_bytes(p: &Progress, scanning: bool) -> u64 {
    if scanning {
        Progress::get(&p.scanned_bytes)
    } else {
        Progress::get(&p.verified_bytes)
    }
}

/// One progress line: the phase (verifying MD5s, then scanning), files and bytes done of
/// the total of every pass planned so far (a report reads the delivery more than once),
/// rows so far, rate (bytes per second) and ETA.
fn status_line(p: &Progress, rate: Option<f64>) -> String {
    let scanning = is_scanning(p);
    let bytes = done_bytes(p, scanning);
    let (verb, files, total_files, total_bytes) = if scanning {
        (
            "scanning",
            Progress::get(&p.scanned_files),
            Progress::get(&p.scan_files),
            Progress::get(&p.scan_bytes),
        )
    } else {
        (
            "verifying",
            Progress::get(&p.verified_files),
            Progress::get(&p.verify_files),
            Progress::get(&p.verify_bytes),
        )
    };
    let passes = Progress::get(&p.passes);
    let pass = if scanning && passes > 1 {
        format!(" ({passes} passes)")
    } else {
        String::new()
    };
    // Sizes-only verification (--no-verify) reads no bytes: files only.
    let amount = if total_bytes > 0 {
        format!(", {} of {}", human_bytes(bytes), human_bytes(total_bytes))
    } else {
        String::new()
    };
    let rows = if scanning {
        format!(
            ", {} rows",
            crate::output::thousands(Progress::get(&p.rows))
        )
    } else {
        String::new()
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
    format!("{verb} {files}/{total_files} files{pass}{amount}{rows}{speed}")
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
    fn a_second_pass_adds_to_the_total_and_no_rate_is_not_zero() {
        // The report reads the delivery twice: done never exceeds the total.
        let p = Progress::default();
        p.start(4, 400 << 20);
        p.plan_scan(4, 400 << 20);
        Progress::add(&p.scanned_files, 4);
        Progress::add(&p.scanned_bytes, 400 << 20);
        Progress::add(&p.rows, 1_000);
        p.plan_scan(4, 400 << 20);
        Progress::add(&p.scanned_files, 1);
        Progress::add(&p.scanned_bytes, 100 << 20);
        Progress::add(&p.rows, 250);
        assert_eq!(
            status_line(&p, None),
            "scanning 5/8 files (2 passes), 500.0 MiB of 800.0 MiB, 1,250 rows"
        );
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
