"""A stand-in for zkml's python/converter.py, for zkprof's adapter test (not zkml code):
checks the arguments zkprof passes and writes placeholder outputs."""
import sys

args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
for flag in ("--model", "--model_output", "--config_output", "--scale_factor", "--k", "--num_cols", "--num_randoms"):
    if flag not in args:
        sys.exit("missing " + flag)
open(args["--model"], "rb").read()
open(args["--model_output"], "wb").write(b"fake converted model k=" + args["--k"].encode())
open(args["--config_output"], "wb").write(b"fake config")
print("converted", args["--model"])
