//! The framework and runtime kinds this build knows, as enums (suites, the command line and
//! results spell them by name). A leaf module: it imports nothing of the crate, so the
//! suite, the adapters and the runtimes can all name kinds without importing each other.
//!
//! Adding an adapter: a new file under `frameworks/`, one variant in [`FrameworkKind`]
//! below, one match arm in `FrameworkKind::adapter` (`frameworks/mod.rs`); the compiler
//! then finds every other place that must know (exhaustive matches).

/// Generates a kind enum, its names, parsing (with an error listing the valid names),
/// `Display` and serde as the name, from one list.
macro_rules! kinds {
    (
        $(#[$meta:meta])*
        $enum:ident, $err:ident, $what:literal {
            $($(#[$vmeta:meta])* $variant:ident => $name:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $enum {
            $($(#[$vmeta])* $variant,)+
        }

        impl $enum {
            /// Every kind, in the order `list` and `doctor` show them.
            pub const ALL: &'static [$enum] = &[$($enum::$variant,)+];
            /// The names suites use, in the order of [`Self::ALL`].
            pub const NAMES: &'static [&'static str] = &[$($name,)+];

            /// The name suites, the command line and results use.
            pub fn name(self) -> &'static str {
                match self {
                    $($enum::$variant => $name,)+
                }
            }

            /// The kind called `name`, if this build knows it.
            pub fn from_name(name: &str) -> Option<$enum> {
                Self::ALL.iter().copied().find(|k| k.name() == name)
            }
        }

        #[doc = concat!("An unknown ", $what, "; the message lists the known ones.")]
        #[derive(Debug, thiserror::Error)]
        #[error("unknown {} `{name}`; known: {known}", $what, known = $enum::NAMES.join(", "))]
        pub struct $err {
            /// The name as given.
            pub name: String,
        }

        impl std::str::FromStr for $enum {
            type Err = $err;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_name(s).ok_or_else(|| $err { name: s.to_string() })
            }
        }

        impl std::fmt::Display for $enum {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl serde::Serialize for $enum {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $enum {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

kinds! {
    /// A framework kind, spelled in suites as `kind = "<name>"` (or the framework's name).
    /// Its adapter: `FrameworkKind::adapter` (`frameworks/mod.rs`).
    FrameworkKind, UnknownFramework, "framework kind" {
        /// The suite's own commands as steps.
        Command => "command",
        /// EZKL (Halo2), from PyPI.
        Ezkl => "ezkl",
        /// keras2circom / circomlib-ml with snarkjs Groth16, from npm.
        Circom => "circom",
        /// Daniel Kang's zkml (the user's own build).
        Zkml => "zkml",
        /// opML, a fraud proof (the user's own build).
        Opml => "opml",
        /// zkTorch (the user's own build).
        ZkTorch => "zktorch",
        /// DeepProve (the user's own build).
        DeepProve => "deepprove",
        /// Orion on stwo-cairo (the user's own checkouts).
        Orion => "orion",
    }
}

kinds! {
    /// Where a cell's steps run, spelled in suites as `runtimes = ["native", ...]` and on
    /// the command line as `--runtime <name>`. Its runtime: `runtime::for_cell`.
    RuntimeKind, UnknownRuntime, "runtime" {
        /// A process on the host.
        Native => "native",
        /// A container built from `images/<framework>/`.
        Docker => "docker",
        /// A host process whose `PATH` comes from the flake.
        Nix => "nix",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_parse_and_serde() {
        for (k, n) in FrameworkKind::ALL.iter().zip(FrameworkKind::NAMES) {
            assert_eq!(k.name(), *n);
            assert_eq!(n.parse::<FrameworkKind>().unwrap(), *k);
            let json = serde_json::to_string(k).unwrap();
            assert_eq!(json, format!("\"{n}\""));
            assert_eq!(serde_json::from_str::<FrameworkKind>(&json).unwrap(), *k);
        }
        for (k, n) in RuntimeKind::ALL.iter().zip(RuntimeKind::NAMES) {
            assert_eq!(k.name(), *n);
            assert_eq!(n.parse::<RuntimeKind>().unwrap(), *k);
            assert_eq!(serde_json::to_string(k).unwrap(), format!("\"{n}\""));
        }
        assert_eq!(FrameworkKind::ALL.len(), FrameworkKind::NAMES.len());
        assert_eq!(RuntimeKind::NAMES, ["native", "docker", "nix"]);
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let e = "ezk".parse::<FrameworkKind>().unwrap_err().to_string();
        assert!(e.contains("`ezk`") && e.contains("ezkl, circom"), "{e}");
        let e = "podman".parse::<RuntimeKind>().unwrap_err().to_string();
        assert!(e.contains("native, docker, nix"), "{e}");
        assert!(serde_json::from_str::<RuntimeKind>("\"podman\"").is_err());
    }
}
