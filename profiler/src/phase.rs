//! Progress of a long unmeasured phase (provisioning: a powers of tau, a venv, training).
//!
//! On a terminal, a spinner or a bar on stderr that is cleared when the phase ends;
//! otherwise one line when it starts and one when it ends, so that logs stay readable.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// One phase being reported.
pub struct Phase {
    what: String,
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
}

impl Phase {
    /// Starts reporting `what` (e.g. "generating a powers of tau 2^14").
    pub fn start(what: &str) -> Phase {
        let bar = if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new_spinner();
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {msg} {wide_bar} {percent:>3}%",
            ) {
                bar.set_style(style);
            }
            bar.set_message(what.to_string());
            bar.enable_steady_tick(Duration::from_millis(200));
            Some(bar)
        } else {
            eprintln!("{what} ...");
            None
        };
        Phase {
            what: what.to_string(),
            bar,
            started: Instant::now(),
        }
    }

    /// `done` of `total` units finished (shown on a terminal only).
    pub fn set(&self, done: u64, total: u64) {
        if let Some(b) = &self.bar {
            b.set_length(total);
            b.set_position(done);
        }
    }

    /// Ends the phase with one line (`note`, e.g. "ok" or a reason); returns its seconds.
    pub fn finish(self, note: &str) -> f64 {
        let s = self.started.elapsed().as_secs_f64();
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        eprintln!("{}: {note} ({s:.1} s)", self.what);
        s
    }
}

/// Prints `message` as a warning on stderr unless the same text was printed before in this
/// process (a run asks several cells the same question; the answer is said once).
pub fn warn_once(message: &str) {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let first = SEEN
        .get_or_init(|| Mutex::new(HashSet::new()))
        .lock()
        .map(|mut s| s.insert(message.to_string()))
        .unwrap_or(true);
    if first {
        tracing::warn!("{message}");
    }
}
