//! What the chart modules share: a chart or why it is not drawn, and the name of the
//! series a row belongs to.

use crate::report::charts::Chart;
use crate::report::labels::{Names, SEP};
use crate::report::view::{self, Row};
use crate::report::Loaded;

/// Bytes per MiB.
pub(super) const MIB: f64 = (1u64 << 20) as f64;

/// A chart of the report, or why it is not drawn.
#[derive(Debug)]
pub(super) enum Plot {
    Drawn(Chart),
    Omitted { title: String, why: String },
}

pub(super) fn plot(chart: Chart, why: impl Into<String>) -> Plot {
    if chart.is_empty() {
        Plot::Omitted {
            title: chart.title,
            why: why.into(),
        }
    } else {
        Plot::Drawn(chart)
    }
}

/// The series a row belongs to: its framework and settings, with the file and host when
/// there are several.
pub(super) fn group(files: &[Loaded], names: &Names, row: &Row) -> String {
    let mut parts = vec![view::framework_label(row.cell)];
    parts.extend(names.settings(row.cell));
    let mut name = parts.join(SEP);
    if files.len() > 1 {
        name = format!("{name} ({})", files[row.file].label);
    }
    name + &names.host_suffix(row)
}
