//! The progress line on stderr: files and bytes done, rate and ETA, redrawn in place.
//! Shown only when stderr is a terminal and `--quiet` is off.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::output::human_bytes;
use crate::progress::{Progress, SharedProgress};

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
    let mut drawn = false;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(200));
        if started.elapsed() < Duration::from_millis(600) {
            continue; // quick runs never flash a line
        }
        let scanning = Progress::get(&p.scanned_bytes) > 0 || Progress::get(&p.rows) > 0;
        let bytes = if scanning {
            Progress::get(&p.scanned_bytes)
        } else {
            Progress::get(&p.verified_bytes)
        };
        // Rates are measured from the start of the current phase.
        if phase_start.map(|(s, _, _)| s) != Some(scanning) {
            phase_start = Some((scanning, Instant::now(), bytes));
        }
        let (_, t0, b0) = phase_start.expect("set above");
        let rate = bytes.saturating_sub(b0) as f64 / t0.elapsed().as_secs_f64().max(0.001);
        let line = status_line(p, rate);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        drawn = true;
    }
    if drawn {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}

/// One progress line: the phase (verifying MD5s, then scanning), files and bytes done of
/// the total, rows so far, rate (bytes per second) and ETA.
fn status_line(p: &Progress, rate: f64) -> String {
    let total_files = Progress::get(&p.total_files);
    let total_bytes = Progress::get(&p.total_bytes);
    let scanning = Progress::get(&p.scanned_bytes) > 0 || Progress::get(&p.rows) > 0;
    let (verb, files, bytes) = if scanning {
        (
            "scanning",
            Progress::get(&p.scanned_files),
            Progress::get(&p.scanned_bytes),
        )
    } else {
        (
            "verifying",
            Progress::get(&p.verified_files),
            Progress::get(&p.verified_bytes),
        )
    };
    let eta = if rate > 0.0 && total_bytes > bytes {
        format!(
            ", eta {}",
            human_duration((total_bytes - bytes) as f64 / rate)
        )
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
    format!(
        "{verb} {files}/{total_files} files, {} of {}{rows}, {}/s{eta}",
        human_bytes(bytes),
        human_bytes(total_bytes),
        human_bytes(rate as u64),
    )
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
        Progress::add(&p.verified_files, 1);
        Progress::add(&p.verified_bytes, 100 << 20);
        assert_eq!(
            status_line(&p, (50 << 20) as f64),
            "verifying 1/4 files, 100.0 MiB of 400.0 MiB, 50.0 MiB/s, eta 6s"
        );
        Progress::add(&p.scanned_bytes, 300 << 20);
        Progress::add(&p.scanned_files, 3);
        Progress::add(&p.rows, 1_234_567);
        assert_eq!(
            status_line(&p, (100 << 20) as f64),
            "scanning 3/4 files, 300.0 MiB of 400.0 MiB, 1,234,567 rows, 100.0 MiB/s, eta 1s"
        );
    }

    #[test]
    fn human_units() {
        assert_eq!(human_duration(42.4), "42s");
        assert_eq!(human_duration(125.0), "2m05s");
        assert_eq!(human_duration(7300.0), "2h01m");
    }
}
