//! The framework kinds this build knows: the registry of adapters.
//!
//! Adding an adapter: a new file (the adapter, implementing [`Framework`]), its `pub mod`
//! line in `frameworks/mod.rs`, and one line in the `registry!` below (variant, the name
//! suites spell, the adapter value). The compiler then finds every place that must know.

use super::Framework;

/// Generates [`FrameworkKind`] with its names and adapters from one list.
macro_rules! registry {
    ($($variant:ident => $name:literal => $adapter:expr,)+) => {
        /// A framework kind, spelled in suites as `kind = "<name>"` (or the framework's name).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum FrameworkKind {
            $(#[doc = concat!("`", $name, "`")] $variant,)+
        }

        impl FrameworkKind {
            /// Every kind, in the order `list` and `doctor` show them.
            pub const ALL: &'static [FrameworkKind] = &[$(FrameworkKind::$variant,)+];
            /// The names suites use, in the order of [`Self::ALL`].
            pub const NAMES: &'static [&'static str] = &[$($name,)+];

            /// The name suites and results use (`ezkl`).
            pub fn name(self) -> &'static str {
                match self {
                    $(FrameworkKind::$variant => $name,)+
                }
            }

            /// The adapter for this kind (stateless; `provision` returns the cell's state).
            pub fn adapter(self) -> Box<dyn Framework> {
                match self {
                    $(FrameworkKind::$variant => Box::new($adapter),)+
                }
            }
        }
    };
}

registry! {
    Command => "command" => super::command::CommandFramework,
    Ezkl => "ezkl" => super::ezkl::Ezkl,
    Circom => "circom" => super::circom::Circom,
    Zkml => "zkml" => super::zkml::Zkml,
    Opml => "opml" => super::opml::Opml,
    ZkTorch => "zktorch" => super::zktorch::ZkTorch,
    DeepProve => "deepprove" => super::deepprove::DeepProve,
    Orion => "orion" => super::orion::Orion,
}

impl FrameworkKind {
    /// The kind named `name`, if this build knows it.
    pub fn from_name(name: &str) -> Option<FrameworkKind> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }
}

/// An unknown framework kind; the message lists the valid ones.
#[derive(Debug, thiserror::Error)]
#[error("unknown framework kind `{0}`; valid kinds: {names}", names = FrameworkKind::NAMES.join(", "))]
pub struct UnknownKind(pub String);

impl std::str::FromStr for FrameworkKind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or_else(|| UnknownKind(s.to_string()))
    }
}

impl std::fmt::Display for FrameworkKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for FrameworkKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for FrameworkKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_adapters_agree() {
        assert_eq!(FrameworkKind::ALL.len(), FrameworkKind::NAMES.len());
        for (k, n) in FrameworkKind::ALL.iter().zip(FrameworkKind::NAMES) {
            assert_eq!(k.name(), *n);
            assert_eq!(n.parse::<FrameworkKind>().unwrap(), *k);
            assert_eq!(k.adapter().kind(), *k, "{n}");
            let json = serde_json::to_string(k).unwrap();
            assert_eq!(json, format!("\"{n}\""));
            assert_eq!(serde_json::from_str::<FrameworkKind>(&json).unwrap(), *k);
        }
    }

    #[test]
    fn unknown_kind_lists_the_valid_ones() {
        let e = "ezk".parse::<FrameworkKind>().unwrap_err().to_string();
        assert!(e.contains("`ezk`") && e.contains("ezkl, circom"), "{e}");
    }
}
