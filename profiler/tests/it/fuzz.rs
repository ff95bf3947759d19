//! Property tests over suite parsing and results loading: mutated suites and results files
//! (from the repository's real suites and report fixtures) never panic or hang, in the
//! library and through the binary, whose exit code is always 0, 1, 2 or 3.
//!
//! The budget is fixed (`ZKPROF_FUZZ_ITERS`, default 300 library cases and a tenth of that
//! through the binary, per target); `ZKPROF_FUZZ_SEED` replays a run. By hand:
//! `ZKPROF_FUZZ_ITERS=20000 cargo test --release --test it fuzz:: -- --nocapture`.

use crate::hygiene::Rng;
use crate::support::{repo, text, zkprof};
use std::path::Path;
use std::time::{Duration, Instant};
use zkprof::report::{self, Format, Loaded};

fn iters() -> u64 {
    std::env::var("ZKPROF_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

fn seed(target: &str) -> u64 {
    let s = std::env::var("ZKPROF_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64 | 1)
                .unwrap_or(7)
        });
    eprintln!("fuzz {target}: seed {s} (ZKPROF_FUZZ_SEED={s} replays)");
    s
}

/// Tokens that matter to TOML, JSON, the suite schema and the terminal.
const TOKENS: &[&str] = &[
    "\"",
    "'",
    "[",
    "]",
    "{",
    "}",
    "=",
    ",",
    "\n",
    "[[model]]\n",
    "[[framework]]\n",
    "[suite]\n",
    "name = \"x\"\n",
    "1e20",
    "1e308",
    "-1",
    "0",
    "4294967296",
    "18446744073709551616",
    "nan",
    "inf",
    "\"0\"",
    "\"8G\"",
    "\"\\u001b[2J\"",
    "\"\\u0000\"",
    "{setting.k}",
    "{model_path}",
    "timeout_s = ",
    "memory_limit = ",
    "repetitions = ",
    "warmup = ",
    "settings = [{ a = 1 }, { a = \"1\" }]",
    "\u{1b}",
    "\0",
    "../../",
    "/dev/zero",
    "null",
    "true",
    "[]",
    "{}",
    "-0.0",
    "1.7976931348623157e308",
];

/// One random mutation of `bytes`.
fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    let len = bytes.len() as u64;
    match rng.below(7) {
        0 if len > 0 => {
            let i = rng.below(len) as usize;
            bytes[i] ^= 1 << rng.below(8);
        }
        1 => {
            let t = TOKENS[rng.below(TOKENS.len() as u64) as usize].as_bytes();
            let i = rng.below(len + 1) as usize;
            bytes.splice(i..i, t.iter().copied());
        }
        2 if len > 0 => {
            let a = rng.below(len) as usize;
            let b = (a + rng.below(64) as usize).min(bytes.len());
            bytes.drain(a..b);
        }
        3 if len > 0 => {
            let a = rng.below(len) as usize;
            let b = (a + rng.below(200) as usize).min(bytes.len());
            let copy = bytes[a..b].to_vec();
            let i = rng.below(len + 1) as usize;
            bytes.splice(i..i, copy);
        }
        4 => {
            let other = &seeds[rng.below(seeds.len() as u64) as usize];
            if !other.is_empty() {
                let a = rng.below(other.len() as u64) as usize;
                let b = (a + rng.below(400) as usize).min(other.len());
                let i = rng.below(len + 1) as usize;
                bytes.splice(i..i, other[a..b].iter().copied());
            }
        }
        5 => {
            // A long run of one character (overlong names, deep nesting).
            let c = [b'x', b'[', b'{', b'"'][rng.below(4) as usize];
            let n = 1 + rng.below(20_000) as usize;
            let i = rng.below(len + 1) as usize;
            bytes.splice(i..i, std::iter::repeat_n(c, n));
        }
        _ if len > 0 => {
            let i = rng.below(len) as usize;
            bytes.truncate(i);
        }
        _ => bytes.extend_from_slice(b"\n"),
    }
}

fn mutated(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut b = seeds[rng.below(seeds.len() as u64) as usize].clone();
    for _ in 0..1 + rng.below(6) {
        mutate(rng, &mut b, seeds);
    }
    b
}

fn suite_seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(repo().join("suites"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "toml"))
        .map(|e| std::fs::read(e.path()).unwrap())
        .collect();
    seeds.push(
        b"[suite]\nname = \"f\"\nrepetitions = 2\ntimeout_s = 5\nmemory_limit = \"1G\"\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"c\"\nkind = \"command\"\nsettings = [{ k = 1 }, { k = 2 }]\nsteps = { prove = [\"echo\", \"{setting.k}\", \"{model}\"] }\n".to_vec(),
    );
    seeds
}

fn results_seeds() -> Vec<Vec<u8>> {
    ["a.json", "b.json"]
        .iter()
        .map(|f| std::fs::read(repo().join("profiler/tests/fixtures/reports").join(f)).unwrap())
        .collect()
}

/// Exit codes the binary may give for any input.
fn assert_known_exit(out: &std::process::Output, input: &Path) {
    let code = out.status.code();
    assert!(
        matches!(code, Some(0..=3)),
        "exit {code:?} for {} ({}):\n{}",
        input.display(),
        String::from_utf8_lossy(&std::fs::read(input).unwrap_or_default())
            .chars()
            .take(2000)
            .collect::<String>(),
        text(out)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

#[test]
fn fuzz_suite_parsing() {
    let mut rng = Rng(seed("suites"));
    let seeds = suite_seeds();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.toml");
    let n = iters();
    let (mut ok, mut rejected, mut bin_runs) = (0u64, 0u64, 0u64);
    let start = Instant::now();
    for i in 0..n {
        let bytes = if rng.below(2) == 0 {
            mutated(&mut rng, &seeds)
        } else {
            toml_mutated(&mut rng, &seeds)
        };
        std::fs::write(&path, &bytes).unwrap();
        match zkprof::suite::Suite::load(&path) {
            Ok(s) => {
                let _ = s.plan(&Default::default());
                ok += 1;
            }
            Err(e) => {
                let msg = e.to_string();
                assert!(
                    msg.contains("fuzz.toml"),
                    "the error does not name the file: {msg}"
                );
                rejected += 1;
            }
        }
        if i % 10 == 0 {
            let out = zkprof().arg("list").arg(&path).output().unwrap();
            assert_known_exit(&out, &path);
            bin_runs += 1;
        }
    }
    eprintln!(
        "fuzz suites: {n} cases in {:.1} s: {ok} parsed, {rejected} rejected with an error naming the file, {bin_runs} through `zkprof list`; no panic",
        start.elapsed().as_secs_f64()
    );
}

#[test]
fn fuzz_results_loading_and_reports() {
    let mut rng = Rng(seed("results"));
    let seeds = results_seeds();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.json");
    let n = iters();
    let (mut loaded, mut rejected, mut bin_runs) = (0u64, 0u64, 0u64);
    let start = Instant::now();
    let formats = [
        Format::Html,
        Format::Csv,
        Format::Markdown,
        Format::Bencher,
        Format::GithubActionBenchmark,
    ];
    for i in 0..n {
        let bytes = if rng.below(2) == 0 {
            mutated(&mut rng, &seeds)
        } else {
            json_mutated(&mut rng, &seeds)
        };
        std::fs::write(&path, &bytes).unwrap();
        match zkprof::store::load_results(&path) {
            Ok(r) => {
                loaded += 1;
                let files = vec![Loaded {
                    label: "fuzz".into(),
                    results: r,
                }];
                for f in formats {
                    let t = Instant::now();
                    let _ = report::exporter(f).render(&files);
                    assert!(
                        t.elapsed() < Duration::from_secs(20),
                        "{f:?} took {:?}",
                        t.elapsed()
                    );
                }
            }
            Err(e) => {
                assert!(e.to_string().contains("fuzz.json"), "{e}");
                if std::env::var("FUZZ_DEBUG").is_ok() {
                    eprintln!("{}", e.to_string().chars().take(200).collect::<String>());
                }
                rejected += 1;
            }
        }
        if i % 10 == 0 {
            let f = ["csv", "markdown", "html"][rng.below(3) as usize];
            let html = dir.path().join("r.html");
            let out = zkprof()
                .args(["report", "--format", f, "-o"])
                .arg(&html)
                .arg(&path)
                .output()
                .unwrap();
            assert_known_exit(&out, &path);
            bin_runs += 1;
        }
    }
    eprintln!(
        "fuzz results: {n} cases in {:.1} s: {loaded} loaded and rendered in 5 formats, {rejected} rejected naming the file, {bin_runs} through `zkprof report`; no panic, no hang",
        start.elapsed().as_secs_f64()
    );
}

/// A structural mutation of a seed suite: values replaced with extreme or hostile ones of
/// the same type (mostly), so the schema holds and the range and name checks are reached.
fn toml_mutated(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    use toml::Value;
    let seed = &seeds[rng.below(seeds.len() as u64) as usize];
    let Ok(mut v) = toml::from_str::<toml::Table>(&String::from_utf8_lossy(seed)) else {
        return seed.clone();
    };
    let ints = [0i64, -1, 1, i64::MAX, i64::MIN, 4_294_967_296, 10_001];
    let floats = [
        0.0,
        -1.0,
        1e20,
        f64::MAX,
        f64::MIN_POSITIVE,
        2_592_001.0,
        1e-9,
    ];
    let strings = [
        "",
        "0",
        "0G",
        "1e30T",
        "99999999999999999999T",
        "a/b",
        "a_b",
        "../../x",
        "\u{1b}[2J",
        "a\nb",
        "\0",
        "{setting.nope}",
        "{model_path}",
        "=cmd|' /C calc'!A0",
    ];
    for _ in 0..1 + rng.below(3) {
        // Walk to a random leaf (or container) of the table.
        let mut path: Vec<String> = Vec::new();
        let mut node = Value::Table(v.clone());
        loop {
            let next = match &node {
                Value::Table(t) if !t.is_empty() => t
                    .iter()
                    .nth(rng.below(t.len() as u64) as usize)
                    .map(|(k, x)| (k.clone(), x.clone())),
                Value::Array(a) if !a.is_empty() => {
                    let i = rng.below(a.len() as u64) as usize;
                    Some((i.to_string(), a[i].clone()))
                }
                _ => None,
            };
            match next {
                Some((k, n)) if path.len() < 2 || rng.below(5) != 0 => {
                    path.push(k);
                    node = n;
                }
                _ => break,
            }
        }
        let new = match (&node, rng.below(8)) {
            (_, 0) => Value::String("x".repeat(1 + rng.below(300) as usize)),
            (Value::Integer(_), _) => Value::Integer(ints[rng.below(ints.len() as u64) as usize]),
            (Value::Float(_), _) => Value::Float(floats[rng.below(floats.len() as u64) as usize]),
            (Value::String(_), _) => {
                Value::String(strings[rng.below(strings.len() as u64) as usize].to_string())
            }
            (Value::Array(a), _) if !a.is_empty() => {
                // Duplicate an element (duplicate settings variants, models, frameworks).
                let mut a = a.clone();
                let i = rng.below(a.len() as u64) as usize;
                a.push(a[i].clone());
                Value::Array(a)
            }
            _ => Value::Integer(ints[rng.below(ints.len() as u64) as usize]),
        };
        set_path(&mut v, &path, new);
    }
    toml::to_string(&v)
        .map(String::into_bytes)
        .unwrap_or_else(|_| seed.clone())
}

/// Replaces the value at `path` (table keys and array indices) in `t`.
fn set_path(t: &mut toml::Table, path: &[String], new: toml::Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Some(mut node) = t.get_mut(first) else {
        return;
    };
    for k in rest {
        let next = match node {
            toml::Value::Table(t) => t.get_mut(k),
            toml::Value::Array(a) => k.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        };
        match next {
            Some(n) => node = n,
            None => return,
        }
    }
    *node = new;
}

/// A structural mutation: a number, string or key of a seed results file replaced with an
/// extreme or wrong-typed value.
fn json_mutated(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let seed = &seeds[rng.below(seeds.len() as u64) as usize];
    let mut v: serde_json::Value = serde_json::from_slice(seed).unwrap();
    let numbers = [
        serde_json::json!(f64::MAX),
        serde_json::json!(-f64::MAX),
        serde_json::json!(f64::MIN_POSITIVE),
        serde_json::json!(1e300),
        serde_json::json!(0),
        serde_json::json!(-1),
        serde_json::json!(u64::MAX),
        serde_json::json!(i64::MIN),
    ];
    let strings = [
        serde_json::json!(""),
        serde_json::json!("=cmd|' /C calc'!A0"),
        serde_json::json!("\u{1b}[2J\u{1b}]0;pwned\u{7}<script>alert(1)</script>"),
        serde_json::json!("../../../etc/passwd"),
        serde_json::json!("x".repeat(100_000)),
        serde_json::json!("zkprof/results/v1"),
    ];
    let others = [
        serde_json::json!([]),
        serde_json::json!({}),
        serde_json::Value::Null,
        serde_json::json!(true),
    ];
    for _ in 0..1 + rng.below(4) {
        // Walk down to a random node, remembering its JSON pointer.
        let mut pointer = String::new();
        let mut node = &v;
        for depth in 0..12 {
            let next = match node {
                serde_json::Value::Object(m) if !m.is_empty() => m
                    .iter()
                    .nth(rng.below(m.len() as u64) as usize)
                    .map(|(k, x)| (k.replace('~', "~0").replace('/', "~1"), x)),
                serde_json::Value::Array(a) if !a.is_empty() => {
                    let i = rng.below(a.len() as u64) as usize;
                    Some((i.to_string(), &a[i]))
                }
                _ => None,
            };
            match next {
                Some((step, n)) if depth < 2 || rng.below(6) != 0 => {
                    pointer.push('/');
                    pointer.push_str(&step);
                    node = n;
                }
                _ => break,
            }
        }
        if let Some(target) = v.pointer_mut(&pointer) {
            // Mostly keep the type (the schema then holds and the value reaches the
            // reports); sometimes change it.
            let pool: &[serde_json::Value] = match (&*target, rng.below(10)) {
                (_, 0) => &others,
                (serde_json::Value::Number(_), _) => &numbers,
                (serde_json::Value::String(_), _) => &strings,
                (serde_json::Value::Array(a), _) if !a.is_empty() => {
                    // Repeat an element many times (long series, many cells).
                    let item = a[rng.below(a.len() as u64) as usize].clone();
                    let n = 1 + rng.below(500) as usize;
                    *target = serde_json::Value::Array(vec![item; n]);
                    continue;
                }
                _ => &others,
            };
            *target = pool[rng.below(pool.len() as u64) as usize].clone();
        }
    }
    serde_json::to_vec(&v).unwrap()
}
