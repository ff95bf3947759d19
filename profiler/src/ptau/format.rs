//! snarkjs's binary layout: the `ptau` container (magic, version, sections of
//! `type u32, size u64, bytes`) and points as ffjavascript's `toRprLEM` writes them:
//! affine coordinates in Montgomery form, little-endian, 32 bytes per base-field element
//! (G2: `c0` then `c1`), the point at infinity as all zeros.

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::PrimeField;

/// Bytes of one base-field element.
pub const N8: usize = 32;
/// Bytes of one affine G1 point.
pub const G1_BYTES: usize = 2 * N8;
/// Bytes of one affine G2 point.
pub const G2_BYTES: usize = 4 * N8;

/// Appends `f` in Montgomery form, little-endian (ark-ff keeps field elements in that form).
pub fn put_fq(out: &mut Vec<u8>, f: &Fq) {
    for limb in f.0 .0 {
        out.extend_from_slice(&limb.to_le_bytes());
    }
}

fn put_fq2(out: &mut Vec<u8>, f: &Fq2) {
    put_fq(out, &f.c0);
    put_fq(out, &f.c1);
}

/// Appends a G1 point (64 bytes).
pub fn put_g1(out: &mut Vec<u8>, p: &G1Affine) {
    match p.xy() {
        Some((x, y)) => {
            put_fq(out, &x);
            put_fq(out, &y);
        }
        None => out.extend_from_slice(&[0u8; G1_BYTES]),
    }
}

/// Appends a G2 point (128 bytes).
pub fn put_g2(out: &mut Vec<u8>, p: &G2Affine) {
    match p.xy() {
        Some((x, y)) => {
            put_fq2(out, &x);
            put_fq2(out, &y);
        }
        None => out.extend_from_slice(&[0u8; G2_BYTES]),
    }
}

/// The file header: magic `ptau`, version 1, the number of sections.
pub fn file_header(n_sections: u32) -> Vec<u8> {
    let mut h = b"ptau".to_vec();
    h.extend_from_slice(&1u32.to_le_bytes());
    h.extend_from_slice(&n_sections.to_le_bytes());
    h
}

/// A section header: its type and its size in bytes.
pub fn section_header(id: u32, size: u64) -> Vec<u8> {
    let mut h = id.to_le_bytes().to_vec();
    h.extend_from_slice(&size.to_le_bytes());
    h
}

/// Section 1: `n8`, the base-field modulus (little-endian, plain), the power and the
/// ceremony power (`prepare phase2` writes the power for both).
pub fn header_section(power: u32) -> Vec<u8> {
    let mut s = section_header(1, 4 + N8 as u64 + 8);
    s.extend_from_slice(&(N8 as u32).to_le_bytes());
    let q = Fq::MODULUS;
    for limb in q.0 {
        s.extend_from_slice(&limb.to_le_bytes());
    }
    s.extend_from_slice(&power.to_le_bytes());
    s.extend_from_slice(&power.to_le_bytes());
    s
}

/// The first points of each group after one contribution, as section 7 records them.
pub struct ContributionPoints {
    pub tau_g1: G1Affine,
    pub tau_g2: G2Affine,
    pub alpha_g1: G1Affine,
    pub beta_g1: G1Affine,
    pub beta_g2: G2Affine,
}

/// Section 7 with one contribution named `name` (at most 64 bytes). It carries no proof of
/// knowledge (public key, hashes and challenge are zeros): `snarkjs powersoftau verify`
/// rejects it, which is right, since nobody can check how the secrets were handled.
pub fn contributions_section(c: &ContributionPoints, name: &str) -> Vec<u8> {
    let mut body = 1u32.to_le_bytes().to_vec();
    put_g1(&mut body, &c.tau_g1);
    put_g2(&mut body, &c.tau_g2);
    put_g1(&mut body, &c.alpha_g1);
    put_g1(&mut body, &c.beta_g1);
    put_g2(&mut body, &c.beta_g2);
    // Public key (6 G1 + 3 G2), partial hash (216 bytes), next challenge (64 bytes).
    body.extend(std::iter::repeat_n(
        0u8,
        6 * G1_BYTES + 3 * G2_BYTES + 216 + 64,
    ));
    body.extend_from_slice(&0u32.to_le_bytes()); // type 0: a contribution
    let name = truncate_utf8(name, 64);
    let mut params = vec![1u8, name.len() as u8];
    params.extend_from_slice(name.as_bytes());
    body.extend_from_slice(&(params.len() as u32).to_le_bytes());
    body.extend_from_slice(&params);
    let mut s = section_header(7, body.len() as u64);
    s.extend_from_slice(&body);
    s
}

fn truncate_utf8(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A parsed file header and its sections: `(type, offset of the data, size)`.
pub struct Layout {
    pub power: u32,
    pub sections: Vec<(u32, u64, u64)>,
}

/// Reads the container and the header section of a `.ptau` file's first bytes and the
/// section table (sizes only; the data is not read).
pub fn read_layout(path: &std::path::Path) -> Result<Layout, super::PtauError> {
    use std::io::{Read, Seek, SeekFrom};
    let bad = |why: String| super::PtauError::Invalid(format!("{}: {why}", path.display()));
    let mut f = std::fs::File::open(path).map_err(|e| super::PtauError::io(path, e))?;
    let len = f
        .metadata()
        .map_err(|e| super::PtauError::io(path, e))?
        .len();
    let mut head = [0u8; 12];
    f.read_exact(&mut head)
        .map_err(|_| bad("shorter than a .ptau header".into()))?;
    if &head[..4] != b"ptau" {
        return Err(bad("not a .ptau file (no `ptau` magic)".into()));
    }
    let n = u32::from_le_bytes([head[8], head[9], head[10], head[11]]);
    let mut sections = Vec::new();
    let mut pos = 12u64;
    let mut power = None;
    for _ in 0..n {
        let mut sh = [0u8; 12];
        f.seek(SeekFrom::Start(pos))
            .and_then(|_| f.read_exact(&mut sh))
            .map_err(|_| bad(format!("truncated section table at byte {pos}")))?;
        let id = u32::from_le_bytes([sh[0], sh[1], sh[2], sh[3]]);
        let mut sz = [0u8; 8];
        sz.copy_from_slice(&sh[4..]);
        let size = u64::from_le_bytes(sz);
        let data = pos + 12;
        if data + size > len {
            return Err(bad(format!("section {id} runs past the end of the file")));
        }
        if id == 1 {
            let mut h = [0u8; 44];
            f.read_exact(&mut h)
                .map_err(|_| bad("truncated header section".into()))?;
            power = Some(u32::from_le_bytes([h[36], h[37], h[38], h[39]]));
        }
        sections.push((id, data, size));
        pos = data + size;
    }
    Ok(Layout {
        power: power.ok_or_else(|| bad("no header section".into()))?,
        sections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::PrimeGroup;

    #[test]
    fn g1_generator_in_montgomery_form() {
        // The BN254 G1 generator is (1, 2); in Montgomery form x = R mod q.
        let mut out = Vec::new();
        put_g1(&mut out, &G1Affine::generator());
        let r = Fq::R; // 2^256 mod q, the Montgomery form of 1
        let mut want = Vec::new();
        for l in r.0 {
            want.extend_from_slice(&l.to_le_bytes());
        }
        assert_eq!(&out[..32], &want[..]);
        assert_eq!(out.len(), 64);
        let mut zero = Vec::new();
        put_g2(&mut zero, &G2Affine::identity());
        assert_eq!(zero, vec![0u8; 128]);
        assert!(ark_bn254::G1Projective::generator() != ark_bn254::G1Projective::default());
    }

    #[test]
    fn contribution_name_is_cut_at_64_bytes() {
        assert_eq!(truncate_utf8("ééé", 3), "é");
        const { assert!(super::super::INSECURE_NAME.len() <= 64) };
    }
}
