//! The zkTorch adapter against a fake installation: a script that replays output captured
//! from a real zkTorch run (tests/fixtures/zktorch) and writes its files with the captured
//! sizes. Checks the config zkprof writes, the ptau conversion and its cache, the timing
//! tree and file sizes as metrics, the whole-process step, zkTorch's out-of-range lookups
//! and panics as reasons, and `doctor`'s line.

use crate::deepprove::{model, walk};
use crate::support::{self, text, zkprof};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{BigInteger, PrimeField};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const MIB: f64 = 1024.0 * 1024.0;

fn fixtures() -> PathBuf {
    support::fixture("zktorch")
}

fn fake_home(dir: &Path) -> PathBuf {
    let home = dir.join("zk-torch");
    let dest = home.join("target/release/zk_torch");
    std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
    std::fs::copy(support::asset("zktorch-fake/zk_torch"), &dest).unwrap();
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir_all(home.join(".git")).unwrap();
    std::fs::write(
        home.join(".git/HEAD"),
        format!("{}\n", zkprof::frameworks::zktorch::COMMIT),
    )
    .unwrap();
    home
}

/// A snarkjs-layout `.ptau` of power 7 (tau = 5): header, tauG1, tauG2.
fn ptau(dir: &Path) -> PathBuf {
    let mont =
        |x: ark_bn254::Fq| -> Vec<u8> { x.0 .0.iter().flat_map(|l| l.to_le_bytes()).collect() };
    let power = 7u32;
    let tau = ark_bn254::Fr::from(5u64);
    let (mut s2, mut s3) = (Vec::new(), Vec::new());
    let mut k = ark_bn254::Fr::from(1u64);
    for i in 0..(1u64 << (power + 1)) - 1 {
        let p = (ark_bn254::G1Affine::generator() * k).into_affine();
        s2.extend(mont(p.x));
        s2.extend(mont(p.y));
        if i < 1 << power {
            let q = (ark_bn254::G2Affine::generator() * k).into_affine();
            for c in [q.x.c0, q.x.c1, q.y.c0, q.y.c1] {
                s3.extend(mont(c));
            }
        }
        k *= tau;
    }
    let mut h = 32u32.to_le_bytes().to_vec();
    h.extend(ark_bn254::Fq::MODULUS.to_bytes_le());
    h.extend(power.to_le_bytes());
    h.extend(power.to_le_bytes());
    // alphaTauG1, betaTauG1, betaG2: any points of the right count.
    let n = 1usize << power;
    let (s4, s5, s6) = (
        s2[..64 * n].to_vec(),
        s2[..64 * n].to_vec(),
        s3[..128].to_vec(),
    );
    let mut f = b"ptau".to_vec();
    f.extend(1u32.to_le_bytes());
    f.extend(6u32.to_le_bytes());
    for (kind, body) in [(1u32, &h), (2, &s2), (3, &s3), (4, &s4), (5, &s5), (6, &s6)] {
        f.extend(kind.to_le_bytes());
        f.extend((body.len() as u64).to_le_bytes());
        f.extend(body);
    }
    let p = dir.join("pot7.ptau");
    std::fs::write(&p, f).unwrap();
    p
}

fn run_suite(dir: &Path, home: &Path, out: &str, envs: &[(&str, &str)]) -> Value {
    let suite = dir.join("suite.toml");
    std::fs::write(
        &suite,
        format!(
            "[suite]\nname = \"zt\"\nrepetitions = 2\ntimeout_s = 120\n\n[[model]]\nname = \"mlp\"\nonnx = \"{}\"\n\n[[framework]]\nname = \"zktorch\"\nhome = \"{}\"\n",
            model(dir).display(),
            home.display()
        ),
    )
    .unwrap();
    let out_dir = dir.join(out);
    let mut cmd = zkprof();
    cmd.arg("run")
        .arg(&suite)
        .arg("--out")
        .arg(&out_dir)
        .arg("--ptau")
        .arg(ptau(dir))
        .env("ZKPROF_CACHE", dir.join("cache"))
        .env("ZKTORCH_FAKE_FIXTURES", fixtures())
        .env("ZKTORCH_FAKE_SCALE", "1.0")
        .env("ZKTORCH_FAKE_PROVE_MIB", "64")
        .env_remove("ZKPROF_ZKTORCH_HOME");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let output = cmd.output().unwrap();
    let bytes = std::fs::read(out_dir.join("results.json"))
        .unwrap_or_else(|_| panic!("no results.json: {}", text(&output)));
    serde_json::from_slice(&bytes).unwrap()
}

/// `<name> <bytes>` lines of the captured run's output files.
fn captured_sizes() -> Vec<(String, f64)> {
    std::fs::read_to_string(fixtures().join("sizes.txt"))
        .unwrap()
        .lines()
        .map(|l| {
            let (n, s) = l.split_once(' ').unwrap();
            (n.to_string(), s.trim().parse().unwrap())
        })
        .collect()
}

#[test]
fn fake_zktorch_proves_and_reports_its_own_timers_and_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let home = fake_home(dir.path());
    let r = run_suite(dir.path(), &home, "out1", &[]);
    let cell = &r["cells"][0];
    assert_eq!(cell["status"], "ok", "{cell:#}");
    assert_eq!(
        cell["info"]["zktorch_commit"],
        zkprof::frameworks::zktorch::COMMIT
    );
    assert!(
        cell["info"]["ptau_cache"]
            .as_str()
            .unwrap()
            .starts_with("miss"),
        "{cell:#}"
    );
    // The config zkprof wrote: the model, a real input, the converted powers of tau.
    let cfg =
        std::fs::read_to_string(walk(&dir.path().join("out1"), "config.yaml").unwrap()).unwrap();
    assert!(
        cfg.contains("pow_len_log: 7\n  loaded_pow_len_log: 7\n"),
        "{cfg}"
    );
    assert!(
        cfg.contains("mlp.onnx\"") && cfg.contains("input.json\""),
        "{cfg}"
    );
    let challenge = cfg
        .lines()
        .find_map(|l| l.trim().strip_prefix("ptau_path: "))
        .unwrap()
        .trim_matches('"')
        .to_string();
    assert_eq!(
        std::fs::metadata(&challenge).unwrap().len(),
        64 + 64 * 255 + 128 * 128 + 2 * 64 * 128 + 128
    );

    let m = &cell["metrics"];
    assert_eq!(m["verified"], 1.0);
    let sizes = captured_sizes();
    let size = |n: &str| sizes.iter().find(|(k, _)| k == n).unwrap().1;
    assert_eq!(m["proof_size_bytes"], size("final_proofs"));
    assert_eq!(m["proofs_size_bytes"], size("proofs"));
    for k in [
        "zktorch_witness_s",
        "zktorch_setup_s",
        "zktorch_prove_s",
        "zktorch_verify_s",
        "zktorch_total_s",
    ] {
        assert!(m[k].as_f64().is_some_and(|v| v > 0.0), "{k}: {m:#}");
    }
    assert!(m["zktorch_prove_s"].as_f64() < m["zktorch_total_s"].as_f64());
    assert!(cell["info"]["phases"].as_str().unwrap().contains("prove="));
    for rep in cell["repetitions"].as_array().unwrap() {
        let prove = &rep["steps"][0];
        assert_eq!(prove["step"], "prove");
        assert!(prove["argv"][1] == "config.yaml", "{prove}");
        // The whole process holds the 64 MiB of the fake.
        assert!(
            prove["peak_tree_bytes"].as_f64().unwrap() > 60.0 * MIB,
            "{prove}"
        );
    }

    // A second run finds the converted powers of tau in the cache.
    let r = run_suite(dir.path(), &home, "out2", &[]);
    let cell = &r["cells"][0];
    assert_eq!(cell["status"], "ok", "{cell:#}");
    assert!(
        cell["info"]["ptau_cache"]
            .as_str()
            .unwrap()
            .starts_with("hit "),
        "{cell:#}"
    );
}

#[test]
fn zktorch_out_of_range_lookup_fails_the_cell_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let home = fake_home(dir.path());
    let r = run_suite(dir.path(), &home, "out", &[("ZKTORCH_FAKE_CQ_ERROR", "1")]);
    let cell = &r["cells"][0];
    assert_eq!(cell["status"], "failed", "{cell:#}");
    let reason = cell["reason"].as_str().unwrap();
    assert!(
        reason.contains("CQOutOfRangeError { input: 5021 }")
            && reason.contains("raise cq_range_log"),
        "{reason}"
    );
}

#[test]
fn doctor_lists_zktorch() {
    let dir = tempfile::tempdir().unwrap();
    let out = zkprof()
        .arg("doctor")
        .env_remove("ZKPROF_ZKTORCH_HOME")
        .output()
        .unwrap();
    let t = text(&out);
    let line = t
        .lines()
        .find(|l| l.trim_start().starts_with("no   zktorch"))
        .unwrap_or_else(|| panic!("no zktorch line in doctor: {t}"));
    assert!(
        line.contains("ZKPROF_ZKTORCH_HOME") && line.contains("--features fold"),
        "{line}"
    );
    let home = fake_home(dir.path());
    let out = zkprof()
        .arg("doctor")
        .env("ZKPROF_ZKTORCH_HOME", &home)
        .output()
        .unwrap();
    let t = text(&out);
    assert!(
        t.lines().any(|l| l.trim_start().starts_with("yes  zktorch")
            && l.contains(zkprof::frameworks::zktorch::COMMIT)),
        "{t}"
    );
}
