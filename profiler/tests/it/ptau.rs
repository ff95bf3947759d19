//! The native powers of tau against snarkjs itself: byte for byte the file `snarkjs
//! powersoftau prepare phase2` makes from the same secrets, accepted by `snarkjs groth16`
//! (setup, prove, verify of a small circuit), and different on every run.
//!
//! Needs node/npm (`.ci/install-frameworks.sh`): the pinned snarkjs and circom2 (the circom
//! adapter's lock file) are installed into a temporary directory. A missing prerequisite
//! makes these tests fail.

use crate::support::{combined, zkprof};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use zkprof::ptau::{generate, Secrets};

/// (node, npm tree): the circom adapter's pinned snarkjs and circom2
/// (`profiler/assets/circom/package-lock.json`), installed by `npm ci` into a directory
/// private to these tests. Not through `circom::ensure_tools`: that installs under
/// `$ZKPROF_CACHE`, and setting the variable here would redirect every other test of the
/// binary.
fn tools() -> &'static (PathBuf, PathBuf) {
    static TOOLS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap()).path();
        let pinned = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/circom");
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(pinned.join(file), dir.join(file)).unwrap();
        }
        let out = Command::new("npm")
            .args([
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ])
            .current_dir(dir)
            .output()
            .expect("npm runs: the pinned snarkjs/circom2 npm tree needs node and npm");
        assert!(
            out.status.success(),
            "npm ci of the pinned snarkjs/circom2 failed:\n{}",
            combined(&out)
        );
        (PathBuf::from("node"), dir.to_path_buf())
    })
}

/// Runs a node script of the npm tree in `cwd`; panics with its output on failure.
fn node(cwd: &Path, script: &str, args: &[&str]) -> String {
    let (node, env) = tools();
    let out = Command::new(node)
        .arg(env.join("node_modules").join(script))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{script} {args:?} failed:\n{text}");
    text
}

fn snarkjs(cwd: &Path, args: &[&str]) -> String {
    node(cwd, "snarkjs/build/cli.cjs", args)
}

fn fixed_secrets() -> Secrets {
    Secrets {
        tau: ark_bn254::Fr::from(0x1234_5678_9abc_def1u64),
        alpha: ark_bn254::Fr::from(0x0fed_cba9_8765_4321u64),
        beta: ark_bn254::Fr::from(0x1111_2222_3333_4444u64),
    }
}

#[test]
fn prepared_file_is_byte_for_byte_what_snarkjs_prepare_phase2_makes() {
    let d = tempfile::tempdir().unwrap();
    let s = fixed_secrets();
    for power in [1, 4, 6] {
        let raw = d.path().join(format!("raw{power}.ptau"));
        let ours = d.path().join(format!("ours{power}.ptau"));
        let theirs = d.path().join(format!("theirs{power}.ptau"));
        generate(&raw, power, &s, false, &|_, _| {}).unwrap();
        generate(&ours, power, &s, true, &|_, _| {}).unwrap();
        snarkjs(
            d.path(),
            &[
                "powersoftau",
                "prepare",
                "phase2",
                raw.to_str().unwrap(),
                theirs.to_str().unwrap(),
            ],
        );
        let (a, b) = (
            std::fs::read(&ours).unwrap(),
            std::fs::read(&theirs).unwrap(),
        );
        assert_eq!(a.len(), b.len(), "power {power}: sizes differ");
        let first = a.iter().zip(&b).position(|(x, y)| x != y);
        assert_eq!(first, None, "power {power}: first differing byte");
    }
}

const CIRCUIT: &str = "pragma circom 2.0.0;\n\
    template Square() { signal input x; signal input y; signal output z; signal t; t <== x * x; z <== t * y + x; }\n\
    component main {public [x]} = Square();\n";

#[test]
fn snarkjs_groth16_sets_up_proves_and_verifies_with_a_native_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let ptau = dir.join("pot6.ptau");
    let out = zkprof()
        .args(["ptau", "--power", "6", "--out"])
        .arg(&ptau)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("insecure"), "{said}");
    std::fs::write(dir.join("sq.circom"), CIRCUIT).unwrap();
    node(
        dir,
        "circom2/cli.js",
        &["sq.circom", "--r1cs", "--wasm", "-o", "."],
    );
    std::fs::write(dir.join("input.json"), r#"{"x": "3", "y": "5"}"#).unwrap();
    let p = |f: &str| dir.join(f).display().to_string();
    let ptau = ptau.display().to_string();
    snarkjs(
        dir,
        &["groth16", "setup", &p("sq.r1cs"), &ptau, &p("sq.zkey")],
    );
    snarkjs(
        dir,
        &[
            "wtns",
            "calculate",
            &p("sq_js/sq.wasm"),
            &p("input.json"),
            &p("w.wtns"),
        ],
    );
    snarkjs(
        dir,
        &[
            "groth16",
            "prove",
            &p("sq.zkey"),
            &p("w.wtns"),
            &p("proof.json"),
            &p("public.json"),
        ],
    );
    snarkjs(
        dir,
        &[
            "zkey",
            "export",
            "verificationkey",
            &p("sq.zkey"),
            &p("vk.json"),
        ],
    );
    let v = snarkjs(
        dir,
        &[
            "groth16",
            "verify",
            &p("vk.json"),
            &p("public.json"),
            &p("proof.json"),
        ],
    );
    assert!(v.contains("OK"), "{v}");
    let public = std::fs::read_to_string(dir.join("public.json")).unwrap();
    assert!(public.contains("48"), "z = 3*3*5 + 3: {public}");
    // A wrong statement does not verify with keys from this file.
    std::fs::write(dir.join("public.json"), public.replace("48", "49")).unwrap();
    let (node, env) = tools();
    let bad = Command::new(node)
        .arg(env.join("node_modules/snarkjs/build/cli.cjs"))
        .args([
            "groth16",
            "verify",
            &p("vk.json"),
            &p("public.json"),
            &p("proof.json"),
        ])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&bad.stdout).contains("OK!"),
        "a false statement verified"
    );
}

#[test]
fn two_generated_files_differ() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a.ptau"), d.path().join("b.ptau"));
    generate(&a, 3, &Secrets::random().unwrap(), true, &|_, _| {}).unwrap();
    generate(&b, 3, &Secrets::random().unwrap(), true, &|_, _| {}).unwrap();
    let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    assert_eq!(a.len(), b.len());
    // The header and the first point (the generator) agree; tau*G1 must not.
    assert_eq!(a[..12 + 12 + 44 + 12 + 64], b[..12 + 12 + 44 + 12 + 64]);
    let at = 12 + 12 + 44 + 12 + 64;
    assert_ne!(
        a[at..at + 64],
        b[at..at + 64],
        "tau*G1 repeated: secrets are not fresh"
    );
}
