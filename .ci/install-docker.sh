#!/usr/bin/env bash
# Installs what the docker/nix runtime tests need, idempotently:
#   docker.io + debootstrap + nix-bin (apt), a dockerd started by hand (no registry needed),
#   and the local base image zkprof/base:bookworm (debootstrap minbase + import).
# Afterwards: export DOCKER_HOST=unix:///tmp/zkprof-docker/docker.sock (printed at the end).
# Quiet unless something fails; prints how long each part took.
set -euo pipefail

STATE=${ZKPROF_DOCKER_STATE:-/tmp/zkprof-docker}
SOCK="$STATE/docker.sock"
BASE_TAG=zkprof/base:bookworm
MIRROR=${ZKPROF_DEBIAN_MIRROR:-http://deb.debian.org/debian}
export DOCKER_HOST="unix://$SOCK"

t0=$(date +%s)
since() { echo "$(( $(date +%s) - $1 )) s"; }
fail() { echo "install-docker: $*" >&2; exit 1; }

# 1. Packages (apt may be locked by another process for a while: retry).
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v nix-instantiate >/dev/null || need+=(nix-bin)
if ((${#need[@]})); then
  t=$(date +%s)
  for i in 1 2 3 4 5 6; do
    if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"; } \
        >"$STATE.apt.log" 2>&1; then break; fi
    [ "$i" = 6 ] && { cat "$STATE.apt.log" >&2; fail "apt-get install ${need[*]} failed"; }
    sleep 10
  done
  echo "install-docker: apt-get install ${need[*]}: $(since "$t")"
fi

# 2. dockerd (reuse one already answering on the socket).
ping() { curl -sf --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1; }
if ! ping; then
  t=$(date +%s)
  mkdir -p "$STATE/data" "$STATE/exec"
  rm -f "$SOCK"
  nohup dockerd --data-root "$STATE/data" --exec-root "$STATE/exec" --pidfile "$STATE/dockerd.pid" \
    -H "unix://$SOCK" --storage-driver overlay2 --iptables=false --ip6tables=false --bridge=none \
    >"$STATE/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do ping && break; sleep 0.5; done
  ping || { tail -20 "$STATE/dockerd.log" >&2; fail "dockerd did not come up (log: $STATE/dockerd.log)"; }
  echo "install-docker: dockerd started: $(since "$t")"
fi

# The default socket path, so tools that ignore DOCKER_HOST find this daemon too.
if [ ! -e /var/run/docker.sock ]; then
  ln -s "$SOCK" /var/run/docker.sock && echo "install-docker: /var/run/docker.sock -> $SOCK"
fi

# 3. The base image, without a registry.
if ! docker image inspect "$BASE_TAG" >/dev/null 2>&1; then
  t=$(date +%s)
  rootfs="$STATE/rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$STATE/debootstrap.log" 2>&1 \
    || { tail -20 "$STATE/debootstrap.log" >&2; fail "debootstrap failed (log: $STATE/debootstrap.log)"; }
  rm -f "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" --numeric-owner -c . | docker import - "$BASE_TAG" >/dev/null \
    || fail "docker import of $rootfs failed"
  rm -rf "$rootfs"
  echo "install-docker: base image $BASE_TAG made: $(since "$t")"
fi

echo "install-docker: ready in $(since "$t0"); export DOCKER_HOST=$DOCKER_HOST"
