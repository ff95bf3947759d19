//! Whether a sensor (or a runtime, or a framework) works on the host, and why not.

use serde::{Deserialize, Serialize};

/// Whether a sensor works on this host, and why not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SensorStatus {
    pub name: String,
    pub available: bool,
    /// Why it is unavailable (or a caveat when it is available), in words a user can act on.
    #[serde(default)]
    pub reason: Option<String>,
}

impl SensorStatus {
    /// A working sensor.
    pub fn available(name: &str) -> SensorStatus {
        SensorStatus {
            name: name.into(),
            available: true,
            reason: None,
        }
    }

    /// A working sensor with a caveat.
    pub fn available_with(name: &str, note: impl Into<String>) -> SensorStatus {
        SensorStatus {
            name: name.into(),
            available: true,
            reason: Some(note.into()),
        }
    }

    /// A sensor that cannot work here, and why.
    pub fn unavailable(name: &str, reason: impl Into<String>) -> SensorStatus {
        SensorStatus {
            name: name.into(),
            available: false,
            reason: Some(reason.into()),
        }
    }
}
