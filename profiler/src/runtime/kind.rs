//! The runtime kinds this build knows.

/// Where a cell's steps run, spelled in suites as `runtimes = ["native", ...]` and on the
/// command line as `--runtime <name>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuntimeKind {
    /// `native`: a process on the host.
    Native,
    /// `docker`: a container built from `images/<framework>/`.
    Docker,
    /// `nix`: a host process whose `PATH` comes from the flake.
    Nix,
}

impl RuntimeKind {
    /// Every runtime, in the order `list` and `doctor` show them.
    pub const ALL: &'static [RuntimeKind] =
        &[RuntimeKind::Native, RuntimeKind::Docker, RuntimeKind::Nix];
    /// The names suites use, in the order of [`Self::ALL`].
    pub const NAMES: &'static [&'static str] = &["native", "docker", "nix"];

    /// The name suites and results use (`native`).
    pub fn name(self) -> &'static str {
        match self {
            RuntimeKind::Native => "native",
            RuntimeKind::Docker => "docker",
            RuntimeKind::Nix => "nix",
        }
    }

    /// The runtime named `name`, if this build knows it.
    pub fn from_name(name: &str) -> Option<RuntimeKind> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }
}

/// An unknown runtime; the message lists the valid ones.
#[derive(Debug, thiserror::Error)]
#[error("unknown runtime `{0}`; known runtimes: {names}", names = RuntimeKind::NAMES.join(", "))]
pub struct UnknownRuntime(pub String);

impl std::str::FromStr for RuntimeKind {
    type Err = UnknownRuntime;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or_else(|| UnknownRuntime(s.to_string()))
    }
}

impl std::fmt::Display for RuntimeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for RuntimeKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for RuntimeKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(RuntimeKind::ALL.len(), RuntimeKind::NAMES.len());
        for (k, n) in RuntimeKind::ALL.iter().zip(RuntimeKind::NAMES) {
            assert_eq!(k.name(), *n);
            assert_eq!(n.parse::<RuntimeKind>().unwrap(), *k);
            assert_eq!(serde_json::to_string(k).unwrap(), format!("\"{n}\""));
        }
        let e = "podman".parse::<RuntimeKind>().unwrap_err().to_string();
        assert!(e.contains("native, docker, nix"), "{e}");
    }
}
