//! Choosing the powers-of-tau file a Groth16 setup uses, before any measured step:
//! a supplied file; else a cached one (hash-checked against its sidecar); else the public
//! Hermez file of the power, checked against its published blake2b hash; else one made
//! natively ([`super::generate`]), labelled insecure.
//!
//! Cached files live in one directory as `pot<K>_<kind>.ptau` with a sidecar
//! `pot<K>_<kind>.ptau.zkprof.json` (`{"sha256", "label"}`) written once the file is whole.

use super::{generate, PtauError, Secrets, MAX_POWER};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// blake2b-512 of `powersOfTau28_hez_final_K.ptau`, as published in the snarkjs README.
const HERMEZ_BLAKE2B: [(u32, &str); 9] = [
    (10, "6cfeb8cda92453099d20120bdd0e8a5c4e7706c2da9a8f09ccc157ed2464d921fd0437fb70db42104769efd7d6f3c1f964bcf448c455eab6f6c7d863e88a5849"),
    (11, "47c282116b892e5ac92ca238578006e31a47e7c7e70f0baa8b687f0a5203e28ea07bbbec765a98dcd654bad618475d4661bfaec3bd9ad2ed12e7abc251d94d33"),
    (12, "ded2694169b7b08e898f736d5de95af87c3f1a64594013351b1a796dbee393bd825f88f9468c84505ddd11eb0b1465ac9b43b9064aa8ec97f2b73e04758b8a4a"),
    (13, "58efc8bf2834d04768a3d7ffcd8e1e23d461561729beaac4e3e7a47829a1c9066d5320241e124a1a8e8aa6c75be0ba66f65bc8239a0542ed38e11276f6fdb4d9"),
    (14, "eeefbcf7c3803b523c94112023c7ff89558f9b8e0cf5d6cdcba3ade60f168af4a181c9c21774b94fbae6c90411995f7d854d02ebd93fb66043dbb06f17a831c1"),
    (15, "982372c867d229c236091f767e703253249a9b432c1710b4f326306bfa2428a17b06240359606cfe4d580b10a5a1f63fbed499527069c18ae17060472969ae6e"),
    (16, "6a6277a2f74e1073601b4f9fed6e1e55226917efb0f0db8a07d98ab01df1ccf43eb0e8c3159432acd4960e2f29fe84a4198501fa54c8dad9e43297453efec125"),
    (17, "6247a3433948b35fbfae414fa5a9355bfb45f56efa7ab4929e669264a0258976741dfbe3288bfb49828e5df02c2e633df38d2245e30162ae7e3bcca5b8b49345"),
    (18, "7e6a9c2e5f05179ddfc923f38f917c9e6831d16922a902b0b4758b8e79c2ab8a81bb5f29952e16ee6c5067ed044d7857b5de120a90704c1d3b637fd94b95b13e"),
];

/// The file kinds looked for in the cache, best first (`local` is an older snarkjs ceremony).
const KINDS: [&str; 3] = ["hez", "native", "local"];

/// The file chosen for a setup.
#[derive(Clone, Debug, PartialEq)]
pub struct Chosen {
    pub path: PathBuf,
    /// Where it came from; contains "insecure" for files with one known contributor.
    pub label: String,
    /// Seconds spent downloading or generating it now (`None`: it was supplied or cached).
    pub provisioned_s: Option<f64>,
    /// Why the public file was not used, when it was tried and failed.
    pub public_error: Option<String>,
}

/// How [`ensure`] may obtain a file.
pub struct Sources<'a> {
    /// A finished file given by the user (`--ptau`, `ZKPROF_PTAU`, the `ptau` setting).
    pub supplied: Option<&'a Path>,
    /// Try the public Hermez files (off: straight to a native file).
    pub download: bool,
    /// `progress(done, total)` while generating (points).
    pub progress: &'a (dyn Fn(u64, u64) + Sync),
}

/// The smallest power whose `2^power` exceeds `n` (snarkjs's rule: a circuit with
/// `constraints + public inputs + outputs = n` needs `2^power > n`).
pub fn power_for(n: u64) -> u32 {
    let mut p = 1;
    while (1u64 << p) <= n {
        p += 1;
    }
    p
}

/// A file for a circuit that needs `2^power`, kept in `dir`.
pub fn ensure(power: u32, dir: &Path, src: &Sources) -> Result<Chosen, PtauError> {
    if let Some(file) = src.supplied {
        let have = super::format::read_layout(file)?.power;
        if have < power {
            return Err(PtauError::Invalid(format!(
                "{}: holds 2^{have} powers but the circuit needs 2^{power}; supply a larger file (--ptau) or none (zkprof then makes one)",
                file.display()
            )));
        }
        return Ok(Chosen {
            path: file.to_path_buf(),
            label: format!("supplied {}", file.display()),
            provisioned_s: None,
            public_error: None,
        });
    }
    if power > MAX_POWER {
        return Err(PtauError::Power(power));
    }
    std::fs::create_dir_all(dir).map_err(|e| PtauError::io(dir, e))?;
    for k in power..=MAX_POWER + 1 {
        for kind in KINDS {
            let file = dir.join(format!("pot{k}_{kind}.ptau"));
            if let Some(label) = cached(&file) {
                return Ok(Chosen {
                    path: file,
                    label,
                    provisioned_s: None,
                    public_error: None,
                });
            }
        }
    }
    let mut public_error = None;
    let p = power.max(10);
    if let (true, Some((_, hash))) = (src.download, HERMEZ_BLAKE2B.iter().find(|(k, _)| *k == p)) {
        let file = dir.join(format!("pot{p}_hez.ptau"));
        let t = Instant::now();
        match download(p, hash, &file) {
            Ok(label) => {
                return Ok(Chosen {
                    path: file,
                    label,
                    provisioned_s: Some(t.elapsed().as_secs_f64()),
                    public_error: None,
                })
            }
            Err(e) => public_error = Some(e),
        }
    }
    let file = dir.join(format!("pot{power}_native.ptau"));
    let secrets = Secrets::random()?;
    let g = generate(&file, power, &secrets, true, src.progress)?;
    drop(secrets);
    let label = native_label(power);
    seal(&file, &label)?;
    Ok(Chosen {
        path: file,
        label,
        provisioned_s: Some(g.seconds),
        public_error,
    })
}

/// The label of a natively generated file.
pub fn native_label(power: u32) -> String {
    format!("zkprof native 2^{power}, one process knew tau (insecure: for benchmarks only)")
}

fn sidecar(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".zkprof.json");
    PathBuf::from(s)
}

fn sha256_file(file: &Path) -> Result<String, PtauError> {
    let mut f = std::fs::File::open(file).map_err(|e| PtauError::io(file, e))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| PtauError::io(file, e))?;
    Ok(hex::encode(h.finalize()))
}

/// Records a whole file's hash and label next to it.
pub fn seal(file: &Path, label: &str) -> Result<(), PtauError> {
    let side = sidecar(file);
    let text = serde_json::json!({ "sha256": sha256_file(file)?, "label": label });
    std::fs::write(&side, format!("{text:#}\n")).map_err(|e| PtauError::io(&side, e))
}

/// The label of a cached file whose hash matches its sidecar; a file that does not match
/// is zkprof's own half-written or damaged copy, and is removed.
fn cached(file: &Path) -> Option<String> {
    let side = sidecar(file);
    if !file.is_file() || !side.is_file() {
        return None;
    }
    let meta: serde_json::Value = std::fs::read_to_string(&side)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())?;
    let (want, label) = (meta["sha256"].as_str()?, meta["label"].as_str()?);
    if sha256_file(file).ok()? == want {
        return Some(label.to_string());
    }
    tracing::warn!(
        "cached ptau {} does not match its recorded hash; making it again",
        file.display()
    );
    let _ = std::fs::remove_file(file);
    let _ = std::fs::remove_file(&side);
    None
}

/// Downloads the public Hermez file of `power`, checks its blake2b hash, and seals it.
fn download(power: u32, blake2b: &str, file: &Path) -> Result<String, String> {
    let url = format!(
        "https://storage.googleapis.com/zkevm/ptau/powersOfTau28_hez_final_{power:02}.ptau"
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .into();
    let body = agent
        .get(&url)
        .call()
        .map_err(|e| format!("{url}: {e}"))?
        .into_body()
        .with_config()
        .limit(1 << 33)
        .read_to_vec()
        .map_err(|e| format!("{url}: {e} (truncated or interrupted transfer)"))?;
    let got = blake2b_simd::Params::new()
        .hash_length(64)
        .hash(&body)
        .to_hex()
        .to_string();
    if got != blake2b {
        return Err(format!(
            "{url}: blake2b {}... is not the published hash",
            &got[..16]
        ));
    }
    let part = file.with_extension("ptau.part");
    std::fs::write(&part, &body)
        .and_then(|_| std::fs::rename(&part, file))
        .map_err(|e| {
            let _ = std::fs::remove_file(&part);
            format!("{}: {e}", file.display())
        })?;
    let label = format!("public Hermez powersOfTau28_hez_final_{power} (blake2b verified)");
    seal(file, &label).map_err(|e| e.to_string())?;
    Ok(label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn power_follows_snarkjs() {
        assert_eq!(power_for(0), 1);
        assert_eq!(power_for(1), 1);
        assert_eq!(power_for(2), 2);
        assert_eq!(power_for(1023), 10);
        assert_eq!(power_for(1024), 11);
    }

    #[test]
    fn native_file_is_made_sealed_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let src = Sources {
            supplied: None,
            download: false,
            progress: &|_, _| {},
        };
        let a = ensure(3, dir.path(), &src).unwrap();
        assert!(a.label.contains("insecure"), "{}", a.label);
        assert!(a.provisioned_s.is_some());
        assert!(sidecar(&a.path).is_file());
        // A smaller circuit reuses the cached file.
        let b = ensure(2, dir.path(), &src).unwrap();
        assert_eq!((b.path.clone(), b.provisioned_s), (a.path.clone(), None));
        assert_eq!(b.label, a.label);
        // A damaged cached file is made again.
        std::fs::write(&a.path, b"not a ptau").unwrap();
        let c = ensure(3, dir.path(), &src).unwrap();
        assert!(c.provisioned_s.is_some());
        assert_eq!(super::super::format::read_layout(&c.path).unwrap().power, 3);
    }

    #[test]
    fn too_small_supplied_file_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("small.ptau");
        generate(&f, 2, &Secrets::random().unwrap(), true, &|_, _| {}).unwrap();
        let src = Sources {
            supplied: Some(&f),
            download: false,
            progress: &|_, _| {},
        };
        let e = ensure(4, dir.path(), &src).unwrap_err().to_string();
        assert!(e.contains("small.ptau") && e.contains("2^4"), "{e}");
        assert_eq!(ensure(2, dir.path(), &src).unwrap().path, f);
    }
}
