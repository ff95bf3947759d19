"""A stand-in for zkml's python/input_converter.py, for zkprof's adapter test (not zkml
code): checks that the input is a .npy file and writes a placeholder."""
import sys

args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
data = open(args["--inputs"], "rb").read()
if not data.startswith(b"\x93NUMPY"):
    sys.exit("not a .npy file: " + args["--inputs"])
open(args["--output"], "wb").write(b"fake input")
