#!/usr/bin/env python3
"""Builds the job matrix of .github/workflows/bench.yml: frameworks x shards x runners.

Usage: bench-matrix.py SUITE [--shards N] [--frameworks a,b] [--runners JSON] [--github-output FILE]

--runners is a JSON object, runner name -> where its jobs run:
  {"x64": "ubuntu-24.04"}                                      a label
  {"big-cpu": ["self-hosted", "linux", "x64", "big-cpu"]}     all of these labels
  {"gpu": {"runs-on": ["self-hosted", "gpu"], "shards": 1, "frameworks": ["ezkl"]}}
A runner name names its jobs and artifacts (letters, digits and '-'). The object form
may set its own shard count and framework subset. Empty: DEFAULT_RUNNERS, one GitHub-hosted
x86-64 and one arm64 runner (bench.yml's default too).

Prints the matrix and the runner names as JSON; with --github-output (or $GITHUB_OUTPUT)
appends `matrix=...` and `runners=...` lines for the workflow. Standard library only
(Python 3.11+ for tomllib). Exits 2 with a message on bad input.
"""

import argparse
import json
import os
import re
import sys
import tomllib

# GitHub refuses a matrix of more than 256 jobs.
MAX_JOBS = 256
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")
DEFAULT_RUNNERS = '{"x64": "ubuntu-24.04", "arm64": "ubuntu-24.04-arm"}'


def fail(message):
    print(f"bench-matrix: {message}", file=sys.stderr)
    sys.exit(2)


def slug(text):
    """A framework name made safe for artifact names."""
    s = re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-")
    return s or "framework"


def suite_frameworks(path):
    try:
        with open(path, "rb") as f:
            suite = tomllib.load(f)
    except OSError as e:
        fail(f"cannot read suite {path}: {e}")
    except tomllib.TOMLDecodeError as e:
        fail(f"{path}: not valid TOML: {e}")
    frameworks = suite.get("framework", [])
    if not isinstance(frameworks, list) or not frameworks:
        fail(f"{path}: the suite has no [[framework]]")
    out = []
    for fw in frameworks:
        name = fw.get("name") if isinstance(fw, dict) else None
        if not isinstance(name, str) or not name:
            fail(f"{path}: a [[framework]] has no name")
        out.append((name, fw.get("kind", name)))
    return out


def positive_int(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        fail(f"{what}: expected a whole number of at least 1, got {value!r}")
    try:
        n = int(value)
    except ValueError:
        fail(f"{what}: expected a whole number of at least 1, got {value!r}")
    if n < 1:
        fail(f"{what}: expected a whole number of at least 1, got {value!r}")
    return n


def labels(value, what):
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, list) and value and all(isinstance(x, str) and x.strip() for x in value):
        return [x.strip() for x in value]
    fail(f"{what}: expected a runner label or a non-empty list of labels, got {value!r}")


def parse_runners(text, default_shards, known):
    try:
        runners = json.loads(text)
    except json.JSONDecodeError as e:
        fail(f"--runners: not valid JSON ({e}); e.g. {{\"x64\": \"ubuntu-24.04\"}}")
    if not isinstance(runners, dict) or not runners:
        fail("--runners: expected a JSON object of runner name -> labels, e.g. {\"x64\": \"ubuntu-24.04\"}")
    out = []
    for name, spec in runners.items():
        if not NAME_RE.match(name):
            fail(f"--runners: runner name {name!r} may hold only letters, digits and '-'")
        shards, only = default_shards, None
        if isinstance(spec, dict):
            unknown = set(spec) - {"runs-on", "shards", "frameworks"}
            if unknown:
                fail(f"--runners.{name}: unknown key(s) {sorted(unknown)}; valid keys: runs-on, shards, frameworks")
            runs_on = labels(spec.get("runs-on"), f"--runners.{name}.runs-on")
            if "shards" in spec:
                shards = positive_int(spec["shards"], f"--runners.{name}.shards")
            if "frameworks" in spec:
                only = spec["frameworks"]
                if not isinstance(only, list) or not all(isinstance(x, str) for x in only):
                    fail(f"--runners.{name}.frameworks: expected a list of framework names")
                for f in only:
                    if f not in known:
                        fail(f"--runners.{name}.frameworks: `{f}` is not in the suite; its frameworks: {', '.join(known)}")
        else:
            runs_on = labels(spec, f"--runners.{name}")
        out.append((name, runs_on, shards, only))
    return out


def main(argv):
    p = argparse.ArgumentParser(description="Build the bench.yml job matrix.")
    p.add_argument("suite")
    p.add_argument("--shards", default="1")
    p.add_argument("--frameworks", default="", help="comma-separated framework names; empty: all")
    p.add_argument("--runners", default="", help=f"JSON; empty: {DEFAULT_RUNNERS}")
    p.add_argument("--github-output", default=os.environ.get("GITHUB_OUTPUT"))
    a = p.parse_args(argv)

    frameworks = suite_frameworks(a.suite)
    known = [n for n, _ in frameworks]
    wanted = [f.strip() for f in a.frameworks.split(",") if f.strip()]
    for f in wanted:
        if f not in known:
            fail(f"--frameworks: `{f}` is not in {a.suite}; its frameworks: {', '.join(known)}")
    if wanted:
        frameworks = [(n, k) for n, k in frameworks if n in wanted]
    shards = positive_int(a.shards, "--shards")
    runners = parse_runners(a.runners.strip() or DEFAULT_RUNNERS, shards, known)

    include = []
    for runner, runs_on, n, only in runners:
        for name, kind in frameworks:
            if only is not None and name not in only:
                continue
            for i in range(1, n + 1):
                include.append(
                    {
                        "runner": runner,
                        "runs_on": runs_on,
                        "framework": name,
                        "kind": kind,
                        "slug": slug(name),
                        "shard": i,
                        "shards": n,
                    }
                )
    if not include:
        fail("the matrix is empty: no framework of the suite is left for any runner")
    if len(include) > MAX_JOBS:
        fail(f"the matrix has {len(include)} jobs; GitHub allows {MAX_JOBS}: use fewer shards, frameworks or runners")
    matrix = json.dumps({"include": include}, separators=(",", ":"))
    names = json.dumps([r[0] for r in runners], separators=(",", ":"))
    if a.github_output:
        with open(a.github_output, "a", encoding="utf-8") as out:
            out.write(f"matrix={matrix}\n")
            out.write(f"runners={names}\n")
    print(f"{len(include)} job(s); runners: {names}", file=sys.stderr)
    print(json.dumps({"include": include}, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
