//! The crate's module structure, checked from its sources: the import rules that keep the
//! results schema standalone and the module graph free of loops.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `profiler/src`, with its top-level module (`results`, `suite`, ...).
fn sources() -> Vec<(PathBuf, String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(&root).expect("under src");
                let first = rel.components().next().expect("non-empty");
                let module = first
                    .as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_string();
                let text = std::fs::read_to_string(&path).expect("read source");
                out.push((rel.to_path_buf(), module, text));
            }
        }
    }
    out
}

/// The source without its test code: everything from the first `#[cfg(test)]` on, and
/// whole files that only hold tests (`tests.rs`, `*_tests.rs`).
fn production(rel: &Path, text: &str) -> Option<String> {
    let name = rel.file_name()?.to_string_lossy();
    if name == "tests.rs" || name.ends_with("_tests.rs") {
        return None;
    }
    let end = text.find("#[cfg(test)]").unwrap_or(text.len());
    Some(text[..end].to_string())
}

/// The top-level modules named by `crate::X` paths in `text` (line comments ignored).
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            // `crate::{a::X, b}` names several modules at once.
            let grouped = rest.starts_with('{');
            let group = if grouped {
                rest[1..].split('}').next().unwrap_or("")
            } else {
                rest
            };
            for item in group.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    refs.insert(name);
                }
                if !grouped {
                    break;
                }
            }
        }
    }
    refs
}

/// Top-level module -> the other top-level modules its production code names.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, module, text) in sources() {
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(code) = production(&rel, &text) else {
            continue;
        };
        let deps = g.entry(module.clone()).or_default();
        deps.extend(crate_refs(&code).into_iter().filter(|d| *d != module));
    }
    g
}

fn refs_of(prefix: &str) -> BTreeMap<PathBuf, BTreeSet<String>> {
    sources()
        .into_iter()
        .filter(|(_, m, _)| m == prefix)
        .filter_map(|(rel, _, text)| production(&rel, &text).map(|c| (rel, crate_refs(&c))))
        .collect()
}

#[test]
fn results_schema_imports_nothing_of_the_crate_but_units() {
    for (file, refs) in refs_of("results") {
        let other: Vec<_> = refs
            .iter()
            .filter(|r| *r != "results" && *r != "units")
            .collect();
        assert!(other.is_empty(), "src/{} imports {other:?}", file.display());
    }
}

#[test]
fn model_does_not_import_suite_and_commands_do_not_import_cli() {
    for (module, banned) in [("model", "suite"), ("commands", "cli"), ("data", "suite")] {
        for (file, refs) in refs_of(module) {
            assert!(
                !refs.contains(banned),
                "src/{} imports crate::{banned}",
                file.display()
            );
        }
    }
}

#[test]
fn no_import_loops_between_top_level_modules() {
    let g = graph();
    // Depth-first search for a back edge; report the loop it closes.
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut lp = path[i..].to_vec();
            lp.push(n.to_string());
            return Some(lp);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for d in g.get(n).into_iter().flatten() {
            if let Some(lp) = visit(d, g, path, done) {
                return Some(lp);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in g.keys() {
        if let Some(lp) = visit(n, &g, &mut Vec::new(), &mut done) {
            panic!("import loop: {}", lp.join(" -> "));
        }
    }
}

#[test]
fn no_source_file_is_over_600_lines() {
    let long: Vec<_> = sources()
        .into_iter()
        .map(|(rel, _, text)| (rel, text.lines().count()))
        .filter(|(_, n)| *n > 600)
        .collect();
    assert!(long.is_empty(), "files over 600 lines: {long:?}");
}

#[test]
fn kinds_are_enums_not_strings() {
    // Framework and runtime kinds are `kinds::{FrameworkKind, RuntimeKind}`: comparing
    // against their names or keeping a list of them by hand would bypass the compiler.
    for (rel, _, text) in sources() {
        let Some(code) = production(&rel, &text) else {
            continue;
        };
        for needle in [
            "FRAMEWORK_KINDS",
            "== \"command\"",
            "== \"docker\"",
            "== \"native\"",
        ] {
            assert!(
                !code.contains(needle),
                "src/{} contains {needle}",
                rel.display()
            );
        }
    }
}
