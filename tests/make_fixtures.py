#!/usr/bin/env python3
"""Generate the optimum-quanto parity fixtures in tests/fixtures/ (and the bundled sample model).

Needs torch, optimum-quanto and safetensors from PyPI (see tests/requirements-fixtures.txt).
CI does not run this: it uses the committed files. Running it again must give identical
bytes (checked by `make fixtures-check`): everything is seeded and written in a fixed order.

Files:
  casts.safetensors      torch's float casts, for the exhaustive conversion tests
  weights_<dtype>.safetensors  random weights and quanto's quantization of them
  quanto_mlp_<qtype>/    an nn.Sequential quantized, frozen and saved by quanto (state dict + qmap)
  float_mlp/             the same model before quantization
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
from optimum.quanto import (AbsmaxOptimizer, HqqOptimizer, MaxOptimizer, freeze, qfloat8_e4m3fn,
                            qfloat8_e4m3fnuz, qfloat8_e5m2, qint2, qint4, qint8, quantization_map, quantize)
from optimum.quanto.tensor.weights import quantize_weight

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
SAMPLE = os.path.join(HERE, "..", "examples", "models", "tiny_mlp")

FLOAT_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
BYTE_QTYPES = [qint8, qfloat8_e4m3fn, qfloat8_e4m3fnuz, qfloat8_e5m2]
BIT_QTYPES = [qint4, qint2]
# in_features that hit every branch of quanto's group-size rule: <=128 (per row), 129 (nothing
# divides), 192 (96), 256 (128), 320 (64), 4096 (128). Odd out_features everywhere.
SHAPES = [(5, 64), (5, 128), (5, 129), (5, 192), (5, 256), (5, 320), (3, 4096)]


def default_group_size(in_features):
    if in_features <= 128:
        return None
    g = 128
    while in_features % g != 0 and g > 32:
        g -= 32
    return g if in_features % g == 0 else None


def f16_midpoints():
    """float32 values exactly between consecutive finite f16 codes, and one float32 ulp either side."""
    codes = torch.arange(0, 0x7C00, dtype=torch.int32)
    lo = codes.to(torch.int16).view(torch.float16).double()
    hi = (codes + 1).to(torch.int16).view(torch.float16).double()
    mid = ((lo + hi) / 2).float()
    bits = mid.view(torch.int32)
    return torch.stack([mid, (bits - 1).view(torch.float32), (bits + 1).view(torch.float32)], 1).flatten()


def bf16_midpoints():
    codes = torch.arange(0, 0x7F80, dtype=torch.int32)
    bits = (codes << 16) | 0x8000
    return torch.stack([bits, bits - 1, bits + 1], 1).flatten().view(torch.float32)


def casts():
    all16 = torch.arange(65536, dtype=torch.int32).to(torch.int16)
    as_bf16 = all16.view(torch.bfloat16)
    as_f16 = all16.view(torch.float16)
    t = {
        "all_bf16": as_bf16.clone(),
        "all_f16": as_f16.clone(),
        "bf16_to_f16": as_bf16.float().to(torch.float16),
        "f16_to_bf16": as_f16.float().to(torch.bfloat16),
        "f16_midpoints_to_f16": f16_midpoints().to(torch.float16),
        "bf16_midpoints_to_bf16": bf16_midpoints().to(torch.bfloat16),
    }
    for name, dt in [("e4m3fn", torch.float8_e4m3fn), ("e4m3fnuz", torch.float8_e4m3fnuz), ("e5m2", torch.float8_e5m2)]:
        codes = torch.arange(256, dtype=torch.int32).to(torch.uint8).view(dt)
        t[f"{name}_decoded"] = codes.float()
        t[f"bf16_to_{name}"] = as_bf16.float().to(dt)
        t[f"f16_to_{name}"] = as_f16.float().to(dt)
    save_file(t, os.path.join(OUT, "casts.safetensors"), metadata={"torch": torch.__version__})


def random_weight(shape, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(shape, generator=g) * 0.05
    w[0, :7] *= 9.0  # a few outliers, so the extremes set the scales
    return w.to(dtype)


def add_symmetric(t, key, w, qtype, axis):
    scale = AbsmaxOptimizer()(w, qtype=qtype, axis=axis)
    if axis is None:  # weights are never per-tensor in quanto: call the library op itself
        t[f"{key}._data"] = torch.ops.quanto.quantize_symmetric(w, dtype=qtype.dtype, axis=None, scale=scale)
        t[f"{key}._scale"] = scale.contiguous()
        return
    qw = quantize_weight(w, qtype=qtype, axis=axis, scale=scale, optimized=False)
    t[f"{key}._data"] = qw._data.contiguous()
    t[f"{key}._scale"] = qw._scale.contiguous()
    t[f"{key}.dequantized"] = qw.dequantize().contiguous()


def add_affine(t, key, w, qtype, optimizer, group_size, with_dequantized):
    scale, shift = optimizer(w, qtype=qtype, axis=0, group_size=group_size)
    qw = quantize_weight(w, qtype=qtype, axis=0, scale=scale, shift=shift, group_size=group_size, optimized=False)
    t[f"{key}._data._data"] = qw._data._data.contiguous()
    t[f"{key}._scale"] = qw._scale.contiguous()
    t[f"{key}._shift"] = qw._shift.contiguous()
    if with_dequantized:
        t[f"{key}.dequantized"] = qw.dequantize().contiguous()


def weights(dtype_name, dtype, seed):
    t = {}
    meta = {}
    for out_f, in_f in SHAPES:
        seed += 1
        w = random_weight((out_f, in_f), dtype, seed)
        base = f"w{out_f}x{in_f}"
        t[base] = w
        for qtype in BYTE_QTYPES:
            add_symmetric(t, f"{base}.{qtype.name}.absmax", w, qtype, 0)
        g = default_group_size(in_f)
        meta[base] = g
        for qtype in BIT_QTYPES:
            add_affine(t, f"{base}.{qtype.name}.max", w, qtype, MaxOptimizer(), g, True)
            add_affine(t, f"{base}.{qtype.name}.hqq", w, qtype, HqqOptimizer(), g, False)
    # Explicit group size and the other symmetric axes, on one shape.
    w = t["w5x320"]
    add_affine(t, "w5x320.qint4.max.g32", w, qint4, MaxOptimizer(), 32, True)
    add_affine(t, "w5x320.qint2.max.g160", w, qint2, MaxOptimizer(), 160, True)
    add_symmetric(t, "w5x320.qint8.absmax.axis-1", w, qint8, -1)
    add_symmetric(t, "w5x320.qint8.absmax.per_tensor", w, qint8, None)
    add_symmetric(t, "w5x320.qfloat8_e4m3fn.absmax.per_tensor", w, qfloat8_e4m3fn, None)
    # One metadata key: safetensors writes __metadata__ from a hash map, in no fixed order.
    save_file(t, os.path.join(OUT, f"weights_{dtype_name}.safetensors"),
              metadata={"group_sizes": json.dumps(meta, sort_keys=True)})


def mlp():
    torch.manual_seed(1234)
    return torch.nn.Sequential(torch.nn.Linear(64, 129), torch.nn.ReLU(), torch.nn.Linear(129, 320),
                               torch.nn.ReLU(), torch.nn.Linear(320, 7))


def save_model_dir(path, state_dict, qmap=None):
    os.makedirs(path, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state_dict.items()}, os.path.join(path, "model.safetensors"))
    if qmap is not None:
        with open(os.path.join(path, "quanto_qmap.json"), "w") as f:
            json.dump(qmap, f, indent=4)


def quanto_models():
    save_model_dir(os.path.join(OUT, "float_mlp"), mlp().state_dict())
    for qtype in [qint8, qint4, qint2, qfloat8_e4m3fn]:
        model = mlp()
        quantize(model, weights=qtype)
        freeze(model)
        save_model_dir(os.path.join(OUT, f"quanto_mlp_{qtype.name}"), model.state_dict(), quantization_map(model))


def sample_model():
    torch.manual_seed(7)
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                                torch.nn.ReLU(), torch.nn.Linear(256, 10))
    save_model_dir(SAMPLE, model.state_dict())


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    casts()
    for i, (name, dtype) in enumerate(FLOAT_DTYPES.items()):
        weights(name, dtype, 100 * (i + 1))
    quanto_models()
    sample_model()
    print(f"fixtures written to {OUT} (torch {torch.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
