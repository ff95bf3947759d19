//! Output lines of a step, timestamped as they arrive.
//!
//! A step's stdout and stderr are pipes. One reader thread per stream copies every byte to
//! the step's log file as it arrives and hands each complete line, with the time since spawn
//! at which its last byte was read, to a [`LineSink`] (the live phase tracker). The lines
//! and their times are also written to `<stem>.timeline.tsv` (`seconds<TAB>stream<TAB>text`).
//!
//! A reader never blocks the run: it polls its pipe every 100 ms and, once the runner has
//! reaped the tree and the drain deadline has passed, gives up on a pipe that a stray
//! process still holds open.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A line longer than this (bytes, without a newline) is cut and delivered in pieces.
pub const MAX_LINE: usize = 64 * 1024;

/// Text kept per line in the timeline file (characters).
const TIMELINE_TEXT: usize = 300;

/// Which stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn label(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Receives every complete line of both streams, in the order they were read.
pub trait LineSink: Send {
    /// `t_s`: seconds since spawn at which the line's last byte arrived.
    fn line(&mut self, t_s: f64, stream: Stream, text: &str);
}

/// A sink that ignores lines.
pub struct NoSink;

impl LineSink for NoSink {
    fn line(&mut self, _t_s: f64, _stream: Stream, _text: &str) {}
}

/// What both readers share: the sink and the timeline file.
struct Shared {
    sink: Box<dyn LineSink>,
    timeline: Option<BufWriter<File>>,
    lines: u64,
}

/// The two reader threads of a step.
pub struct Readers {
    handles: Vec<JoinHandle<std::io::Result<()>>>,
    give_up: Arc<AtomicBool>,
    shared: Arc<Mutex<Shared>>,
}

impl Readers {
    /// Starts a reader for each `(pipe, log file, stream)`.
    pub fn start<R: Read + AsRawFd + Send + 'static>(
        pipes: Vec<(R, File, Stream)>,
        timeline: Option<File>,
        sink: Box<dyn LineSink>,
        spawned_at: Instant,
    ) -> std::io::Result<Readers> {
        let shared = Arc::new(Mutex::new(Shared {
            sink,
            timeline: timeline.map(BufWriter::new),
            lines: 0,
        }));
        let give_up = Arc::new(AtomicBool::new(false));
        let mut handles = Vec::new();
        for (pipe, log, stream) in pipes {
            let shared = shared.clone();
            let give_up = give_up.clone();
            let h = std::thread::Builder::new()
                .name(format!("zkprof-{}", stream.label()))
                .spawn(move || read_pipe(pipe, log, stream, &shared, &give_up, spawned_at))?;
            handles.push(h);
        }
        Ok(Readers {
            handles,
            give_up,
            shared,
        })
    }

    /// Waits for both streams to end (EOF), at most `drain` after being called, and
    /// returns the sink and how many lines were seen. Errors writing the logs are returned.
    pub fn finish(self, drain: Duration) -> (Box<dyn LineSink>, u64, Vec<String>) {
        let deadline = Instant::now() + drain;
        while self.handles.iter().any(|h| !h.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.give_up.store(true, Ordering::Release);
        let mut errors = Vec::new();
        for h in self.handles {
            match h.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => errors.push(format!("writing a log: {e}")),
                Err(_) => errors.push("an output reader thread panicked".into()),
            }
        }
        let shared = match Arc::try_unwrap(self.shared) {
            Ok(m) => m.into_inner().unwrap_or_else(|p| p.into_inner()),
            Err(_) => {
                errors.push("output readers still running".into());
                return (Box::new(NoSink), 0, errors);
            }
        };
        let mut shared = shared;
        if let Some(mut t) = shared.timeline.take() {
            if let Err(e) = t.flush() {
                errors.push(format!("writing the timeline: {e}"));
            }
        }
        (shared.sink, shared.lines, errors)
    }
}

/// Splits bytes into lines; keeps the unfinished rest.
#[derive(Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    /// Feeds bytes; calls `f` with every complete line (without `\n` or a trailing `\r`).
    pub fn feed(&mut self, mut bytes: &[u8], f: &mut dyn FnMut(&str)) {
        while let Some(i) = bytes.iter().position(|&b| b == b'\n') {
            self.pending.extend_from_slice(&bytes[..i]);
            self.emit(f);
            bytes = &bytes[i + 1..];
        }
        self.pending.extend_from_slice(bytes);
        while self.pending.len() >= MAX_LINE {
            let rest = self.pending.split_off(MAX_LINE);
            self.emit(f);
            self.pending = rest;
        }
    }

    /// Delivers an unfinished last line, if any.
    pub fn finish(&mut self, f: &mut dyn FnMut(&str)) {
        if !self.pending.is_empty() {
            self.emit(f);
        }
    }

    fn emit(&mut self, f: &mut dyn FnMut(&str)) {
        if self.pending.last() == Some(&b'\r') {
            self.pending.pop();
        }
        f(&String::from_utf8_lossy(&self.pending));
        self.pending.clear();
    }
}

fn read_pipe<R: Read + AsRawFd>(
    mut pipe: R,
    log: File,
    stream: Stream,
    shared: &Mutex<Shared>,
    give_up: &AtomicBool,
    spawned_at: Instant,
) -> std::io::Result<()> {
    let mut log = log;
    let mut split = LineSplitter::default();
    let mut buf = vec![0u8; 64 * 1024];
    let fd = pipe.as_raw_fd();
    let deliver = |split: &mut LineSplitter, bytes: &[u8], last: bool| {
        let t_s = spawned_at.elapsed().as_secs_f64();
        let Ok(mut sh) = shared.lock() else {
            return;
        };
        let sh = &mut *sh;
        let mut on_line = |text: &str| {
            sh.lines += 1;
            if let Some(t) = sh.timeline.as_mut() {
                let short: String = text.chars().take(TIMELINE_TEXT).collect();
                let short = short.replace('\t', " ");
                let _ = writeln!(t, "{t_s:.6}\t{}\t{short}", stream.label());
            }
            sh.sink.line(t_s, stream, text);
        };
        split.feed(bytes, &mut on_line);
        if last {
            split.finish(&mut on_line);
        }
    };
    loop {
        // Past the drain deadline (a stray process still writing): stop.
        if give_up.load(Ordering::Acquire) {
            break;
        }
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd that we own.
        let r = unsafe { libc::poll(&mut pfd, 1, 100) };
        if r < 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e);
        }
        if r == 0 {
            continue;
        }
        match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                log.write_all(&buf[..n])?;
                deliver(&mut split, &buf[..n], false);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    deliver(&mut split, &[], true);
    log.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitter_handles_partial_lines_and_carriage_returns() {
        let mut s = LineSplitter::default();
        let mut got: Vec<String> = Vec::new();
        s.feed(b"one\r\ntw", &mut |l| got.push(l.to_string()));
        s.feed(b"o\nthr", &mut |l| got.push(l.to_string()));
        s.finish(&mut |l| got.push(l.to_string()));
        assert_eq!(got, vec!["one", "two", "thr"]);
    }

    struct Count(Arc<Mutex<u64>>);

    impl LineSink for Count {
        fn line(&mut self, _t_s: f64, _stream: Stream, _text: &str) {
            if let Ok(mut n) = self.0.lock() {
                *n += 1;
            }
        }
    }

    #[test]
    fn lines_are_logged_and_a_pipe_held_open_does_not_hang_the_run() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let (reader, mut writer) = std::io::pipe().unwrap();
        let log = File::create(dir.path().join("out")).unwrap();
        let count = Arc::new(Mutex::new(0));
        let readers = Readers::start(
            vec![(reader, log, Stream::Stdout)],
            None,
            Box::new(Count(count.clone())),
            Instant::now(),
        )
        .unwrap();
        // A stray writer that never stops.
        let stray = std::thread::spawn(move || while writer.write_all(b"line\n").is_ok() {});
        std::thread::sleep(Duration::from_millis(100));
        let t = Instant::now();
        let (_, lines, errors) = readers.finish(Duration::from_millis(200));
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
        assert!(errors.is_empty(), "{errors:?}");
        assert!(lines > 0 && lines == *count.lock().unwrap());
        let logged = std::fs::read_to_string(dir.path().join("out")).unwrap();
        assert!(logged.lines().count() as u64 >= lines);
        stray.join().unwrap();
    }

    #[test]
    fn overlong_lines_are_cut() {
        let mut s = LineSplitter::default();
        let mut got: Vec<usize> = Vec::new();
        s.feed(&vec![b'x'; MAX_LINE * 2 + 5], &mut |l| got.push(l.len()));
        s.finish(&mut |l| got.push(l.len()));
        assert_eq!(got, vec![MAX_LINE, MAX_LINE, 5]);
    }
}
