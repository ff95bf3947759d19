//! Making a phase-2-prepared powers-of-tau file from known secrets.
//!
//! With tau, alpha and beta in hand, every point is a fixed-base scalar multiplication of
//! a generator: sections 2-6 hold `tau^i`, `alpha tau^i`, `beta tau^i` times G1/G2, and the
//! Lagrange sections 12-15 hold `L_i(tau)` for every domain `2^p`, which snarkjs computes
//! with an inverse FFT over points and which here are scalars:
//! `L_i(tau) = w^i (tau^m - 1) / (m (tau - w^i))` for the domain of size `m` with root `w`.
//! Section 12's extra domain `2^(power+1)` is taken, as snarkjs does, from the powers with
//! the last one (`tau^(2m-1)`) replaced by zero, so its scalars lose `w^i tau^(m-1) / m`.
//! The multiplications run in parallel over all cores (std threads).

use super::format::{self, ContributionPoints, G1_BYTES, G2_BYTES};
use super::{PtauError, INSECURE_NAME, MAX_POWER};
use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::scalar_mul::{BatchMulPreprocessing, ScalarMul};
use ark_ec::PrimeGroup;
use ark_ff::{batch_inversion, FftField, Field, One, PrimeField, Zero};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Points computed per batch (bounds memory: about 10 MiB of G2 points).
const CHUNK: usize = 1 << 16;

/// The secrets of a one-contributor ceremony. Whoever holds them can forge proofs.
#[derive(Clone)]
pub struct Secrets {
    pub tau: Fr,
    pub alpha: Fr,
    pub beta: Fr,
}

impl Secrets {
    /// Fresh secrets from the operating system's random number generator (64 bytes each,
    /// reduced modulo r: uniform up to 2^-250).
    pub fn random() -> Result<Secrets, PtauError> {
        let draw = || -> Result<Fr, PtauError> {
            loop {
                let mut buf = [0u8; 64];
                getrandom::getrandom(&mut buf).map_err(|e| PtauError::Random(e.to_string()))?;
                let f = Fr::from_le_bytes_mod_order(&buf);
                if !f.is_zero() {
                    return Ok(f);
                }
            }
        };
        Ok(Secrets {
            tau: draw()?,
            alpha: draw()?,
            beta: draw()?,
        })
    }
}

impl Drop for Secrets {
    /// Overwrites the secrets (volatile writes, so the compiler keeps them) when done.
    fn drop(&mut self) {
        for f in [&mut self.tau, &mut self.alpha, &mut self.beta] {
            // SAFETY: `f` is a valid, aligned, exclusive reference to an initialized Fr.
            unsafe { std::ptr::write_volatile(f, Fr::zero()) };
        }
    }
}

/// What [`generate`] made.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The file holds `2^power` powers (circuits up to `2^power` constraints).
    pub power: u32,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// Seconds the generation took (wall clock).
    pub seconds: f64,
}

/// One run of points in a section: `factor * tau^i` for `i < count`, or `factor * L_i(tau)`
/// over the domain `2^log_m` (`drop_last`: section 12's extra domain).
#[derive(Clone, Copy)]
enum Series {
    Powers {
        factor: Fr,
        count: usize,
    },
    Lagrange {
        factor: Fr,
        log_m: u32,
        drop_last: bool,
    },
}

impl Series {
    fn len(&self) -> usize {
        match *self {
            Series::Powers { count, .. } => count,
            Series::Lagrange { log_m, .. } => 1 << log_m,
        }
    }

    /// The scalars `start .. start + n` of this series.
    fn scalars(&self, tau: Fr, start: usize, n: usize) -> Vec<Fr> {
        match *self {
            Series::Powers { factor, .. } => {
                let mut cur = factor * tau.pow([start as u64]);
                (0..n)
                    .map(|_| {
                        let v = cur;
                        cur *= tau;
                        v
                    })
                    .collect()
            }
            Series::Lagrange {
                factor,
                log_m,
                drop_last,
            } => {
                let m = 1u64 << log_m;
                let w = Fr::get_root_of_unity(m).unwrap_or_else(Fr::one);
                let m_inv = Fr::from(m).inverse().unwrap_or_else(Fr::one);
                // (tau^m - 1) / m, and tau^(m-1) / m for the dropped last power.
                let common = (tau.pow([m]) - Fr::one()) * m_inv;
                let last = tau.pow([m - 1]) * m_inv;
                let mut wi = w.pow([start as u64]);
                let mut ws = Vec::with_capacity(n);
                let mut den = Vec::with_capacity(n);
                for _ in 0..n {
                    ws.push(wi);
                    den.push(tau - wi);
                    wi *= w;
                }
                batch_inversion(&mut den);
                ws.iter()
                    .zip(den)
                    .map(|(wi, d)| {
                        let mut l = *wi * common * d;
                        if drop_last {
                            l -= *wi * last;
                        }
                        factor * l
                    })
                    .collect()
            }
        }
    }
}

/// Writes a `.ptau` file of `2^power` powers for `secrets` to `path` (through a
/// `.ptau.part<pid>` file renamed at the end). `prepared`: with the Lagrange sections 12-15 that Groth16
/// setup needs (as `snarkjs powersoftau prepare phase2`); without them the file is what
/// one contribution to `snarkjs powersoftau new` would give. `progress(done, total)`
/// counts points.
pub fn generate(
    path: &Path,
    power: u32,
    secrets: &Secrets,
    prepared: bool,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<Generated, PtauError> {
    if !(1..=MAX_POWER).contains(&power) {
        return Err(PtauError::Power(power));
    }
    let (tau, alpha, beta) = (secrets.tau, secrets.alpha, secrets.beta);
    // tau inside a Lagrange domain would divide by zero (probability about 2^-226).
    if tau.pow([1u64 << (power + 1)]) == Fr::one() {
        return Err(PtauError::Random(
            "tau fell on a root of unity; generate again".into(),
        ));
    }
    let t0 = Instant::now();
    let n = 1usize << power;
    let one = Fr::one();
    let pw = |factor, count| vec![Series::Powers { factor, count }];
    let lag = |factor, top: u32, drop: bool| -> Vec<Series> {
        (0..=top)
            .map(|p| Series::Lagrange {
                factor,
                log_m: p,
                drop_last: drop && p == power + 1,
            })
            .collect()
    };
    // (section id, G2?, series), in file order; section 6 and 7 are written in between.
    let mut plan: Vec<(u32, bool, Vec<Series>)> = vec![
        (2, false, pw(one, 2 * n - 1)),
        (3, true, pw(one, n)),
        (4, false, pw(alpha, n)),
        (5, false, pw(beta, n)),
    ];
    if prepared {
        plan.extend([
            (12, false, lag(one, power + 1, true)),
            (13, true, lag(one, power, false)),
            (14, false, lag(alpha, power, false)),
            (15, false, lag(beta, power, false)),
        ]);
    }
    let count = |g2: bool| -> usize {
        plan.iter()
            .filter(|(_, is_g2, _)| *is_g2 == g2)
            .flat_map(|(_, _, s)| s.iter().map(Series::len))
            .sum()
    };
    let (n_g1, n_g2) = (count(false), count(true));
    let total = (n_g1 + n_g2) as u64;
    let g1 = BatchMulPreprocessing::new(G1Projective::generator(), n_g1);
    let g2 = BatchMulPreprocessing::new(G2Projective::generator(), n_g2);

    // Per process, so that two runs making the same file at once never write into one.
    let part = path.with_extension(format!("ptau.part{}", std::process::id()));
    let io = |e| PtauError::io(&part, e);
    let file = std::fs::File::create(&part).map_err(io)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let result = (|| -> Result<(), PtauError> {
        out.write_all(&format::file_header(if prepared { 11 } else { 7 }))
            .map_err(io)?;
        out.write_all(&format::header_section(power)).map_err(io)?;
        let mut done = 0u64;
        for (id, is_g2, series) in &plan {
            if *id == 12 {
                write_6_and_7(&mut out, secrets).map_err(io)?;
            }
            let per = if *is_g2 { G2_BYTES } else { G1_BYTES };
            let size: usize = series.iter().map(|s| s.len() * per).sum();
            out.write_all(&format::section_header(*id, size as u64))
                .map_err(io)?;
            for s in series {
                let mut start = 0;
                while start < s.len() {
                    let k = CHUNK.min(s.len() - start);
                    let sc = s.scalars(tau, start, k);
                    let mut buf = Vec::with_capacity(k * per);
                    if *is_g2 {
                        for p in parallel_mul(&g2, &sc) {
                            format::put_g2(&mut buf, &p);
                        }
                    } else {
                        for p in parallel_mul(&g1, &sc) {
                            format::put_g1(&mut buf, &p);
                        }
                    }
                    out.write_all(&buf).map_err(io)?;
                    start += k;
                    done += k as u64;
                    progress(done, total);
                }
            }
        }
        if !prepared {
            write_6_and_7(&mut out, secrets).map_err(io)?;
        }
        out.flush().map_err(io)?;
        out.get_ref().sync_all().map_err(io)
    })();
    drop(out);
    if let Err(e) = result {
        let _ = std::fs::remove_file(&part);
        return Err(e);
    }
    std::fs::rename(&part, path).map_err(|e| PtauError::io(path, e))?;
    let bytes = std::fs::metadata(path)
        .map_err(|e| PtauError::io(path, e))?
        .len();
    Ok(Generated {
        power,
        bytes,
        seconds: t0.elapsed().as_secs_f64(),
    })
}

/// `v[i] * base` for every scalar, split over the available cores (std threads).
fn parallel_mul<T>(table: &BatchMulPreprocessing<T>, v: &[Fr]) -> Vec<T::MulBase>
where
    T: ScalarMul<ScalarField = Fr>,
    BatchMulPreprocessing<T>: Sync,
{
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = v.len().div_ceil(threads).max(1024);
    if v.len() <= per {
        return table.batch_mul(v);
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = v
            .chunks(per)
            .map(|c| s.spawn(move || table.batch_mul(c)))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// Section 6 (`beta` in G2) and section 7 (the one, insecure, contribution).
fn write_6_and_7(out: &mut impl Write, s: &Secrets) -> std::io::Result<()> {
    let g1 = |x: Fr| G1Affine::from(G1Projective::generator() * x);
    let g2 = |x: Fr| G2Affine::from(G2Projective::generator() * x);
    let mut sec6 = format::section_header(6, G2_BYTES as u64);
    format::put_g2(&mut sec6, &g2(s.beta));
    out.write_all(&sec6)?;
    let c = ContributionPoints {
        tau_g1: g1(s.tau),
        tau_g2: g2(s.tau),
        alpha_g1: g1(s.alpha),
        beta_g1: g1(s.beta),
        beta_g2: g2(s.beta),
    };
    out.write_all(&format::contributions_section(&c, INSECURE_NAME))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// Fixed secrets for a seed (tests only).
    pub(crate) fn secrets(seed: u64) -> Secrets {
        let f = |k: u64| Fr::from_le_bytes_mod_order(&Sha256::digest((seed * 3 + k).to_le_bytes()));
        Secrets {
            tau: f(0),
            alpha: f(1),
            beta: f(2),
        }
    }

    /// The Lagrange scalars agree with the definition sum_j c_ij tau^j (inverse DFT).
    #[test]
    fn lagrange_scalars_match_the_inverse_dft() {
        let tau = secrets(1).tau;
        for (log_m, drop_last) in [(0, false), (1, false), (3, false), (3, true)] {
            let m = 1usize << log_m;
            let s = Series::Lagrange {
                factor: Fr::one(),
                log_m,
                drop_last,
            };
            let got = s.scalars(tau, 0, m);
            let w = Fr::get_root_of_unity(m as u64).unwrap();
            let m_inv = Fr::from(m as u64).inverse().unwrap();
            for (i, g) in got.iter().enumerate() {
                let mut want = Fr::zero();
                for j in 0..m {
                    if drop_last && j == m - 1 {
                        continue;
                    }
                    want += tau.pow([j as u64]) * w.pow([(i * j) as u64]).inverse().unwrap();
                }
                assert_eq!(*g, want * m_inv, "m={m} i={i} drop={drop_last}");
            }
            // A chunk starting mid-way agrees with the whole.
            if m > 2 {
                assert_eq!(s.scalars(tau, 2, m - 2), got[2..]);
            }
        }
    }

    #[test]
    fn file_has_the_layout_snarkjs_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.ptau");
        let calls = std::sync::atomic::AtomicU64::new(0);
        let g = generate(&path, 3, &secrets(2), true, &|d, t| {
            assert!(d <= t);
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        })
        .unwrap();
        assert!(calls.into_inner() > 0);
        let l = format::read_layout(&path).unwrap();
        assert_eq!(l.power, 3);
        let ids: Vec<u32> = l.sections.iter().map(|s| s.0).collect();
        assert_eq!(ids, [1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15]);
        let size = |id| l.sections.iter().find(|s| s.0 == id).unwrap().2;
        assert_eq!(size(2), 15 * 64);
        assert_eq!(size(3), 8 * 128);
        assert_eq!(size(12), 31 * 64);
        assert_eq!(size(13), 15 * 128);
        assert_eq!(g.bytes, std::fs::metadata(&path).unwrap().len());
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "only the finished file remains");
        let text = std::fs::read(&path).unwrap();
        let name = INSECURE_NAME.as_bytes();
        assert!(text.windows(name.len()).any(|w| w == name));
    }

    #[test]
    fn out_of_range_power_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.ptau");
        assert!(matches!(
            generate(&p, 0, &secrets(3), true, &|_, _| {}),
            Err(PtauError::Power(0))
        ));
        assert!(matches!(
            generate(&p, 28, &secrets(3), true, &|_, _| {}),
            Err(PtauError::Power(28))
        ));
        assert!(!p.exists());
    }
}
