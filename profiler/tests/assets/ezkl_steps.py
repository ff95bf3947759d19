"""One EZKL step per call, for the runtime tests: python3 ezkl_steps.py STEP MODEL.onnx WORKDIR.

Steps: compile (settings + circuit), setup (a locally generated test SRS, then keys),
witness (a fixed input), prove, verify. Every file lives in WORKDIR. The SRS comes from
ezkl.gen_srs, which is a test SRS (no trusted setup): fine for comparing runtimes, never
for production proofs.
"""
import json
import os
import sys

import ezkl


def main():
    step, model, work = sys.argv[1], sys.argv[2], sys.argv[3]
    p = lambda name: os.path.join(work, name)
    if step == "compile":
        args = ezkl.PyRunArgs()
        args.input_visibility = "public"
        args.output_visibility = "public"
        args.param_visibility = "fixed"
        # Small scales and lookup range keep the circuit at 2^13 rows (seconds to prove).
        args.input_scale = 2
        args.param_scale = 2
        args.lookup_range = (-4096, 4096)
        args.logrows = 13
        assert ezkl.gen_settings(model, p("settings.json"), py_run_args=args)
        assert ezkl.compile_circuit(model, p("model.compiled"), p("settings.json"))
    elif step == "setup":
        logrows = json.load(open(p("settings.json")))["run_args"]["logrows"]
        ezkl.gen_srs(p("test.srs"), logrows)
        assert ezkl.setup(p("model.compiled"), p("vk.key"), p("pk.key"), srs_path=p("test.srs"))
    elif step == "witness":
        # A fixed input of the model's input size (from the settings' input shapes).
        n = 1
        for d in json.load(open(p("settings.json")))["model_instance_shapes"][0]:
            n *= d
        data = {"input_data": [[((i * 37) % 101) / 101.0 for i in range(n)]]}
        json.dump(data, open(p("input.json"), "w"))
        ezkl.gen_witness(p("input.json"), p("model.compiled"), p("witness.json"))
    elif step == "prove":
        ezkl.prove(p("witness.json"), p("model.compiled"), p("pk.key"), p("proof.json"), srs_path=p("test.srs"))
    elif step == "verify":
        assert ezkl.verify(p("proof.json"), p("settings.json"), p("vk.key"), srs_path=p("test.srs"))
        print("verified")
    else:
        sys.exit(f"unknown step {step}")


if __name__ == "__main__":
    main()
