"""zkprof's EZKL steps: one subcommand per measured step, run by the venv's Python.

Written into zkprof's cache by zkprof itself; each step is its own process so that
zkprof measures it alone. Errors go to stderr with a non-zero exit code.

Works with EZKL 7.1.4 (the 2024 benchmark's) and 23.x: the Python API differs between them
only in what `call` and `ezkl_version` absorb (coroutines, `__version__`).
"""
import argparse
import asyncio
import hashlib
import inspect
import json
import logging
import os
import sys
import time

import ezkl


def ezkl_version():
    """The installed EZKL's version (7.x has no `ezkl.__version__`)."""
    v = getattr(ezkl, "__version__", None)
    if v:
        return v
    from importlib import metadata

    return metadata.version("ezkl")


def call(f, *args, timeout=None, **kwargs):
    """`f(*args, **kwargs)` for an EZKL function, awaited where this version makes it a coroutine.

    Which functions return an awaitable differs between versions (23.x: `get_srs`; 7.1.4: none),
    and an awaitable one must be called inside a running event loop, so every call goes
    through one. `timeout` (seconds) only bounds awaitables: a blocking call cannot be cut short.
    """

    async def run():
        r = f(*args, **kwargs)
        if inspect.isawaitable(r):
            r = await asyncio.wait_for(r, timeout)
        return r

    return asyncio.run(run())


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cmd_compile(a):
    ra = ezkl.PyRunArgs()
    ra.input_visibility = a.input_visibility
    ra.param_visibility = a.param_visibility
    ra.output_visibility = a.output_visibility
    if not call(ezkl.gen_settings, a.model, a.settings, py_run_args=ra):
        sys.exit("ezkl.gen_settings returned False")
    scales = [int(s) for s in a.scales.split(",")] if a.scales else None
    if a.target != "none":
        call(ezkl.calibrate_settings, a.calibration, a.model, a.settings, a.target, scales=scales)
    if not call(ezkl.compile_circuit, a.model, a.compiled, a.settings):
        sys.exit("ezkl.compile_circuit returned False")


def srs_for(a, logrows):
    """The SRS file for `logrows` in the shared SRS directory, made if missing or corrupt."""
    d = os.path.join(a.srs_dir, "k%d" % logrows)
    path = os.path.join(d, "kzg.srs")
    manifest = os.path.join(d, "zkprof-cache.json")
    if os.path.exists(manifest):
        try:
            with open(manifest) as f:
                m = json.load(f)
            if sha256(path) == m["files"]["kzg.srs"]["sha256"]:
                return path, m["meta"]["label"]
            print("cached SRS %s does not match its hash; making it again" % path, file=sys.stderr)
        except (OSError, KeyError, ValueError) as e:
            print("cached SRS %s unreadable (%s); making it again" % (path, e), file=sys.stderr)
    os.makedirs(d, exist_ok=True)
    for p in (manifest, path):
        if os.path.exists(p):
            os.remove(p)
    label = None
    if a.srs_mode in ("auto", "public"):
        try:
            # 23.x: a coroutine, bounded here; 7.1.4: a blocking call (its own network timeouts).
            got = call(ezkl.get_srs, settings_path=None, logrows=logrows, srs_path=path, timeout=60)
            if got and os.path.exists(path):
                label = "public SRS (ezkl.get_srs, k=%d, sha256 %s)" % (logrows, sha256(path))
        except Exception as e:  # offline, or the download failed
            if a.srs_mode == "public":
                sys.exit("the public SRS could not be downloaded: %s" % e)
            print("public SRS unavailable (%s); generating a test SRS" % e, file=sys.stderr)
    if label is None:
        ezkl.gen_srs(path, logrows)
        label = "test SRS (insecure): ezkl.gen_srs k=%d" % logrows
    m = {
        "framework": "ezkl-srs",
        "version": ezkl_version(),
        "model_sha256": "",
        "settings": {"logrows": logrows},
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": {"kzg.srs": {"sha256": sha256(path), "bytes": os.path.getsize(path)}},
        "meta": {"label": label},
    }
    with open(manifest + ".tmp", "w") as f:
        json.dump(m, f, indent=2)
    os.replace(manifest + ".tmp", manifest)
    return path, label


def cmd_srs(a):
    """Provisioning before the setup step (unmeasured): the SRS for the settings' logrows."""
    with open(a.settings) as f:
        logrows = json.load(f)["run_args"]["logrows"]
    print(srs_for(a, logrows)[1])


def cmd_setup(a):
    with open(a.settings) as f:
        logrows = json.load(f)["run_args"]["logrows"]
    srs, label = srs_for(a, logrows)
    if os.path.lexists(a.srs_link):
        os.remove(a.srs_link)
    # Relative, so the cache works wherever it is mounted (e.g. inside a step container).
    os.symlink(os.path.relpath(srs, os.path.dirname(os.path.abspath(a.srs_link))), a.srs_link)
    with open(a.srs_label, "w") as f:
        f.write(label)
    if not call(ezkl.setup, a.compiled, a.vk, a.pk, srs_path=srs):
        sys.exit("ezkl.setup returned False")


def cmd_witness(a):
    call(ezkl.gen_witness, a.data, a.compiled, a.out)


def seconds_since_process_start():
    """Seconds since this process started (from /proc; None elsewhere)."""
    try:
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def cmd_prove(a):
    # EZKL logs "proof took <seconds>" at INFO through Python's logging; zkprof compares
    # it with its own wall time, less the interpreter's start-up printed here.
    startup = seconds_since_process_start()
    if startup is not None:
        print("zkprof: started in %.3f" % startup, file=sys.stderr)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s", stream=sys.stderr)
    call(ezkl.prove, a.witness, a.compiled, a.pk, a.proof, srs_path=a.srs)


def cmd_verify(a):
    try:
        ok = call(ezkl.verify, a.proof, a.settings, a.vk, srs_path=a.srs)
    except Exception as e:
        sys.exit("verification failed: %s" % e)
    if not ok:
        sys.exit("verification failed: ezkl.verify returned False")
    print("verified")


def cmd_outputs(a):
    """Circuit outputs (rescaled floats) for many inputs: witness only, no proof."""
    with open(a.inputs) as f:
        inputs = json.load(f)
    tmp_in, tmp_out = a.out + ".in.json", a.out + ".wit.json"
    outs = []
    for x in inputs:
        with open(tmp_in, "w") as f:
            json.dump({"input_data": [x]}, f)
        call(ezkl.gen_witness, tmp_in, a.compiled, tmp_out)
        with open(tmp_out) as f:
            w = json.load(f)
        outs.append([float(v) for v in w["pretty_elements"]["rescaled_outputs"][0]])
    for p in (tmp_in, tmp_out):
        if os.path.exists(p):
            os.remove(p)
    with open(a.out, "w") as f:
        json.dump(outs, f)


def main():
    p = argparse.ArgumentParser(prog="zkprof_ezkl")
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("compile")
    for k in ("model", "settings", "compiled", "calibration"):
        c.add_argument("--" + k, required=True)
    c.add_argument("--input-visibility", default="public")
    c.add_argument("--param-visibility", default="fixed")
    c.add_argument("--output-visibility", default="public")
    c.add_argument("--target", default="resources")
    c.add_argument("--scales", default="")
    c.set_defaults(f=cmd_compile)
    c = sub.add_parser("setup")
    for k in ("settings", "compiled", "vk", "pk", "srs-dir", "srs-link", "srs-label"):
        c.add_argument("--" + k, required=True)
    c.add_argument("--srs-mode", default="auto", choices=["auto", "public", "test"])
    c.set_defaults(f=cmd_setup)
    c = sub.add_parser("srs")
    for k in ("settings", "srs-dir"):
        c.add_argument("--" + k, required=True)
    c.add_argument("--srs-mode", default="auto", choices=["auto", "public", "test"])
    c.set_defaults(f=cmd_srs)
    c = sub.add_parser("witness")
    for k in ("data", "compiled", "out"):
        c.add_argument("--" + k, required=True)
    c.set_defaults(f=cmd_witness)
    c = sub.add_parser("prove")
    for k in ("witness", "compiled", "pk", "proof", "srs"):
        c.add_argument("--" + k, required=True)
    c.set_defaults(f=cmd_prove)
    c = sub.add_parser("verify")
    for k in ("proof", "settings", "vk", "srs"):
        c.add_argument("--" + k, required=True)
    c.set_defaults(f=cmd_verify)
    c = sub.add_parser("outputs")
    for k in ("inputs", "compiled", "out"):
        c.add_argument("--" + k, required=True)
    c.set_defaults(f=cmd_outputs)
    a = p.parse_args()
    a.f(a)


if __name__ == "__main__":
    main()
