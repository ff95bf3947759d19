//! Accuracy evaluation in parallel, with progress: the test inputs are cut into chunks, each
//! chunk is one run of the framework's evaluator (a supervised helper process, see
//! `measure/helper.rs`) writing a JSON array of output vectors, and as many chunks run at a
//! time as zkprof has CPUs. Progress (inputs done of N, rate, time left) is a bar on a
//! terminal and a line every [`LINE_EVERY`] otherwise.

use super::{provision, FrameworkError};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a progress line is printed when stderr is not a terminal.
pub const LINE_EVERY: Duration = Duration::from_secs(10);
/// Chunks per worker: small enough chunks for progress and balance, few enough that each
/// evaluator start (loading a circuit) is paid rarely.
const CHUNKS_PER_WORKER: usize = 4;

/// Writes the inputs of a range to a file, in the evaluator's format.
pub type WriteInputs<'a> = dyn Fn(Range<usize>, &Path) -> Result<(), FrameworkError> + Sync + 'a;
/// The evaluator's argv for an input file and an output file.
pub type Argv<'a> = dyn Fn(&Path, &Path) -> Vec<String> + Sync + 'a;

/// One chunked evaluation.
pub struct Chunked<'a> {
    /// What runs, for messages and progress (`circom witnesses for accuracy`).
    pub what: &'a str,
    /// How many inputs.
    pub total: usize,
    /// Where chunk files go (`accuracy-<k>.in.json`, `accuracy-<k>.out.json`).
    pub dir: &'a Path,
    /// Writes the inputs of `range` to the file, in the evaluator's format.
    pub write_inputs: &'a WriteInputs<'a>,
    /// The evaluator's argv for an input file and an output file.
    pub argv: &'a Argv<'a>,
    /// Extra environment of the evaluator.
    pub env: &'a [(String, String)],
    /// Most evaluators at a time (at least 1).
    pub workers: usize,
}

/// How many evaluators to run at a time: zkprof's CPUs.
pub fn default_workers() -> usize {
    crate::measure::cpus::allowed().len().max(1)
}

/// The chunks of `total` inputs for `workers` workers.
pub fn chunks(total: usize, workers: usize) -> Vec<Range<usize>> {
    let n = (workers.max(1) * CHUNKS_PER_WORKER).min(total.max(1));
    let size = total.div_ceil(n).max(1);
    (0..total)
        .step_by(size)
        .map(|s| s..(s + size).min(total))
        .collect()
}

/// Runs the evaluation; the outputs come back in input order.
pub fn run(c: &Chunked) -> Result<Vec<Vec<f32>>, FrameworkError> {
    let parts = chunks(c.total, c.workers);
    let results: Mutex<Vec<Option<Vec<Vec<f32>>>>> = Mutex::new(vec![None; parts.len()]);
    let first_error: Mutex<Option<FrameworkError>> = Mutex::new(None);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let workers = c.workers.min(parts.len()).max(1);
    let phase = crate::phase::Phase::start(&format!(
        "{}: {} inputs, {workers} at a time",
        c.what, c.total
    ));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(range) = parts.get(k).cloned() else {
                    break;
                };
                match run_chunk(c, k, range.clone()) {
                    Ok(out) => {
                        done.fetch_add(range.len(), Ordering::Relaxed);
                        if let Ok(mut r) = results.lock() {
                            r[k] = Some(out);
                        }
                    }
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        if let Ok(mut f) = first_error.lock() {
                            f.get_or_insert(e);
                        }
                        break;
                    }
                }
            });
        }
        // Progress until every worker is done.
        let mut last_line = Instant::now();
        loop {
            let d = done.load(Ordering::Relaxed);
            phase.set(d as u64, c.total as u64);
            if d >= c.total || stop.load(Ordering::Relaxed) {
                break;
            }
            if !std::io::IsTerminal::is_terminal(&std::io::stderr())
                && last_line.elapsed() >= LINE_EVERY
            {
                eprintln!("{}", progress_line(c.what, d, c.total, started.elapsed()));
                last_line = Instant::now();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    if let Some(e) = first_error.into_inner().ok().flatten() {
        phase.finish("failed");
        return Err(e);
    }
    let out: Vec<Vec<f32>> = results
        .into_inner()
        .map_err(|_| FrameworkError::Failed(format!("{}: a worker panicked", c.what)))?
        .into_iter()
        .flatten()
        .flatten()
        .collect();
    let secs = started.elapsed().as_secs_f64();
    phase.finish(&format!(
        "done, {:.1} inputs per second",
        out.len() as f64 / secs.max(1e-9)
    ));
    if out.len() != c.total {
        return Err(FrameworkError::Failed(format!(
            "{}: {} outputs for {} inputs",
            c.what,
            out.len(),
            c.total
        )));
    }
    Ok(out)
}

/// `what: 250 of 1000 inputs (25.0/s, about 30 s left)`.
pub fn progress_line(what: &str, done: usize, total: usize, elapsed: Duration) -> String {
    let rate = done as f64 / elapsed.as_secs_f64().max(1e-9);
    let left = if rate > 0.0 {
        format!(
            ", about {:.0} s left",
            (total - done.min(total)) as f64 / rate
        )
    } else {
        String::new()
    };
    format!("{what}: {done} of {total} inputs ({rate:.1}/s{left})")
}

/// One chunk: its input file, the evaluator, its outputs.
fn run_chunk(c: &Chunked, k: usize, range: Range<usize>) -> Result<Vec<Vec<f32>>, FrameworkError> {
    let (inp, outp): (PathBuf, PathBuf) = (
        c.dir.join(format!("accuracy-{k}.in.json")),
        c.dir.join(format!("accuracy-{k}.out.json")),
    );
    (c.write_inputs)(range.clone(), &inp)?;
    let argv = (c.argv)(&inp, &outp);
    let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
    provision::run_env(&refs, Some(c.dir), c.env, c.what)?;
    let out: Vec<Vec<f32>> = std::fs::read_to_string(&outp)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| {
            FrameworkError::Failed(format!("{}: no outputs in {}", c.what, outp.display()))
        })?;
    let _ = std::fs::remove_file(&inp);
    let _ = std::fs::remove_file(&outp);
    if out.len() != range.len() {
        return Err(FrameworkError::Failed(format!(
            "{}: {} outputs for inputs {}..{}",
            c.what,
            out.len(),
            range.start,
            range.end
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_input_once() {
        for (total, workers) in [(1, 2), (10, 2), (100, 2), (2500, 16), (3, 8)] {
            let parts = chunks(total, workers);
            let flat: Vec<usize> = parts.iter().flat_map(|r| r.clone()).collect();
            assert_eq!(flat, (0..total).collect::<Vec<_>>(), "{total} {workers}");
            assert!(parts.len() <= workers * CHUNKS_PER_WORKER);
        }
    }

    #[test]
    fn outputs_come_back_in_input_order() {
        // The "evaluator" echoes each input's first value as its output.
        let dir = tempfile::tempdir().unwrap();
        let inputs: Vec<Vec<f32>> = (0..37).map(|i| vec![i as f32]).collect();
        let write = |r: Range<usize>, p: &Path| {
            std::fs::write(p, serde_json::to_string(&inputs[r]).unwrap())
                .map_err(|e| FrameworkError::Failed(e.to_string()))
        };
        let argv = |i: &Path, o: &Path| {
            vec![
                "cp".to_string(),
                i.display().to_string(),
                o.display().to_string(),
            ]
        };
        let out = run(&Chunked {
            what: "echo",
            total: inputs.len(),
            dir: dir.path(),
            write_inputs: &write,
            argv: &argv,
            env: &[],
            workers: 3,
        })
        .unwrap();
        assert_eq!(out, inputs);
        let argv = |_: &Path, _: &Path| vec!["false".to_string()];
        let e = run(&Chunked {
            what: "broken evaluator",
            total: 5,
            dir: dir.path(),
            write_inputs: &write,
            argv: &argv,
            env: &[],
            workers: 2,
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("broken evaluator failed"), "{e}");
        assert!(progress_line("x", 250, 1000, Duration::from_secs(10))
            .contains("25.0/s, about 30 s left"));
    }
}
