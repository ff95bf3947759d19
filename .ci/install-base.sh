#!/usr/bin/env bash
# What the foundation's tests need: python3 (workloads), sh and setsid (process trees).
set -euo pipefail
missing=()
command -v python3 >/dev/null || missing+=(python3)
command -v setsid >/dev/null || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
python3 --version
