#!/usr/bin/env bash
# Prerequisites of the EZKL and circom adapters' tests: Python 3 with venv, Node.js >= 18 with npm.
# zkprof itself installs the pinned frameworks (pip into a venv, npm ci) into its cache on
# first use; this script only makes sure the interpreters exist. Idempotent; fails loudly.
set -euo pipefail

need_apt=()
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    need_apt+=(python3 python3-venv python3-pip)
fi
node_major() { node -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }
if ! command -v node >/dev/null 2>&1 || [ "$(node_major)" -lt 18 ]; then
    need_apt+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1; then
    need_apt+=(npm)
fi

if [ ${#need_apt[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install-frameworks: missing ${need_apt[*]} and no apt-get; install Python 3 (venv) and Node.js >= 18 (npm) by hand" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    for i in 1 2 3 4 5; do
        if apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null; then
            break
        fi
        [ "$i" = 5 ] && { echo "install-frameworks: apt-get install ${need_apt[*]} failed" >&2; exit 1; }
        sleep 10   # another process may hold the apt lock
    done
fi

python3 -c 'import venv, ensurepip' || { echo "install-frameworks: python3 lacks venv/ensurepip" >&2; exit 1; }
[ "$(node_major)" -ge 18 ] || { echo "install-frameworks: node >= 18 is required, found $(node --version 2>&1)" >&2; exit 1; }
npm --version >/dev/null || { echo "install-frameworks: npm does not run" >&2; exit 1; }
