#!/usr/bin/env bash
# Installs what the report tests need: Debian's chromium (headless HTML checks) and python3
# (regenerating report fixtures with profiler/tests/fixtures/reports/make.sh; not needed
# by the tests themselves). Idempotent and quiet; fails loudly.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
# Another process may hold the apt lock: retry for a while.
for attempt in 1 2 3 4 5 6; do
    if $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; then
        break
    fi
    if [ "$attempt" -eq 6 ]; then
        echo "install-reports: apt-get install ${need[*]} failed" >&2
        exit 1
    fi
    sleep 10
done
command -v chromium >/dev/null || { echo "install-reports: chromium still missing after install" >&2; exit 1; }
chromium --version >/dev/null 2>&1 || { echo "install-reports: chromium does not start" >&2; exit 1; }
