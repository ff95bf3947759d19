//! The `cpus` setting: every step of a cell runs on the first N CPUs zkprof may use (the
//! kernel's `Cpus_allowed_list` of the step, and of its children, says so), with the
//! thread-count variables set to N; the CPUs are recorded; a count the host does not have
//! makes the cell unsupported here, and a bad count is a suite error at its line.

use crate::support::{run, text, write};

/// The CPUs this test process may use, from the kernel.
fn allowed() -> Vec<usize> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .to_string();
    let mut out = Vec::new();
    for part in list.split(',') {
        match part.split_once('-') {
            Some((a, b)) => out.extend(a.parse::<usize>().unwrap()..=b.parse().unwrap()),
            None => out.push(part.parse().unwrap()),
        }
    }
    out
}

fn list(cpus: &[usize]) -> String {
    match cpus {
        [one] => one.to_string(),
        [first, .., last] if last - first + 1 == cpus.len() => format!("{first}-{last}"),
        _ => cpus
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(","),
    }
}

#[test]
fn steps_run_on_the_cpus_given() {
    let dir = tempfile::tempdir().unwrap();
    let s = write(
        dir.path(),
        "suite.toml",
        r#"
[suite]
name = "cpus"

[[model]]
name = "m"

[[framework]]
name = "probe"
kind = "command"
cpus = [1, 2, "all"]
steps = { prove = ["sh", "-c", "grep Cpus_allowed_list /proc/self/status; sh -c 'grep Cpus_allowed_list /proc/self/status'; echo threads=$RAYON_NUM_THREADS,$OMP_NUM_THREADS,$GOMAXPROCS"] }
"#,
    );
    let out_dir = dir.path().join("out");
    let o = run(&["run", &s, "--out", out_dir.to_str().unwrap()]);
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("results.json")).unwrap()).unwrap();
    let cells = r["cells"].as_array().unwrap();
    let ids: Vec<&str> = cells.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "m/probe/cpus=1/native",
            "m/probe/cpus=2/native",
            "m/probe/cpus=all/native"
        ],
        "{}",
        text(&o)
    );
    let have = allowed();
    for (c, want) in cells.iter().zip([1, 2, have.len()]) {
        if want > have.len() {
            assert_eq!(c["status"], "unsupported", "{c}");
            let why = c["reason"].as_str().unwrap();
            assert!(
                why.contains(&format!("give at most {}", have.len())),
                "{why}"
            );
            continue;
        }
        assert_eq!(c["status"], "ok", "{c}");
        let expect = list(&have[..want]);
        assert_eq!(c["info"]["cpus"], expect.as_str(), "{c}");
        assert_eq!(c["metrics"]["cpus"], want as f64);
        let method = c["info"]["cpus_method"].as_str().unwrap();
        assert!(method.contains("affinity"), "{method}");
        let step = &c["repetitions"][0]["steps"][0];
        assert_eq!(step["cpus_allowed"], expect.as_str(), "{step}");
        let lines: Vec<&str> = step["stdout_tail"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        let line = format!("Cpus_allowed_list:\t{expect}");
        assert_eq!(
            lines[..2],
            [line.as_str(), line.as_str()],
            "the step and its child"
        );
        assert_eq!(lines[2], format!("threads={want},{want},{want}"));
    }
}

#[test]
fn bad_cpu_counts_are_suite_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (cpus, expect) in [
        ("[0]", "whole number from 1 to 4096"),
        ("[\"half\"]", "whole number from 1 to 4096"),
        ("[2, 2]", "listed twice"),
        ("[]", "empty list"),
    ] {
        let s = write(
            dir.path(),
            "suite.toml",
            &format!(
                "[suite]\nname = \"c\"\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"p\"\nkind = \"command\"\ncpus = {cpus}\nsteps = {{ prove = [\"true\"] }}\n"
            ),
        );
        let o = run(&["run", &s, "--out", dir.path().join("o").to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{cpus}: {}", text(&o));
        let t = text(&o);
        assert!(
            t.contains("suite.toml:8:") && t.contains(expect),
            "{cpus}: {t}"
        );
    }
}
