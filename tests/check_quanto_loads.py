#!/usr/bin/env python3
"""Cross-check: files written by `portaquant quantize` load in optimum-quanto.

For each qtype, quantizes tests/fixtures/float_mlp with the portaquant CLI, loads the result
into torch with optimum-quanto's `requantize` (which ignores our __metadata__), and checks
that every quantized tensor quanto rebuilt equals the one in our file. Needs torch and
optimum-quanto (tests/requirements-fixtures.txt); not part of CI, which has no Python.

    python3 tests/check_quanto_loads.py build/cli/portaquant
"""
import json
import os
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file
from optimum.quanto import requantize

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_fixtures import mlp  # noqa: E402  (the same architecture the fixtures use)


def check(cli, weights, extra):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "model")
        subprocess.run([cli, "quantize", os.path.join(HERE, "fixtures", "float_mlp"), "-o", out,
                        "--weights", weights, "--include", "*"] + extra, check=True, capture_output=True)
        state_dict = load_file(os.path.join(out, "model.safetensors"))
        with open(os.path.join(out, "quanto_qmap.json")) as f:
            qmap = json.load(f)
        model = mlp()
        requantize(model, state_dict, qmap)
        reloaded = model.state_dict()
        compared = 0
        for key, ours in state_dict.items():
            theirs = reloaded[key]
            if theirs.dtype != ours.dtype or not torch.equal(theirs.reshape(-1).view(torch.uint8), ours.reshape(-1).view(torch.uint8)):
                raise SystemExit(f"{weights} {extra}: {key} differs after requantize")
            compared += 1
        x = torch.randn(4, 64)
        y = model(x)
        print(f"{weights:16s} {' '.join(extra):24s} {compared} tensors identical after requantize; forward ok {tuple(y.shape)}")


def main():
    cli = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build", "cli", "portaquant")
    for weights in ["int8", "int4", "int2", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2"]:
        check(cli, weights, [])
    check(cli, "int4", ["--optimizer", "hqq"])


if __name__ == "__main__":
    main()
