//! Panics turned into errors. No input may end the process with exit 101 and a backtrace:
//! a panic — ours or a dependency's, on any thread — becomes `Error::Panic`, which names
//! what was being read and asks for a report.
//!
//! The hook records where the panic happened (and prints nothing); readers catch panics
//! per data file so the error names the file; the binary catches whatever reaches the top
//! and names the delivery being read (see [`reading`]).

use std::any::Any;
use std::sync::Mutex;

use crate::error::Error;

static LOCATION: Mutex<Option<String>> = Mutex::new(None);
static READING: Mutex<Option<String>> = Mutex::new(None);

/// Replaces the default panic output (a message and a backtrace on stderr) by a record of
/// the panic's source location, for the error message. With `RUST_BACKTRACE` set, the
/// default output is kept as well, for debugging.
pub fn install_hook() {
    let default = std::panic::take_hook();
    let verbose = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
    std::panic::set_hook(Box::new(move |info| {
        if let Some(l) = info.location()
            && let Ok(mut slot) = LOCATION.lock()
        {
            *slot = Some(format!("{}:{}", l.file(), l.line()));
        }
        if verbose {
            default(info);
        }
    }));
}

/// Records what the process is reading (a delivery's manifest), for panics caught at the
/// top, where the file is no longer known.
pub fn reading(what: &str) {
    if let Ok(mut slot) = READING.lock() {
        *slot = Some(what.to_string());
    }
}

/// The panic's message, with where it happened when the hook saw it.
pub fn message(payload: &(dyn Any + Send)) -> String {
    let text = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    };
    let text = text.lines().map(str::trim).collect::<Vec<_>>().join(" ");
    match LOCATION.lock().ok().and_then(|l| l.clone()) {
        Some(at) => format!("{text} (at {at})"),
        None => text,
    }
}

/// The error for a panic caught while reading `context`.
pub fn error(context: &str, payload: &(dyn Any + Send)) -> Error {
    Error::Panic {
        context: context.to_string(),
        message: message(payload),
    }
}

/// Runs `work`, turning a panic inside it into the error for `context`.
pub async fn guard<T>(
    context: &str,
    work: impl std::future::Future<Output = crate::error::Result<T>>,
) -> crate::error::Result<T> {
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(work).catch_unwind().await {
        Ok(result) => result,
        Err(payload) => Err(error(context, payload.as_ref())),
    }
}

/// The error for a panic that reached the top of the program.
pub fn top_level_error(payload: &(dyn Any + Send)) -> Error {
    let context = READING
        .lock()
        .ok()
        .and_then(|r| r.clone())
        .unwrap_or_else(|| "the input".to_string());
    error(&context, payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_errors_naming_the_input() {
        // (The hook is not installed here: it is process-wide and would silence the
        // messages of failing tests; the binary's own test covers it.)
        let payload = std::panic::catch_unwind(|| {
            let v: Vec<u8> = Vec::new();
            let i = v.len() + 3;
            v[i]
        })
        .unwrap_err();
        let e = error("/d/file.parquet", payload.as_ref()).to_string();
        assert!(
            e.starts_with("internal error while reading /d/file.parquet: index out of bounds"),
            "{e}"
        );
        assert!(e.contains("please report it"), "{e}");
    }
}
