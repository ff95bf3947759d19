use super::*;
use std::process::{Command, Stdio};

fn proc_root() -> PathBuf {
    PathBuf::from("/proc")
}

fn alive(pid: i32) -> bool {
    crate::output::pid_alive(pid)
}

#[test]
fn markers_parse_and_name_their_owner() {
    let m = new_step_marker(&proc_root());
    let (pid, start) = marker_owner(&m).unwrap();
    assert_eq!(pid, std::process::id() as i32);
    assert_eq!(Some(start), starttime(&proc_root(), pid));
    assert_eq!(marker_owner("12.34"), None);
    assert_eq!(marker_owner("a.b.c"), None);
    assert_eq!(marker_owner("1.2.3.4"), None);
    assert_eq!(
        marker_in_environ(b"A=1\0ZKPROF_STEP_ID=5.6.7\0B=2\0").as_deref(),
        Some("5.6.7")
    );
    assert_eq!(marker_in_environ(b"XZKPROF_STEP_ID=5.6.7\0"), None);
    assert_eq!(step_cgroup_owner("zkprof-123-4"), Some(123));
    assert_eq!(step_cgroup_owner("zkprof-123.456-4"), Some(123));
    assert_eq!(step_cgroup_tag("zkprof-123.456-4"), Some((123, Some(456))));
    assert_eq!(step_cgroup_owner("zkprof-123.x-4"), None);
    let tag = self_tag();
    assert!(
        tag.starts_with(&format!("{}.", std::process::id())),
        "{tag}"
    );
    assert_eq!(step_cgroup_owner("zkprof-123-"), None);
    assert_eq!(step_cgroup_owner("docker-123-4"), None);
}

#[test]
fn an_escaped_daemon_is_found_by_its_marker_and_killed() {
    // As zkprof does (`Runner::new`): orphans come back to this process.
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let marker = new_step_marker(&proc_root());
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    // setsid + double fork: the sleeper leaves the process group and the session.
    let script = format!(
        "setsid sh -c 'sleep 300 & echo $! > {}' ; exit 0",
        pidfile.display()
    );
    let status = Command::new("sh")
        .args(["-c", &script])
        .env(STEP_ENV, &marker)
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    let pid = loop {
        if let Some(p) = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
        {
            break p;
        }
        assert!(Instant::now() < deadline, "the daemon never wrote its pid");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(alive(pid));
    assert_eq!(kill_step_processes(&proc_root(), &marker), vec![pid]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!alive(pid), "the daemon {pid} outlived its step");
}

#[test]
fn steps_of_a_dead_zkprof_are_killed_at_the_next_start_and_live_ones_kept() {
    // A marker naming a pid that cannot exist: its zkprof is gone.
    let mut orphan = Command::new("sleep")
        .arg("300")
        .env(STEP_ENV, "99999999.1.0")
        .spawn()
        .unwrap();
    // A marker of this (live) process.
    let mut live = Command::new("sleep")
        .arg("300")
        .env(STEP_ENV, new_step_marker(&proc_root()))
        .spawn()
        .unwrap();
    // The environment shows in /proc a moment after spawn returns (the kernel sets it up
    // after waking the parent of a vfork).
    let deadline = Instant::now() + Duration::from_secs(5);
    for child in [&orphan, &live] {
        let environ = proc_root().join(child.id().to_string()).join("environ");
        while std::fs::read(&environ).map_or(true, |e| marker_in_environ(&e).is_none()) {
            assert!(
                Instant::now() < deadline,
                "no marker in {}",
                environ.display()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let roots = Roots {
        proc: proc_root(),
        cgroup: PathBuf::from("/nonexistent-cgroup-root"),
        ..Roots::from_env()
    };
    let cleaned = clean_stale(&roots);
    assert!(cleaned.processes >= 1, "{cleaned:?}");
    let st = orphan.wait().unwrap();
    assert!(st.code().is_none(), "killed by a signal: {st:?}");
    assert!(alive(live.id() as i32), "a live zkprof's step was killed");
    live.kill().unwrap();
    live.wait().unwrap();
}

#[test]
fn the_leader_dies_with_the_thread_that_spawned_it() {
    use std::os::unix::process::CommandExt;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut cmd = Command::new("sleep");
        cmd.arg("300");
        // SAFETY: die_with_parent only makes async-signal-safe calls.
        unsafe {
            cmd.pre_exec(die_with_parent(std::process::id() as i32));
        }
        let child = cmd.spawn().unwrap();
        tx.send(child.id() as i32).unwrap();
        // The spawning thread ends here without waiting: the kernel sends SIGKILL.
        std::mem::forget(child);
    })
    .join()
    .unwrap();
    let pid = rx.recv().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut status = 0;
        // SAFETY: a valid pointer to a local.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            assert!(libc::WIFSIGNALED(status));
            assert_eq!(libc::WTERMSIG(status), libc::SIGKILL);
            break;
        }
        assert!(Instant::now() < deadline, "the leader outlived its parent");
        std::thread::sleep(Duration::from_millis(10));
    }
}
