//! The `s3inv` binary: parse the command line, set up logging and the runtime, run.

use clap::Parser;

/// Caps glibc's malloc arenas at one per core. Each thread that allocates may otherwise get
/// an arena of its own, and memory freed in one is not reused by another: a partitioned
/// `diff` (scans on the runtime's threads, joins on blocking threads) peaked at 1.38 GB
/// under `--memory-limit 1G` with the default (8 per core), 500-700 MB with this.
/// (mimalloc measured 880-930 MB on the same run, no faster.)
fn cap_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        // SAFETY: mallopt only sets a tunable; called before any thread is started.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, cores.clamp(2, 64) as libc::c_int);
        }
    }
}

/// Warnings by default, errors only with `--quiet`. Off an EC2 instance the AWS SDK's probe
/// of the instance metadata service warns on every run where no other credential or Region
/// source answers; s3inv names what is missing itself, so those are left to RUST_LOG.
fn default_filter(cli: &s3inv::cli::Cli) -> &'static str {
    if cli.quiet {
        "error"
    } else {
        "warn,aws_config::imds=error"
    }
}

fn main() {
    cap_malloc_arenas();
    let cli = s3inv::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter(&cli))),
        )
        // Through the progress line (never glued to it), and coloured only on a terminal:
        // escape codes in a log file or cron mail are noise.
        .with_writer(s3inv::cli::log_writer)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("s3inv: error: cannot start the runtime: {e}");
            std::process::exit(2);
        }
    };
    // No input may end in exit 101 and a backtrace: a panic that reaches the top is an
    // error naming what was being read (readers name the file themselves).
    s3inv::panic_net::install_hook();
    let run = std::panic::AssertUnwindSafe(|| runtime.block_on(s3inv::cli::run(cli)));
    let code = match std::panic::catch_unwind(run) {
        Ok(code) => code,
        Err(payload) => {
            eprintln!(
                "s3inv: error: {}",
                s3inv::panic_net::top_level_error(payload.as_ref())
            );
            2
        }
    };
    // Let blocking tasks of a cancelled run finish dropping their temporary files.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    std::process::exit(code);
}
