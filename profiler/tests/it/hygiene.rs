//! Nothing outlives its step or its zkprof: escaped daemons (with and without a cgroup),
//! a SIGKILLed zkprof's tree, cgroups and temporary files; one run per `--out`; another
//! suite's results are kept.

use crate::support::{alive, run, text, write, zkprof};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use zkprof::measure::hygiene;
use zkprof::roots::Roots;

fn wait_for_pid(file: &Path, limit: Duration) -> i32 {
    let start = Instant::now();
    loop {
        if let Some(p) = std::fs::read_to_string(file)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
        {
            return p;
        }
        assert!(
            start.elapsed() < limit,
            "{} was never written",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_dead(pid: i32, limit: Duration) -> bool {
    let start = Instant::now();
    while alive(pid) {
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

fn spawn(args: &[&str]) -> Child {
    zkprof()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as i32, sig) };
}

/// The step cgroups (`zkprof-<pid>.<start>-<n>`) of the dead zkprof `pid` that exist now
/// (none when `pid` was reused by a live process: pids wrap quickly on a busy machine, and
/// such cgroups are not this test's).
fn cgroups_of(pid: i32) -> Vec<PathBuf> {
    if alive(pid) {
        return Vec::new();
    }
    hygiene::cgroup_parents(&Roots::from_env())
        .iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
        .filter(|e| e.file_name().to_str().and_then(hygiene::step_cgroup_owner) == Some(pid))
        .map(|e| e.path())
        .collect()
}

/// Live processes whose step marker names one of `owners`.
fn steps_of(owners: &[i32]) -> Vec<(i32, String)> {
    hygiene::marked_processes(Path::new("/proc"))
        .into_iter()
        .filter(|(_, m)| hygiene::marker_owner(m).is_some_and(|(o, _)| owners.contains(&o)))
        .filter(|(p, _)| alive(*p))
        .collect()
}

/// A daemon that leaves the session (setsid + double fork) and writes its pid.
fn daemon_script(pidfile: &Path, then: &str) -> String {
    format!(
        "setsid sh -c 'sleep 1000 & echo $! > {}' ; {then}",
        pidfile.display()
    )
}

/// Defect 5: without a cgroup, a setsid + double-fork daemon outlived the step after a
/// normal exit, Ctrl-C and a timeout, and the result said nothing.
#[test]
fn escaped_daemons_are_killed_and_recorded_without_a_cgroup() {
    let dir = tempfile::tempdir().unwrap();
    for (case, then, extra) in [
        ("exit", "exit 0", vec![]),
        ("timeout", "sleep 30", vec!["--timeout", "1"]),
        ("ctrl-c", "sleep 30", vec![]),
    ] {
        let pidfile = dir.path().join(format!("{case}.pid"));
        let script = daemon_script(&pidfile, then);
        let mut args = vec!["exec", "-n", "1", "--json", "--memory-method", "proc"];
        args.extend(extra);
        args.extend(["--", "sh", "-c", &script]);
        let child = spawn(&args);
        let daemon = wait_for_pid(&pidfile, Duration::from_secs(20));
        if case == "ctrl-c" {
            std::thread::sleep(Duration::from_millis(300));
            signal(&child, libc::SIGINT);
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            wait_dead(daemon, Duration::from_secs(5)),
            "{case}: the daemon {daemon} outlived the step\n{}",
            text(&out)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{case}: {e}\n{}", text(&out)));
        assert!(
            v["runs"][0]["leftover_killed"].as_u64().unwrap_or(0) >= 1,
            "{case}: {}",
            v["runs"][0]
        );
        let warned = v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap_or("").contains("outlived"));
        assert!(warned, "{case}: no warning: {}", v["warnings"]);
    }
    // With a cgroup the daemon is killed with it, and counted too.
    if crate::support::cgroup_available() {
        let pidfile = dir.path().join("cg.pid");
        let script = daemon_script(&pidfile, "exit 0");
        let out = run(&[
            "exec",
            "-n",
            "1",
            "--json",
            "--memory-method",
            "cgroup",
            "--",
            "sh",
            "-c",
            &script,
        ]);
        let daemon = wait_for_pid(&pidfile, Duration::from_secs(5));
        assert!(wait_dead(daemon, Duration::from_secs(5)), "{}", text(&out));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            v["runs"][0]["leftover_killed"].as_u64() >= Some(1),
            "{}",
            v["runs"][0]
        );
    }
    // In a suite, the cell says so.
    let pidfile = dir.path().join("cell.pid");
    let s = write(
        dir.path(),
        "d.toml",
        &format!(
            "[suite]\nname = \"d\"\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"f\"\nkind = \"command\"\nsteps = {{ prove = [\"sh\", \"-c\", \"{}\"] }}\n",
            daemon_script(&pidfile, "exit 0").replace('"', "\\\"")
        ),
    );
    let out_dir = dir.path().join("out");
    let o = run(&[
        "run",
        &s,
        "--memory-method",
        "proc",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let daemon = wait_for_pid(&pidfile, Duration::from_secs(5));
    assert!(wait_dead(daemon, Duration::from_secs(5)));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("results.json")).unwrap()).unwrap();
    let warnings = r["cells"][0]["warnings"].to_string();
    assert!(warnings.contains("outlived the step"), "{warnings}");
}

/// Defect 6: a SIGKILLed zkprof left its step's tree alive, its cgroups and `.tmp` files.
#[test]
fn a_sigkilled_zkprof_leaves_nothing_once_the_next_one_starts() {
    let dir = tempfile::tempdir().unwrap();
    let leader = dir.path().join("leader.pid");
    let child = dir.path().join("child.pid");
    let s = write(
        dir.path(),
        "k.toml",
        &format!(
            "[suite]\nname = \"k\"\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"f\"\nkind = \"command\"\nsteps = {{ prove = [\"sh\", \"-c\", \"echo $$ > {}; sleep 1000 & echo $! > {}; wait\"] }}\n",
            leader.display(),
            child.display()
        ),
    );
    let out = dir.path().join("out");
    let mut first = spawn(&["run", &s, "--out", out.to_str().unwrap()]);
    let first_pid = first.id() as i32;
    let leader_pid = wait_for_pid(&leader, Duration::from_secs(20));
    let child_pid = wait_for_pid(&child, Duration::from_secs(20));
    signal(&first, libc::SIGKILL);
    first.wait().unwrap();
    // The leader dies with zkprof (PR_SET_PDEATHSIG), at once.
    assert!(
        wait_dead(leader_pid, Duration::from_secs(5)),
        "the step leader outlived zkprof"
    );
    // A leftover temporary file of the killed run, and someone else's file.
    let stale_tmp = out.join(format!(".zkprof-tmp-{first_pid}-AbCdEf"));
    std::fs::write(&stale_tmp, "half").unwrap();
    let foreign = out.join(".tmpKEEPME");
    std::fs::write(&foreign, "not zkprof's").unwrap();
    // The next zkprof (a resume of a suite that no longer sleeps) cleans up and finishes.
    let s2 = write(
        dir.path(),
        "k.toml",
        "[suite]\nname = \"k\"\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"f\"\nkind = \"command\"\nsteps = { prove = [\"true\"] }\n",
    );
    let o = run(&["run", &s2, "--resume", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        wait_dead(child_pid, Duration::from_secs(5)),
        "the step's child {child_pid} survived the next start"
    );
    assert!(steps_of(&[first_pid]).is_empty());
    assert_eq!(cgroups_of(first_pid), Vec::<PathBuf>::new());
    assert!(!stale_tmp.exists(), "the killed run's temp file is left");
    assert!(foreign.exists(), "a file that is not zkprof's was removed");
}

/// Defect 7: two runs into one `--out` both exited 0 and one's cells vanished.
#[test]
fn a_second_run_into_the_same_out_exits_2_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    let s = write(
        dir.path(),
        "a.toml",
        &format!(
            "[suite]\nname = \"a\"\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"f\"\nkind = \"command\"\nsteps = {{ prove = [\"sh\", \"-c\", \"touch {}; sleep 3\"] }}\n",
            started.display()
        ),
    );
    let b = write(
        dir.path(),
        "b.toml",
        "[suite]\nname = \"b\"\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"f\"\nkind = \"command\"\nsteps = { prove = [\"true\"] }\n",
    );
    let out = dir.path().join("out");
    let first = spawn(&["run", &s, "--out", out.to_str().unwrap()]);
    let start = Instant::now();
    while !started.exists() {
        assert!(start.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(10));
    }
    let o = run(&["run", &b, "--force", "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("pid {}", first.id())), "{err}");
    let done = first.wait_with_output().unwrap();
    assert!(done.status.success(), "{}", text(&done));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(r["suite"]["name"], "a");
    assert_eq!(r["cells"].as_array().unwrap().len(), 1);
}

/// Defect 13: `run` into an `--out` holding another suite's results replaced them.
#[test]
fn another_suites_results_are_kept_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let suite = |name: &str| {
        write(
            dir.path(),
            &format!("{name}.toml"),
            &format!("[suite]\nname = \"{name}\"\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"f\"\nkind = \"command\"\nsteps = {{ prove = [\"true\"] }}\n"),
        )
    };
    let (a, b) = (suite("a"), suite("b"));
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    assert!(run(&["run", &a, "--out", o]).status.success());
    let before = std::fs::read(out.join("results.json")).unwrap();
    let refused = run(&["run", &b, "--out", o]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("suite `a`") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read(out.join("results.json")).unwrap(), before);
    // The same suite again is a fresh run, as before; --force replaces another suite's.
    assert!(run(&["run", &a, "--out", o]).status.success());
    let forced = run(&["run", &b, "--force", "--out", o]);
    assert!(forced.status.success(), "{}", text(&forced));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(r["suite"]["name"], "b");
}

/// Processes with an open descriptor on `file`, with their command lines (diagnostics).
fn fd_holders(file: &Path) -> Vec<String> {
    let want = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(fds) = std::fs::read_dir(e.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if std::fs::read_link(fd.path()).is_ok_and(|l| l == want) {
                let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
                v.push(format!(
                    "{}: {}",
                    e.file_name().to_string_lossy(),
                    String::from_utf8_lossy(&cmd).replace('\0', " ")
                ));
            }
        }
    }
    v
}

/// A small deterministic generator (xorshift), seeded and printed so a failure replays.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The kill test: `ZKPROF_KILL_TEST_N` (default 10; 100 by hand) random SIGKILLs of
/// `zkprof run` on a fast command suite, each followed by `--resume`. After every kill
/// results.json parses; at the end no step process, no step cgroup and no temporary file of
/// any killed zkprof remains, and `--resume` completes the suite.
#[test]
fn kill_test_random_sigkills_lose_nothing_and_leave_nothing() {
    let n: u32 = std::env::var("ZKPROF_KILL_TEST_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let seed = std::env::var("ZKPROF_KILL_TEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64 | 1)
                .unwrap_or(0x9e37_79b9_7f4a_7c15)
        });
    // `ZKPROF_KILL_TEST_MEMORY=proc`: steps without a cgroup (cleanup by marker alone).
    let memory = std::env::var("ZKPROF_KILL_TEST_MEMORY").unwrap_or_else(|_| "auto".into());
    eprintln!(
        "kill test: {n} kills, memory method {memory}, seed {seed} (ZKPROF_KILL_TEST_SEED={seed} replays)"
    );
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    // 40 cells; each step leaves a background child and takes ~50-150 ms.
    let s = write(
        dir.path(),
        "fast.toml",
        "[suite]\nname = \"fast\"\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"f\"\nkind = \"command\"\nsettings = [{ i = 0 }, { i = 1 }, { i = 2 }, { i = 3 }, { i = 4 }, { i = 5 }, { i = 6 }, { i = 7 }, { i = 8 }, { i = 9 }]\nsteps = { setup = [\"sh\", \"-c\", \"sleep 0.05\"], prove = [\"sh\", \"-c\", \"sleep 30 & sleep 0.0{setting.i}; kill $!\"] }\n[[model]]\nname = \"m2\"\n[[model]]\nname = \"m3\"\n[[model]]\nname = \"m4\"\n",
    );
    let out = dir.path().join("out");
    let o = out.to_str().unwrap();
    let mut killed: Vec<i32> = Vec::new();
    let mut parsed = 0;
    // What each kill left behind before the next zkprof started (so the test shows there
    // was something to clean up): step processes, step cgroups, temporary files.
    let (mut left_procs, mut left_cgroups, mut left_temps) = (0, 0, 0);
    let started = Instant::now();
    for i in 0..n {
        let mut args = vec!["run", s.as_str(), "--out", o, "--memory-method", &memory];
        if i > 0 {
            args.push("--resume");
        }
        let mut child = zkprof()
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(30 + rng.below(400)));
        signal(&child, libc::SIGKILL);
        child.wait().unwrap();
        let pid = child.id() as i32;
        killed.push(pid);
        left_procs += steps_of(&[pid]).len();
        left_cgroups += cgroups_of(pid).len();
        left_temps += std::fs::read_dir(&out)
            .map(|rd| {
                rd.flatten()
                    .filter(|e| e.file_name().to_string_lossy().starts_with(".zkprof-tmp-"))
                    .count()
            })
            .unwrap_or(0);
        if let Ok(bytes) = std::fs::read(out.join("results.json")) {
            let v: serde_json::Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("kill {i}: results.json does not parse: {e}"));
            assert_eq!(v["schema"], "zkprof/results/v2");
            parsed += 1;
        }
    }
    let kills_s = started.elapsed().as_secs_f64();
    let finished_before = std::fs::read(out.join("results.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["cells"].as_array().map(|c| c.len()))
        .unwrap_or(0);
    let resumed = run(&[
        "run",
        &s,
        "--resume",
        "--out",
        o,
        "--memory-method",
        &memory,
    ]);
    assert!(
        resumed.status.success(),
        "{}\nholders of the lock: {:?}",
        text(&resumed),
        fd_holders(&out.join(".zkprof.lock"))
    );
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let cells = r["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 40);
    assert!(cells.iter().all(|c| c["status"] == "ok"), "{r}");
    let mut left = steps_of(&killed);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        left = steps_of(&killed);
    }
    assert!(
        left.is_empty(),
        "step processes of killed runs remain: {left:?}"
    );
    for pid in &killed {
        assert_eq!(cgroups_of(*pid), Vec::<PathBuf>::new(), "cgroups of {pid}");
    }
    let temps: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".zkprof-tmp-") || n.starts_with(".tmp"))
        .collect();
    assert!(temps.is_empty(), "temporary files remain: {temps:?}");
    eprintln!(
        "kill test: {n} kills in {kills_s:.1} s; results.json present and parsed after {parsed} of them; \
         left behind by the kills (cleaned by the next start): {left_procs} step process(es), \
         {left_cgroups} cgroup(s), {left_temps} temporary file(s); {finished_before} of 40 cells \
         were recorded before the final --resume, which completed the suite"
    );
}
