//! The flake, checked offline: it parses (`nix-instantiate --parse`), its lock pins nixpkgs
//! by revision and hash, and it pins the same EZKL wheel and npm lock as the Docker images.

use crate::support::{docker_required, in_ci, repo};
use std::path::Path;
use std::process::Command;

/// `nix-instantiate --parse FILE`, or `None` when nix is not installed (skip, or fail in CI).
fn parse(file: &Path) -> Option<std::process::Output> {
    match Command::new("nix-instantiate")
        .arg("--parse")
        .arg(file)
        .output()
    {
        Ok(o) => Some(o),
        Err(e) => {
            let why = format!("nix-instantiate not runnable ({e}); install nix-bin");
            if in_ci() || docker_required() {
                panic!("{why}");
            }
            eprintln!("skipping the flake parse check: {why}");
            None
        }
    }
}

#[test]
fn flake_parses_offline_and_a_broken_one_does_not() {
    let Some(ok) = parse(&repo().join("flake.nix")) else {
        return;
    };
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo().join("flake.nix")).unwrap();
    let broken = dir.path().join("flake.nix");
    std::fs::write(&broken, text.replacen("outputs =", "outputs = = ", 1)).unwrap();
    let bad = parse(&broken).unwrap();
    assert!(!bad.status.success(), "a syntax error must be caught");
}

#[test]
fn flake_lock_pins_nixpkgs_by_revision_and_hash() {
    let lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(repo().join("flake.lock")).unwrap()).unwrap();
    let locked = &lock["nodes"]["nixpkgs"]["locked"];
    let rev = locked["rev"].as_str().unwrap();
    assert!(
        rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit()),
        "{rev}"
    );
    assert!(locked["narHash"].as_str().unwrap().starts_with("sha256-"));
    assert_eq!(lock["nodes"]["root"]["inputs"]["nixpkgs"], "nixpkgs");
}

#[test]
fn flake_and_images_pin_the_same_framework_versions() {
    let flake = std::fs::read_to_string(repo().join("flake.nix")).unwrap();
    let req = std::fs::read_to_string(repo().join("images/ezkl/requirements.lock")).unwrap();
    let hash = req
        .split("--hash=sha256:")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    assert!(
        flake.contains(&format!("sha256 = \"{hash}\"")),
        "the flake's EZKL wheel hash is {hash}"
    );
    let version = req
        .lines()
        .find_map(|l| l.trim().strip_prefix("ezkl=="))
        .unwrap();
    let version = version.split_whitespace().next().unwrap();
    assert!(flake.contains(&format!("version = \"{version}\"")));
    assert!(
        flake.contains("npmRoot = ./images/circom;"),
        "the flake reads the image's npm lock"
    );
}
