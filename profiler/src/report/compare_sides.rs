//! Who `compare` puts side by side: one side per (results file, host). A merged multi-host
//! file gives one side per machine; several single-host files one side per file; both mix.
//!
//! A side's label is what the user knows it by: the hostname (the host's short fingerprint
//! id when the hostname is missing or shared by two hosts), prefixed by the file's label when
//! several files are compared. `--baseline` and `--price` name a side by its label, its
//! hostname, its fingerprint id (or a prefix of at least 4 characters) or its file.

use super::view;
use super::Loaded;
use crate::results::{CellResult, Host};
use serde::Serialize;
use std::collections::BTreeMap;

/// One side of a comparison.
#[derive(Clone, Debug, Serialize)]
pub struct Side {
    /// Short name shown as a column header.
    pub label: String,
    pub hostname: String,
    pub host_id: String,
    /// The results file's label (its path as given).
    pub file: String,
    /// Price of the machine, US dollars per hour, when `--price` gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub price_usd_per_hour: Option<f64>,
    /// Index of the file among the inputs.
    #[serde(skip)]
    pub file_index: usize,
}

/// A side's cells by id (the first cell of an id on that host wins).
pub type SideCells<'a> = BTreeMap<&'a str, &'a CellResult>;

/// Why sides cannot be chosen as asked.
#[derive(Debug, thiserror::Error)]
pub enum SideError {
    #[error(
        "{flag} {given}: no host or file of the comparison is called that; the hosts are: {known}"
    )]
    Unknown {
        flag: &'static str,
        given: String,
        known: String,
    },
    #[error(
        "{flag} {given}: names several hosts ({matches}); give a longer fingerprint id or the file"
    )]
    Ambiguous {
        flag: &'static str,
        given: String,
        matches: String,
    },
    #[error("--price {given}: give HOST=USD_PER_HOUR with a positive, finite price, e.g. --price lab-a=1.20")]
    BadPrice { given: String },
    #[error("compare needs at least two hosts or files to put side by side; these inputs hold one host only")]
    OneSide,
}

/// The host of a file by fingerprint id (the file's own host when the id is unknown).
pub fn host_in<'a>(files: &'a [Loaded], file: usize, id: &str) -> &'a Host {
    let r = &files[file].results;
    r.other_hosts.get(id).unwrap_or(&r.host)
}

/// The sides of `files`: per file, its hosts in the order their cells first appear (the
/// file's own host first when it ran cells), each with its cells by id.
pub fn sides(files: &[Loaded]) -> (Vec<Side>, Vec<SideCells<'_>>) {
    let mut sides: Vec<Side> = Vec::new();
    let mut cells: Vec<SideCells> = Vec::new();
    for row in view::rows(files) {
        let id = view::host_id(&row);
        let k = match sides
            .iter()
            .position(|s| s.file_index == row.file && s.host_id == id)
        {
            Some(k) => k,
            None => {
                let h = view::host_of(&row);
                sides.push(Side {
                    label: String::new(),
                    hostname: h.hostname.clone(),
                    host_id: id.to_string(),
                    file: files[row.file].label.clone(),
                    price_usd_per_hour: None,
                    file_index: row.file,
                });
                cells.push(BTreeMap::new());
                sides.len() - 1
            }
        };
        cells[k].entry(row.cell.id.as_str()).or_insert(row.cell);
    }
    let short = |id: &str| id.chars().take(8).collect::<String>();
    let names: Vec<String> = sides
        .iter()
        .map(|s| {
            let shared = sides
                .iter()
                .filter(|o| o.hostname == s.hostname && o.host_id != s.host_id)
                .count()
                > 0;
            if s.hostname.is_empty() || shared {
                short(&s.host_id)
            } else {
                s.hostname.clone()
            }
        })
        .collect();
    let several_files = files.len() > 1;
    // A file by its name alone when that tells the files apart, else as given.
    let base_name = |label: &str| {
        std::path::Path::new(label)
            .file_name()
            .map_or(label.to_string(), |n| n.to_string_lossy().into_owned())
    };
    let names_distinct = {
        let all: std::collections::BTreeSet<String> =
            files.iter().map(|f| base_name(&f.label)).collect();
        all.len() == files.len()
    };
    let file_name = |label: &str| {
        if names_distinct {
            base_name(label)
        } else {
            label.to_string()
        }
    };
    let hosts_per_file = |f: usize| sides.iter().filter(|s| s.file_index == f).count();
    let labels: Vec<String> = sides
        .iter()
        .zip(&names)
        .map(
            |(s, n)| match (several_files, hosts_per_file(s.file_index) > 1) {
                (false, _) => n.clone(),
                (true, false) => file_name(&s.file),
                (true, true) => format!("{} @{n}", file_name(&s.file)),
            },
        )
        .collect();
    for (k, (s, l)) in sides.iter_mut().zip(labels.iter()).enumerate() {
        // The same file given twice: number the second.
        let before = labels[..k].iter().filter(|x| *x == l).count();
        s.label = if before == 0 {
            l.clone()
        } else {
            format!("{l} #{}", before + 1)
        };
    }
    (sides, cells)
}

/// The side `given` names (see the module doc).
pub fn find(sides: &[Side], given: &str, flag: &'static str) -> Result<usize, SideError> {
    let exact: Vec<usize> = (0..sides.len())
        .filter(|&i| {
            let s = &sides[i];
            s.label == given || s.hostname == given || s.host_id == given || s.file == given
        })
        .collect();
    let found = if exact.is_empty() && given.len() >= 4 {
        (0..sides.len())
            .filter(|&i| sides[i].host_id.starts_with(given))
            .collect()
    } else {
        exact
    };
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(SideError::Unknown {
            flag,
            given: given.to_string(),
            known: sides
                .iter()
                .map(|s| {
                    format!(
                        "{} ({})",
                        s.label,
                        s.host_id.chars().take(8).collect::<String>()
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        }),
        many => Err(SideError::Ambiguous {
            flag,
            given: given.to_string(),
            matches: many
                .iter()
                .map(|&i| sides[i].label.clone())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Applies `--price HOST=USD_PER_HOUR` arguments to the sides they name.
pub fn apply_prices(sides: &mut [Side], prices: &[String]) -> Result<(), SideError> {
    for p in prices {
        let bad = || SideError::BadPrice { given: p.clone() };
        let (host, usd) = p.rsplit_once('=').ok_or_else(bad)?;
        let usd: f64 = usd.trim().parse().map_err(|_| bad())?;
        if !(usd.is_finite() && usd > 0.0) || host.is_empty() {
            return Err(bad());
        }
        let k = find(sides, host, "--price")?;
        sides[k].price_usd_per_hour = Some(usd);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(label: &str, host: &str, id: &str) -> Side {
        Side {
            label: label.into(),
            hostname: host.into(),
            host_id: id.into(),
            file: "m.json".into(),
            price_usd_per_hour: None,
            file_index: 0,
        }
    }

    #[test]
    fn sides_are_found_by_name_id_or_prefix() {
        let s = [
            side("lab-a", "lab-a", "a1b2c3d4e5"),
            side("lab-b", "lab-b", "a1b2ffff00"),
        ];
        assert_eq!(find(&s, "lab-b", "--baseline").unwrap(), 1);
        assert_eq!(find(&s, "a1b2ff", "--baseline").unwrap(), 1);
        let e = find(&s, "a1b2", "--baseline").unwrap_err().to_string();
        assert!(e.contains("names several hosts"), "{e}");
        let e = find(&s, "lab-c", "--baseline").unwrap_err().to_string();
        assert!(
            e.contains("lab-a (a1b2c3d4)") && e.contains("--baseline lab-c"),
            "{e}"
        );
    }

    #[test]
    fn prices_need_a_host_and_a_positive_number() {
        let mut s = [side("lab-a", "lab-a", "a1b2c3d4e5")];
        apply_prices(&mut s, &["lab-a=1.5".into()]).unwrap();
        assert_eq!(s[0].price_usd_per_hour, Some(1.5));
        for bad in ["lab-a", "lab-a=-1", "lab-a=inf", "=2", "lab-a=x"] {
            let e = apply_prices(&mut s, &[bad.into()]).unwrap_err().to_string();
            assert!(e.contains("HOST=USD_PER_HOUR"), "{bad}: {e}");
        }
    }
}
