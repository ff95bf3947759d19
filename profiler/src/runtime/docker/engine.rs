//! The connection to a container engine (Docker, or Podman's Docker-compatible socket):
//! where to find it, the API version agreed with it, and the async runtime bollard needs.

use crate::runtime::RuntimeError;
use bollard::Docker;
use std::path::PathBuf;

/// A connection to a container engine, with the async runtime its client needs.
pub struct Engine {
    pub docker: Docker,
    rt: tokio::runtime::Runtime,
    /// Where it was reached (`unix:///var/run/docker.sock`, ...).
    pub address: String,
    /// The API version agreed with the daemon.
    pub api_version: String,
    /// The daemon's version string.
    pub server_version: String,
    /// `cgroupfs` or `systemd`.
    pub cgroup_driver: String,
}

/// The engine address to try: `$DOCKER_HOST`, else the first socket that exists among
/// Docker's and Podman's defaults, else Docker's default (for the error message).
pub fn engine_address() -> String {
    if let Some(h) = std::env::var_os("DOCKER_HOST").filter(|v| !v.is_empty()) {
        return h.to_string_lossy().into_owned();
    }
    let mut candidates = vec![PathBuf::from("/var/run/docker.sock")];
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR") {
        candidates.push(PathBuf::from(dir).join("podman/podman.sock"));
    }
    candidates.push(PathBuf::from("/run/podman/podman.sock"));
    candidates
        .iter()
        .find(|p| p.exists())
        .map(|p| format!("unix://{}", p.display()))
        .unwrap_or_else(|| "unix:///var/run/docker.sock".into())
}

impl Engine {
    /// Connects, checks the daemon answers, and negotiates the API version.
    pub fn connect() -> Result<Engine, RuntimeError> {
        let address = engine_address();
        let unreachable = |why: String| {
            RuntimeError::Unavailable(format!("docker daemon not reachable at {address}; start it or use --runtime native ({why})"))
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| unreachable(format!("cannot start the async runtime: {e}")))?;
        // Builds and long steps stream for a long time: a generous request timeout (s).
        let timeout = 24 * 3600;
        let docker = if address.starts_with("unix://") || address.starts_with('/') {
            Docker::connect_with_unix(&address, timeout, bollard::API_DEFAULT_VERSION)
        } else {
            Docker::connect_with_http(&address, timeout, bollard::API_DEFAULT_VERSION)
        }
        .map_err(|e| unreachable(e.to_string()))?;
        let docker = rt.block_on(async {
            docker.ping().await?;
            docker.negotiate_version().await
        });
        let docker = docker.map_err(|e| unreachable(e.to_string()))?;
        let info = rt
            .block_on(docker.info())
            .map_err(|e| unreachable(e.to_string()))?;
        let cgroup_driver = info
            .cgroup_driver
            .map(|d| d.to_string())
            .unwrap_or_else(|| "cgroupfs".into());
        Ok(Engine {
            api_version: docker.client_version().to_string(),
            server_version: info.server_version.unwrap_or_default(),
            docker,
            rt,
            address,
            cgroup_driver,
        })
    }

    /// Runs a future of the client to completion.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_host_wins() {
        // Reading only: DOCKER_HOST, when set by the environment, is used as is.
        if let Some(h) = std::env::var_os("DOCKER_HOST").filter(|v| !v.is_empty()) {
            assert_eq!(engine_address(), h.to_string_lossy());
        } else {
            assert!(engine_address().starts_with("unix://"));
        }
    }
}
