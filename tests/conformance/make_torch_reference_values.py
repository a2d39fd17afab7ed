#!/usr/bin/env python3
"""Generate tests/conformance/torch_reference_values.inc: what torch (and transformers'
LlamaRMSNorm) compute on small inputs full of special values (NaN, ±inf, -0) in float32,
float16 and bfloat16, so that test_conformance.cpp can hold the ops' CPU references (the ground
truth of the conformance suite) to torch's semantics.

Needs torch and transformers (tests/requirements-fixtures.txt); CI uses the committed file.
Deterministic: re-running it rewrites the same bytes. About 60 KB.

Each entry: op name, parameters, input tensors and torch's output, values as C++ float
literals (hex, so f16/bf16 values are exact). Where we deliberately differ from torch the
expected value is patched below, with the reason.
"""
import math
import os

import torch
import torch.nn.functional as F
from transformers.models.llama.modeling_llama import LlamaRMSNorm

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "torch_reference_values.inc")

NAN, INF = float("nan"), float("inf")
DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
CODE = {"F32": 0, "F16": 1, "BF16": 2}  # the `dtype` parameter of cast and the linear ops
TORCH_TO_DTYPE = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int8: "I8",
                  torch.int32: "I32", torch.float8_e4m3fn: "F8_E4M3FN", torch.float8_e5m2: "F8_E5M2"}
SPECIALS = [NAN, INF, -INF, -0.0]


def literal(v):
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    if v == 0:
        return "-0.0f" if math.copysign(1.0, v) < 0 else "0.0f"
    mantissa, exponent = float(v).hex().split("p")
    return mantissa.rstrip("0").rstrip(".") + "p" + exponent + "f"


def tensor(t):
    values = t.float().flatten().tolist() if t.is_floating_point() else [float(x) for x in t.flatten().tolist()]
    body = ", ".join(literal(v) for v in values)
    return "{DType::%s, {%s}, {%s}}" % (TORCH_TO_DTYPE[t.dtype], ", ".join(str(s) for s in t.shape), body)


def params(p):
    return "{" + ", ".join('{"%s", %r}' % (k, float(v)) for k, v in p.items()) + "}"


entries = []


def add(op, p, inputs, expected, note="", output=0):
    """One entry; `output` names which of the op's outputs `expected` is (ops with several)."""
    entries.append("  {\"%s\", \"%s\", %s,\n   {%s},\n   %s%s}," % (
        op, note, params(p), ",\n    ".join(tensor(t) for t in inputs), tensor(expected),
        ", %d" % output if output else ""))


def vec(values, dtype):
    return torch.tensor(values, dtype=torch.float32).to(dtype)


ELEMENTWISE_X = SPECIALS + [0.0, 1.0, -1.0, 3.5, -3.5, 20.0, -20.0, -100.0, 100.0, 0.125, -7.25]

for name, dt in DTYPES.items():
    x = vec(ELEMENTWISE_X, dt)
    add("relu", {}, [x], F.relu(x), name)
    add("silu", {}, [x], F.silu(x), name)
    gelu = F.gelu(x)
    note = name
    if dt != torch.float16:
        # torch's vectorized erf returns NaN at +inf for float32 and bfloat16 tensors (float16
        # gives +inf); we keep the limit 0.5 * inf * (1 + erf(inf)) = inf.
        assert math.isnan(gelu[1].item())
        gelu[1] = INF
        note += "; +inf -> +inf where torch's vectorized erf gives NaN"
    add("gelu_erf", {}, [x], gelu, note)
    add("gelu_tanh", {}, [x], F.gelu(x, approximate="tanh"), name)

    a = vec(SPECIALS * 4, dt)
    b = vec([NAN] * 4 + [INF] * 4 + [-INF] * 4 + [-0.0] * 4, dt)
    add("add", {}, [a, b], a + b, name)
    add("mul", {}, [a, b], a * b, name)
    up = vec(([2.0, -0.5, INF, -INF, NAN, -0.0, 1.0, 3.25] * 4)[:len(ELEMENTWISE_X)], dt)
    add("silu_mul", {}, [x, up], F.silu(x) * up, name + " (LlamaMLP's act_fn(gate_proj) * up_proj)")
    gate_up = torch.stack([x, up]).reshape(1, -1)  # one row: the gate half, then the up half
    add("swiglu", {}, [gate_up], (F.silu(x) * up).reshape(1, -1), name + " (a fused gate/up projection's halves)")

    rows = vec([[1.0, INF, 2.0], [1.0, -INF, 2.0], [-INF, -INF, -INF], [NAN, 1.0, 2.0], [-0.0, 0.0, 1.5],
                [-0.0, -0.0, -0.0], [INF, INF, 1.0]], dt)
    add("softmax", {}, [rows], F.softmax(rows, dim=-1), name)
    w = vec([0.5, 1.25, -0.75], dt)
    bias = vec([0.1, -0.2, 0.3], dt)
    add("layernorm", {"eps": 1e-5}, [rows, w, bias], F.layer_norm(rows, (3,), w, bias, eps=1e-5), name)
    rms = LlamaRMSNorm(3, eps=1e-6)
    with torch.no_grad():
        rms.weight.copy_(w.float())
    rms = rms.to(dt)
    with torch.no_grad():
        add("rmsnorm", {"eps": 1e-6}, [rows, w], rms(rows), name + " (transformers' LlamaRMSNorm)")
        # A decoder's residual add and the next LlamaRMSNorm: h = x + r, then rms(h).
        residual = vec([[0.5, 1.0, -INF], [2.0, INF, NAN], [1.0, 1.0, 1.0], [-0.0, 0.25, -3.0], [-0.0, -0.0, 0.0],
                        [-0.0, -0.0, -0.0], [-INF, 1.0, 1.0]], dt)
        h = rows + residual
        note = name + " (residual add, then transformers' LlamaRMSNorm)"
        add("add_rmsnorm", {"eps": 1e-6}, [rows, residual, w], h, note + ": h")
        add("add_rmsnorm", {"eps": 1e-6}, [rows, residual, w], rms(h), note + ": rmsnorm(h)", output=1)

    img = vec([[[[NAN, 1.0, 2.0, -3.0], [4.0, 5.0, INF, 0.5], [-0.0, -0.0, -INF, -INF], [0.0, -0.0, 1.0, -2.0]]]], dt)
    add("max_pool2d", {"kernel_h": 2, "kernel_w": 2}, [img], F.max_pool2d(img, 2), name)
    add("max_pool2d", {"kernel_h": 3, "kernel_w": 3, "stride_h": 1, "stride_w": 1, "pad_h": 1, "pad_w": 1}, [img],
        F.max_pool2d(img, 3, stride=1, padding=1), name + ", padded")
    add("avg_pool2d", {"kernel_h": 2, "kernel_w": 2}, [img], F.avg_pool2d(img, 2), name)
    kernel = vec([[[[0.5, -1.0], [0.25, 2.0]]]], dt)
    conv = F.conv2d(img, kernel, padding=1)
    note = name
    if dt == torch.bfloat16:
        # torch's bfloat16 conv (oneDNN) spreads NaN to outputs whose windows hold no NaN and only
        # finite values (float32 and float16 do not): we follow float32, rounded once.
        conv32 = F.conv2d(img.float(), kernel.float(), padding=1).to(dt)
        assert not torch.equal(conv.isnan(), conv32.isnan())
        conv = conv32
        note += "; the float32 conv rounded, where torch's bfloat16 conv spreads NaN"
    add("conv2d", {"pad_h": 1, "pad_w": 1}, [img, kernel], conv, note)

    am = vec([[NAN, 1.0, 2.0], [INF, 1.0, -1.0], [INF, -INF, 1.0], [-0.0, -0.0, -0.0], [1.0, 2.0, 3.0]], dt)
    bm = vec([[1.0, 0.0], [2.0, -1.0], [0.5, INF]], dt)
    add("matmul_f32", {}, [am, bm], am @ bm, name)

    table = vec([[NAN, -0.0, 1.0], [INF, -INF, 0.0], [0.5, 0.25, -2.0]], dt)
    idx = torch.tensor([2, 0, 1, 0], dtype=torch.int32)
    add("embedding", {}, [table, idx], F.embedding(idx.long(), table), name)

    # One query row per special value; key 2 and value 1 carry some too.
    q = vec([[[NAN, 0.5], [INF, 0.5], [-INF, 0.5], [-0.0, -0.0], [0.25, -0.5]]], dt)
    k = vec([[[1.0, -1.0], [0.5, 0.25], [-INF, 1.0]]], dt)
    v = vec([[[1.0, 2.0], [NAN, -0.0], [3.0, 4.0]]], dt)
    # torch's fused CPU kernel leaves 0 in a column of a NaN query row; its definition (the math
    # path: softmax(q k^T / sqrt(d)) v in float32, rounded) gives NaN there, which we follow.
    fused = F.scaled_dot_product_attention(q, k, v)
    math_path = (torch.softmax(q.float() @ k.float().transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1) @ v.float()).to(dt)
    assert not torch.equal(fused.isnan(), math_path.isnan())
    add("sdpa", {}, [q, k, v], math_path, name + "; softmax(q k^T / sqrt(d)) v, where torch's fused kernel leaves a 0")

    for to_name, to in DTYPES.items():
        if to_name == name:
            continue
        src = vec(SPECIALS + [65504.0, 65519.0, 65520.0, 3.4e38, 1e-8, -3e-8, 1.0 + 2**-11, 1.0 + 3 * 2**-11,
                              1.0 + 2**-8, 1.0 + 3 * 2**-8, 0.1], dt)
        add("cast", {"dtype": CODE[to_name]}, [src], src.to(to), name + " -> " + to_name)

    # quanto's symmetric quantization: codes = clamp(round(w / s), -128, 127).to(int8) and, for
    # float8, clamp(w / s, -qmax, qmax).to(float8); the division happens in w's dtype.
    wq = vec([[NAN, INF, -INF, -0.0, 0.3, -1.7], [2.5, -2.5, 1e4, 0.0, 3.0, -0.26]], dt)
    scale = vec([[0.5], [0.25]], dt)
    add("quantize_symmetric", {"qtype": 2, "axis": 0}, [wq, scale],
        torch.clamp(torch.round(wq / scale), -128, 127).to(torch.int8), name + ", qint8")
    add("quantize_symmetric", {"qtype": 3, "axis": 0}, [wq, scale],
        torch.clamp(wq / scale, -448, 448).to(torch.float8_e4m3fn), name + ", qfloat8_e4m3fn")
    add("quantize_symmetric", {"qtype": 5, "axis": 0}, [wq, scale],
        torch.clamp(wq / scale, -57344, 57344).to(torch.float8_e5m2), name + ", qfloat8_e5m2")

# LlamaRMSNorm on random float16/bfloat16 rows: two roundings (x * rsqrt(mean(x^2) + eps) into
# the dtype, then weight * that), which a single rounding misses on about a quarter of them.
torch.manual_seed(0)
for name in ["F16", "BF16"]:
    dt = DTYPES[name]
    dim = 131
    rms = LlamaRMSNorm(dim, eps=1e-6)
    with torch.no_grad():
        rms.weight.copy_(torch.rand(dim) + 0.5)
    rms = rms.to(dt)
    x = (torch.randn(4, dim) * 3).to(dt)
    with torch.no_grad():
        add("rmsnorm", {"eps": 1e-6}, [x, rms.weight.detach().clone()], rms(x), name + " random rows (LlamaRMSNorm)")

with open(OUT, "w") as f:
    f.write("// Generated by tests/conformance/make_torch_reference_values.py from torch %s and transformers'\n"
            "// LlamaRMSNorm: inputs and torch's outputs, {op, note, params, inputs, expected}. Do not edit.\n" %
            torch.__version__.split("+")[0])
    f.write("\n".join(entries) + "\n")
print("wrote", OUT, os.path.getsize(OUT), "bytes,", len(entries), "cases")
