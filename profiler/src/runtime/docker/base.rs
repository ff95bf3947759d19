//! The local base image, made without a registry: `debootstrap --variant=minbase` from a
//! Debian mirror, then an import of the root file system's tar through the engine.

use super::engine::Engine;
use crate::runtime::RuntimeError;
use bollard::query_parameters::CreateImageOptionsBuilder;
use futures_util::StreamExt;
use std::path::Path;

/// Makes the local base image without a registry: `debootstrap --variant=minbase` from a
/// Debian mirror into `rootfs`, then an import of its tar as `tag`. Returns the image id.
/// Needs root (debootstrap) and the `debootstrap` and `tar` programs.
pub fn make_base(
    engine: &Engine,
    tag: &str,
    suite: &str,
    mirror: &str,
    rootfs: &Path,
) -> Result<String, RuntimeError> {
    let fail = |m: String| RuntimeError::Provision(m);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(fail(
            "making a base image runs debootstrap, which needs root; run `sudo zkprof images base`"
                .into(),
        ));
    }
    if rootfs.exists() {
        std::fs::remove_dir_all(rootfs)
            .map_err(|e| fail(format!("cannot clear {}: {e}", rootfs.display())))?;
    }
    if let Some(parent) = rootfs.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| fail(format!("cannot create {}: {e}", parent.display())))?;
    }
    let out = std::process::Command::new("debootstrap")
        .args(["--variant=minbase", suite])
        .arg(rootfs)
        .arg(mirror)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => fail(
                "`debootstrap` is not installed; install it (apt-get install debootstrap)".into(),
            ),
            _ => fail(format!("cannot run debootstrap: {e}")),
        })?;
    if !out.status.success() {
        let tail = crate::runtime::last_lines(&out.stderr, 15);
        return Err(fail(format!(
            "debootstrap {suite} from {mirror} failed:\n{}",
            tail.join("\n")
        )));
    }
    // Downloaded packages are not part of the image.
    if let Ok(rd) = std::fs::read_dir(rootfs.join("var/cache/apt/archives")) {
        for e in rd
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "deb"))
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let mut child = std::process::Command::new("tar")
        .arg("-C")
        .arg(rootfs)
        .args(["--numeric-owner", "-c", "."])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot run tar: {e}")))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| fail("tar has no stdout".into()))?;
    let chunks = ReadChunks(stdout);
    let (repo, tag_part) = tag.rsplit_once(':').unwrap_or((tag, "latest"));
    let opts = CreateImageOptionsBuilder::default()
        .from_src("-")
        .repo(repo)
        .tag(tag_part)
        .build();
    let imported: Result<(), String> = engine.block_on(async {
        let body = bollard::body_stream(futures_util::stream::iter(chunks));
        let mut s = engine.docker.create_image(Some(opts), Some(body), None);
        while let Some(item) = s.next().await {
            item.map_err(|e| e.to_string())?;
        }
        Ok(())
    });
    let status = child.wait().map_err(|e| fail(format!("tar: {e}")))?;
    imported.map_err(|e| {
        fail(format!(
            "importing {} as {tag} failed: {e}",
            rootfs.display()
        ))
    })?;
    if !status.success() {
        return Err(fail(format!(
            "tar of {} failed ({status})",
            rootfs.display()
        )));
    }
    engine
        .block_on(engine.docker.inspect_image(tag))
        .map(|i| i.id.unwrap_or_default())
        .map_err(|e| fail(format!("imported {tag} but cannot inspect it: {e}")))
}

/// A reader as an iterator of 1 MiB chunks (ends at EOF or the first error).
struct ReadChunks<R>(R);

impl<R: std::io::Read> Iterator for ReadChunks<R> {
    type Item = bytes::Bytes;
    fn next(&mut self) -> Option<bytes::Bytes> {
        let mut buf = vec![0u8; 1 << 20];
        match self.0.read(&mut buf) {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                buf.truncate(n);
                Some(bytes::Bytes::from(buf))
            }
        }
    }
}
