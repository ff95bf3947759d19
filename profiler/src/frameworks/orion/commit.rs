//! The model commitment a `weights = "data"` program outputs, computed by zkprof from the
//! ONNX file's weights: Poseidon (Starknet's array hash, as the corelib's
//! `poseidon_hash_span`) over the serialized `Array<FP16x16>` the program receives, written
//! as cairo-vm prints an output felt (signed: values above (P - 1) / 2 as `value - P`).

use starknet_types_core::felt::Felt;
use starknet_types_core::hash::{Poseidon, StarkHash};

/// Poseidon of `felts`, as cairo-vm prints it.
pub fn poseidon_printed(felts: &[u64]) -> String {
    let felts: Vec<Felt> = felts.iter().map(|&v| Felt::from(v)).collect();
    signed(Poseidon::hash_array(&felts))
}

/// A felt as cairo-vm's `write_output` prints it.
fn signed(f: Felt) -> String {
    let half = Felt::MAX.to_biguint() / 2u32;
    if f.to_biguint() > half {
        format!("-{}", (-f).to_biguint())
    } else {
        f.to_biguint().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_corelib_s_poseidon_hash_span() {
        // The corelib's own example (corelib/src/poseidon.cairo, v2.15.0):
        // poseidon_hash_span([1, 2]) == 0x0371cb6995ea5e7effcd2e174de264b5b407027a75a231a70c2c8d196107f0e7
        let want = Felt::from_hex_unchecked(
            "0x0371cb6995ea5e7effcd2e174de264b5b407027a75a231a70c2c8d196107f0e7",
        );
        assert_eq!(poseidon_printed(&[1, 2]), signed(want));
        assert!(!poseidon_printed(&[1, 2]).starts_with('-'));
        // Printed signed, as cairo-vm does: P - 1 is -1.
        assert_eq!(signed(Felt::MAX), "-1");
        assert_eq!(signed(Felt::from(7u64)), "7");
        assert_ne!(poseidon_printed(&[1, 2]), poseidon_printed(&[2, 1]));
    }
}
