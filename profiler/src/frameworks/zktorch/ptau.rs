//! A snarkjs powers-of-tau file (`.ptau`) rewritten as the uncompressed "challenge" layout
//! that zkTorch reads (`src/ptau.rs` upstream): 64 bytes zkTorch skips (snarkjs puts the
//! previous response's hash there; zkprof writes zeros), then `2^(n+1) - 1` G1 points
//! `[tau^i]G1`, `2^n` G2 points `[tau^i]G2`, then `2^n` G1 points `[alpha tau^i]G1`, `2^n`
//! G1 points `[beta tau^i]G1` and `[beta]G2` (what `snarkjs powersoftau export challenge`
//! writes), each coordinate 32 bytes big-endian in normal form (G2: `x.c1, x.c0, y.c1,
//! y.c0`). The `.ptau` file holds the same points in sections 2 to 6, little-endian in
//! Montgomery form. zkTorch reads the tau powers, and one byte past them (so the sections
//! after them must be there). The first G1 and G2 points must be the generators (`tau^0`),
//! which is checked.

use ark_ff::{BigInt, BigInteger, Fp, PrimeField};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// The BN254 base field.
type Fq = ark_bn254::Fq;

/// What the header of a `.ptau` file says.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PtauInfo {
    /// log2 of the number of G2 powers (`power` in snarkjs).
    pub power: u32,
    /// Byte offset and length of section 2 (tauG1) and section 3 (tauG2).
    tau_g1: (u64, u64),
    tau_g2: (u64, u64),
    alpha_g1: (u64, u64),
    beta_g1: (u64, u64),
    beta_g2: (u64, u64),
}

fn bad(path: &Path, what: impl std::fmt::Display) -> String {
    format!(
        "{}: {what}; give a snarkjs powers-of-tau file (.ptau, e.g. `snarkjs powersoftau new bn128 14 ...`)",
        path.display()
    )
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads the header and the section table of a `.ptau` file.
pub fn info(path: &Path) -> Result<PtauInfo, String> {
    let mut f = std::fs::File::open(path).map_err(|e| bad(path, e))?;
    let len = f.metadata().map_err(|e| bad(path, e))?.len();
    let mut head = [0u8; 12];
    f.read_exact(&mut head)
        .map_err(|_| bad(path, "shorter than a .ptau header"))?;
    if &head[..4] != b"ptau" {
        return Err(bad(path, "not a .ptau file (no `ptau` magic)"));
    }
    let sections = u32_at(&head, 8);
    let mut at = 12u64;
    let mut table = std::collections::BTreeMap::new();
    for _ in 0..sections.min(64) {
        let mut s = [0u8; 12];
        f.seek(SeekFrom::Start(at)).map_err(|e| bad(path, e))?;
        f.read_exact(&mut s)
            .map_err(|_| bad(path, format!("truncated section table at byte {at}")))?;
        let kind = u32_at(&s, 0);
        let size = u64::from_le_bytes(s[4..12].try_into().unwrap_or([0; 8]));
        let start = at + 12;
        if start.saturating_add(size) > len {
            return Err(bad(
                path,
                format!("section {kind} at byte {at} runs past the end of the file"),
            ));
        }
        table.insert(kind, (start, size));
        at = start + size;
    }
    let &(h_at, h_len) = table
        .get(&1)
        .ok_or_else(|| bad(path, "no header section"))?;
    if h_len < 4 + 32 + 8 {
        return Err(bad(path, "header section too short"));
    }
    let mut h = vec![0u8; h_len as usize];
    f.seek(SeekFrom::Start(h_at)).map_err(|e| bad(path, e))?;
    f.read_exact(&mut h).map_err(|e| bad(path, e))?;
    let n8 = u32_at(&h, 0);
    if n8 != 32 {
        return Err(bad(
            path,
            format!("field elements of {n8} bytes: only BN254 (bn128) files are supported"),
        ));
    }
    let q = &h[4..36];
    let bn254_q = Fq::MODULUS.to_bytes_le();
    if q != bn254_q.as_slice() {
        return Err(bad(path, "its curve is not BN254 (bn128)"));
    }
    let power = u32_at(&h, 36);
    if !(1..=28).contains(&power) {
        return Err(bad(path, format!("power {power} is out of range")));
    }
    let need = |kind: u32, points: u64, size: u64| -> Result<(u64, u64), String> {
        let &(s, l) = table
            .get(&kind)
            .ok_or_else(|| bad(path, format!("no section {kind}")))?;
        if l < points * size {
            return Err(bad(
                path,
                format!(
                    "section {kind} holds {l} bytes, power {power} needs {}",
                    points * size
                ),
            ));
        }
        Ok((s, l))
    };
    Ok(PtauInfo {
        power,
        tau_g1: need(2, (1u64 << (power + 1)) - 1, 64)?,
        tau_g2: need(3, 1u64 << power, 128)?,
        alpha_g1: need(4, 1u64 << power, 64)?,
        beta_g1: need(5, 1u64 << power, 64)?,
        beta_g2: need(6, 1, 128)?,
    })
}

/// One coordinate: 32 bytes little-endian Montgomery in, 32 bytes big-endian normal out.
fn coordinate(le_mont: &[u8], out: &mut Vec<u8>) {
    let mut limbs = [0u64; 4];
    for (i, l) in limbs.iter_mut().enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(&le_mont[i * 8..i * 8 + 8]);
        *l = u64::from_le_bytes(b);
    }
    let x: Fq = Fp::new_unchecked(BigInt(limbs));
    out.extend_from_slice(&x.into_bigint().to_bytes_be());
}

/// Writes the challenge layout of power `n` (at most the file's power) to `out`.
pub fn write_challenge(path: &Path, n: u32, out: &Path) -> Result<(), String> {
    let info = info(path)?;
    if n > info.power || n == 0 {
        return Err(bad(
            path,
            format!("power {n} asked for, the file has power {}", info.power),
        ));
    }
    let mut f = std::fs::File::open(path).map_err(|e| bad(path, e))?;
    let file = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let werr = |e: std::io::Error| format!("{}: {e}", out.display());
    w.write_all(&[0u8; 64]).map_err(werr)?;
    let g1 = 1u64 << n;
    for (what, (at, _), points, is_g2) in [
        ("tauG1", info.tau_g1, 2 * g1 - 1, false),
        ("tauG2", info.tau_g2, g1, true),
        ("alphaTauG1", info.alpha_g1, g1, false),
        ("betaTauG1", info.beta_g1, g1, false),
        ("betaG2", info.beta_g2, 1, true),
    ] {
        f.seek(SeekFrom::Start(at)).map_err(|e| bad(path, e))?;
        let mut r = std::io::BufReader::new(&mut f);
        let size = if is_g2 { 128 } else { 64 };
        let mut p = [0u8; 128];
        let mut buf = Vec::with_capacity(128);
        for i in 0..points {
            r.read_exact(&mut p[..size]).map_err(|e| bad(path, e))?;
            buf.clear();
            if is_g2 {
                // (x.c0, x.c1, y.c0, y.c1) in, (x.c1, x.c0, y.c1, y.c0) out.
                for k in [1, 0, 3, 2] {
                    coordinate(&p[k * 32..k * 32 + 32], &mut buf);
                }
            } else {
                coordinate(&p[..32], &mut buf);
                coordinate(&p[32..64], &mut buf);
            }
            let generator = match what {
                "tauG1" => Some(is_g1_generator(&buf)),
                "tauG2" => Some(is_g2_generator(&buf)),
                _ => None,
            };
            if i == 0 && generator == Some(false) {
                return Err(bad(
                    path,
                    format!("its first {what} point is not the generator"),
                ));
            }
            w.write_all(&buf).map_err(werr)?;
        }
    }
    w.flush().map_err(werr)?;
    Ok(())
}

fn be_of(x: Fq) -> Vec<u8> {
    x.into_bigint().to_bytes_be()
}

fn is_g1_generator(be: &[u8]) -> bool {
    use ark_ec::AffineRepr;
    let g = ark_bn254::G1Affine::generator();
    [be_of(g.x), be_of(g.y)].concat() == be
}

fn is_g2_generator(be: &[u8]) -> bool {
    use ark_ec::AffineRepr;
    let g = ark_bn254::G2Affine::generator();
    [be_of(g.x.c1), be_of(g.x.c0), be_of(g.y.c1), be_of(g.y.c0)].concat() == be
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le_mont(x: Fq) -> Vec<u8> {
        // The Montgomery limbs, as snarkjs stores them.
        x.0 .0.iter().flat_map(|l| l.to_le_bytes()).collect()
    }

    /// A `.ptau` of power 1 whose points are the generators times 1, 2, 3 (G1) and 1, 2 (G2).
    fn tiny_ptau(dir: &Path, first_ok: bool) -> std::path::PathBuf {
        use ark_ec::{AffineRepr, CurveGroup};
        let g1 = ark_bn254::G1Affine::generator();
        let g2 = ark_bn254::G2Affine::generator();
        let mut s2 = Vec::new();
        for k in [1u64, 2, 3] {
            let k = if first_ok { k } else { k + 1 };
            let p = (g1 * ark_bn254::Fr::from(k)).into_affine();
            s2.extend(le_mont(p.x));
            s2.extend(le_mont(p.y));
        }
        let mut s3 = Vec::new();
        for k in [1u64, 2] {
            let p = (g2 * ark_bn254::Fr::from(k)).into_affine();
            for c in [p.x.c0, p.x.c1, p.y.c0, p.y.c1] {
                s3.extend(le_mont(c));
            }
        }
        let mut h = 32u32.to_le_bytes().to_vec();
        h.extend(Fq::MODULUS.to_bytes_le());
        h.extend(1u32.to_le_bytes());
        h.extend(1u32.to_le_bytes());
        // alphaTauG1, betaTauG1 (two G1 points each), betaG2 (one G2 point).
        let s4 = s2[..128].to_vec();
        let s5 = s2[64..].to_vec();
        let s6 = s3[128..].to_vec();
        let mut f = b"ptau".to_vec();
        f.extend(1u32.to_le_bytes());
        f.extend(6u32.to_le_bytes());
        for (kind, body) in [(1u32, &h), (2, &s2), (3, &s3), (4, &s4), (5, &s5), (6, &s6)] {
            f.extend(kind.to_le_bytes());
            f.extend((body.len() as u64).to_le_bytes());
            f.extend(body);
        }
        let p = dir.join("tiny.ptau");
        std::fs::write(&p, f).unwrap();
        p
    }

    #[test]
    fn challenge_has_big_endian_normal_points_in_zktorch_order() {
        use ark_ec::{AffineRepr, CurveGroup};
        let d = tempfile::tempdir().unwrap();
        let ptau = tiny_ptau(d.path(), true);
        assert_eq!(info(&ptau).unwrap().power, 1);
        let out = d.path().join("challenge");
        write_challenge(&ptau, 1, &out).unwrap();
        let b = std::fs::read(&out).unwrap();
        assert_eq!(b.len(), 64 + 3 * 64 + 2 * 128 + 2 * 64 + 2 * 64 + 128);
        // betaTauG1 point 1 is the fixture's 3*G again; betaG2 is 2*G2.
        let p3 = (ark_bn254::G1Affine::generator() * ark_bn254::Fr::from(3u64)).into_affine();
        let at = 64 + 3 * 64 + 2 * 128 + 2 * 64 + 64;
        assert_eq!(&b[at..at + 64], [be_of(p3.x), be_of(p3.y)].concat());
        assert_eq!(
            &b[b.len() - 128..],
            &b[64 + 3 * 64 + 128..64 + 3 * 64 + 256]
        );
        // G1 point 2 (3*G) as zkTorch reads it: x then y, big-endian.
        let p = (ark_bn254::G1Affine::generator() * ark_bn254::Fr::from(3u64)).into_affine();
        assert_eq!(&b[64 + 128..64 + 192], [be_of(p.x), be_of(p.y)].concat());
        let q = (ark_bn254::G2Affine::generator() * ark_bn254::Fr::from(2u64)).into_affine();
        let at = 64 + 3 * 64 + 128;
        assert_eq!(
            &b[at..at + 128],
            [be_of(q.x.c1), be_of(q.x.c0), be_of(q.y.c1), be_of(q.y.c0)].concat()
        );
        let e = write_challenge(&ptau, 2, &out).unwrap_err();
        assert!(e.contains("power 2 asked for, the file has power 1"), "{e}");
    }

    #[test]
    fn bad_files_are_named_and_explained() {
        let d = tempfile::tempdir().unwrap();
        let ptau = tiny_ptau(d.path(), false);
        let e = write_challenge(&ptau, 1, &d.path().join("c")).unwrap_err();
        assert!(e.contains("first tauG1 point is not the generator"), "{e}");
        let junk = d.path().join("junk.ptau");
        std::fs::write(&junk, b"not a ptau at all").unwrap();
        let e = info(&junk).unwrap_err();
        assert!(
            e.contains("junk.ptau") && e.contains("no `ptau` magic"),
            "{e}"
        );
        let mut b = std::fs::read(&ptau).unwrap();
        b.truncate(b.len() - 10);
        std::fs::write(&junk, b).unwrap();
        let e = info(&junk).unwrap_err();
        assert!(e.contains("runs past the end"), "{e}");
    }

    #[test]
    fn shared_pot14_converts_when_present() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/ptau/pot14_final.ptau");
        if !p.is_file() {
            return;
        }
        let i = info(&p).unwrap();
        assert_eq!(i.power, 14);
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("challenge");
        write_challenge(&p, 7, &out).unwrap();
        let b = std::fs::read(&out).unwrap();
        assert_eq!(b.len(), 64 + 64 * 255 + 128 * 128 + 2 * 64 * 128 + 128);
        // The points are on the curve and are powers of one tau: e(tau G1, G2) = e(G1, tau G2).
        use ark_ec::pairing::Pairing;
        let fq = |at: usize| Fq::from_be_bytes_mod_order(&b[at..at + 32]);
        let g1 = |i: usize| {
            let p = ark_bn254::G1Affine::new_unchecked(fq(64 + 64 * i), fq(96 + 64 * i));
            assert!(p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve());
            p
        };
        let g2 = |i: usize| {
            let at = 64 + 64 * 255 + 128 * i;
            let x = ark_bn254::Fq2::new(fq(at + 32), fq(at));
            let y = ark_bn254::Fq2::new(fq(at + 96), fq(at + 64));
            let p = ark_bn254::G2Affine::new_unchecked(x, y);
            assert!(p.is_on_curve() && p.is_in_correct_subgroup_assuming_on_curve());
            p
        };
        let e = ark_bn254::Bn254::pairing;
        assert_eq!(e(g1(1), g2(0)), e(g1(0), g2(1)));
        assert_eq!(e(g1(200), g2(0)), e(g1(73), g2(127)));
    }
}
