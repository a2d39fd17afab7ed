#!/usr/bin/env python3
"""Our kernels beside ggml's on the same devices, in one run: the README's side-by-side table.

    scripts/kernels_vs_ggml.py [--cli build/cli/portaquant] [--model-dir DIR] [--gguf FILE]
        [--repetitions 3] [--skip-model] [--markdown FILE] [--json FILE]

1. `portaquant bench` on opencl (pocl) and vulkan (lavapipe), m=4096 k=14336: copy bandwidth,
   qint4/qint8 GEMV n=1 hot and cold, qint4 / W8A8 / float32 GEMM n=512 hot;
2. ggml's `test-backend-ops perf` (hot: one copy of the weights) for q4_0 / q8_0 / f32 MUL_MAT on
   ggml-CPU and ggml-Vulkan (lavapipe), through ../shared/tools/peer-bench.sh (built once with
   `peer-bench.sh build LLAMA_SRC`);
3. end to end on SmolLM2-135M: `portaquant bench --model` against llama-bench on the Q4_1 GGUF
   (CPU and Vulkan builds), prompt 512 and generation 128. Our model holds the GGUF's tensor types:
   the GGUF's blocks are Q4_1 and its output (the tied embedding) Q8_0, so ours is the W4
   directory (qint4, lm_head float) with lm_head quantized again to qint8 (smollm2-w4-q8head,
   made here once); the float lm_head of the plain W4 directory reads 113 MB per token where
   llama.cpp's reads 30 MB.
Then one table: ours, the peer's, the speed ratio, the target of the issue and whether it is met.
Times on a shared machine drift between runs; the ratios come from one run.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.environ.get("PEER_BENCH", os.path.join(os.path.dirname(ROOT), "shared", "tools", "peer-bench.sh"))
MODELS = os.environ.get("PORTAQUANT_MODELS", os.path.expanduser("~/.cache/portaquant/models"))
GGML_LINE = re.compile(r"MUL_MAT\(type_a=(\w+),type_b=f32,m=(\d+),n=(\d+),k=(\d+).*?([0-9.]+) us/run")
LLAMA_BENCH_LINE = re.compile(r"\|\s*(pp\d+|tg\d+)\s*\|\s*([0-9.]+)\s*±\s*([0-9.]+)\s*\|\s*$")

OUR_CASES = ["copy*", "linear qint4 gemv n=1", "linear qint8 gemv n=1", "linear qint4 gemm n=512", "linear w8a8 gemm n=512",
             "matmul f32 gemm n=512"]


def log(message):
    print(message, file=sys.stderr, flush=True)


def our_ops(cli, repetitions):
    rows = []
    for pattern in OUR_CASES:
        mode = "both" if "gemv" in pattern else "hot"
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "bench.json")
            cmd = [cli, "bench", "--device", "opencl", "--device", "vulkan", "--case", pattern, "--mode", mode, "-r", str(repetitions),
                   "--json", out]
            log("ours: " + " ".join(cmd[1:]))
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            rows += json.load(open(out))["results"]
    return rows


def ggml_ops():
    log("ggml: peer-bench.sh ops")
    run = subprocess.run(["bash", PEER, "ops"], check=True, capture_output=True, text=True)
    rows, backend = {}, None
    for line in run.stdout.splitlines():
        if line.startswith("## ggml "):
            backend = line.split()[-1]
        match = GGML_LINE.search(line)
        if match and backend:
            rows[(backend, match.group(1), int(match.group(3)))] = float(match.group(5)) / 1000.0  # ms
    return rows


def llama_bench(gguf):
    log("ggml: peer-bench.sh model " + gguf)
    run = subprocess.run(["bash", PEER, "model", gguf], check=True, capture_output=True, text=True)
    rows, build = {}, None
    for line in run.stdout.splitlines():
        if line.startswith("## llama.cpp "):
            build = "CPU" if "CPU" in line else "Vulkan"
        match = LLAMA_BENCH_LINE.search(line)
        if match and build:
            rows[(build, match.group(1))] = (float(match.group(2)), float(match.group(3)))
    return rows


def gguf_like_model(cli, models):
    """The W4 directory with its lm_head quantized to qint8: the tensor types of the Q4_1 GGUF."""
    out = os.path.join(models, "smollm2-w4-q8head")
    if not os.path.isdir(out):
        cmd = [cli, "quantize", os.path.join(models, "smollm2-w4"), "-o", out, "--weights", "int8", "--include", "lm_head"]
        log("ours: " + " ".join(cmd[1:]))
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return out


def our_model(cli, model_dir, repetitions):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench.json")
        cmd = [cli, "bench", "--model", model_dir, "--device", "opencl", "--device", "vulkan", "-r", str(repetitions), "--json", out]
        log("ours: " + " ".join(cmd[1:]))
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return {(r["device"].split(":")[0], r["test"]): (r["mean"], r["stddev"]) for r in json.load(open(out))["results"]}


def find(rows, device, case, mode="hot"):
    for r in rows:
        if r["device"].startswith(device) and r["case"] == case and r["mode"] == mode:
            return r
    return None


def comparisons(ours, ggml, model_ours, model_ggml):
    """(what, ours, peer, unit, speed ratio ours/peer, target) rows; None where a figure is missing."""
    out = []

    def op(label, device, case, backend, peer_type, n, target):
        r = find(ours, device, case)
        peer = ggml.get((backend, peer_type, n))
        out.append((label, r and r["ms"], r and r["stddev_ms"], peer, "ms", r and peer and peer / r["ms"], target))

    op("pocl hot qint4 GEMV n=1 vs ggml-CPU q4_0", "opencl", "linear qint4 gemv n=1", "CPU", "q4_0", 1, 0.5)
    op("pocl hot qint8 GEMV n=1 vs ggml-CPU q8_0", "opencl", "linear qint8 gemv n=1", "CPU", "q8_0", 1, 0.5)
    copy = next((r for r in ours if r["device"].startswith("opencl") and r["op"] == "copy"), None)
    for q in ("qint4", "qint8"):
        r = find(ours, "opencl", f"linear {q} gemv n=1", "cold")
        out.append((f"pocl cold {q} GEMV weight GB/s vs pocl copy GB/s", r and r["weight_gbps"], None, copy and copy["weight_gbps"],
                    "GB/s", r and copy and r["weight_gbps"] / copy["weight_gbps"], 0.7))
    sgemm = find(ours, "opencl", "matmul f32 gemm n=512")
    for label, case, target in (("W8A8", "linear w8a8 gemm n=512", 6.0), ("W4A16", "linear qint4 gemm n=512", 4.0)):
        r = find(ours, "opencl", case)
        out.append((f"pocl hot {label} GEMM n=512 vs CLBlast SGEMM (pocl)", r and r["ms"], r and r["stddev_ms"], sgemm and sgemm["ms"],
                    "ms", r and sgemm and sgemm["ms"] / r["ms"], target))
    op("lavapipe hot qint4 GEMV n=1 vs ggml-Vulkan q4_0", "vulkan", "linear qint4 gemv n=1", "Vulkan0", "q4_0", 1, 5.0)
    op("lavapipe hot qint8 GEMV n=1 vs ggml-Vulkan q8_0", "vulkan", "linear qint8 gemv n=1", "Vulkan0", "q8_0", 1, 5.0)
    op("lavapipe hot qint4 GEMM n=512 vs ggml-Vulkan q4_0", "vulkan", "linear qint4 gemm n=512", "Vulkan0", "q4_0", 512, 4.0)
    for test in ("pp512", "tg128"):
        for device, build, target in (("opencl", "CPU", 0.5 if test == "tg128" else None), ("vulkan", "Vulkan", 10.0 if test == "tg128" else None)):
            mine, peer = model_ours.get((device, test)), model_ggml.get((build, test))
            out.append((f"SmolLM2-135M W4 + int8 lm_head {test} {'pocl' if device == 'opencl' else 'lavapipe'} vs llama.cpp {build} build (Q4_1, Q8_0 output)",
                        mine and mine[0], mine and mine[1], peer and peer[0], "tokens/s", mine and peer and mine[0] / peer[0], target))
    return out


def markdown(rows):
    out = "| comparison (same machine, one run) | portaquant | peer | ratio (speed) | target | met |\n|---|---:|---:|---:|---:|---|\n"
    for label, mine, sd, peer, unit, ratio, target in rows:
        fmt = (lambda v: f"{v:.3f}") if unit == "ms" else (lambda v: f"{v:.2f}")
        mine_s = "–" if mine is None else fmt(mine) + (f" ± {fmt(sd)}" if sd else "") + f" {unit}"
        peer_s = "–" if peer is None else fmt(peer) + f" {unit}"
        ratio_s = "–" if ratio is None else f"{ratio:.2f}×"
        met = "–" if target is None or ratio is None else ("yes" if ratio >= target else "no")
        out += f"| {label} | {mine_s} | {peer_s} | {ratio_s} | {'' if target is None else f'≥ {target}×'} | {met} |\n"
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cli", default=os.path.join(ROOT, "build", "cli", "portaquant"))
    parser.add_argument("--model-dir", help="decoder directory to bench end to end (default: smollm2-w4-q8head, made from smollm2-w4)")
    parser.add_argument("--gguf", default=os.path.join(MODELS, "SmolLM2-135M-Instruct.Q4_1.gguf"))
    parser.add_argument("-r", "--repetitions", type=int, default=3)
    parser.add_argument("--skip-model", action="store_true", help="only the op comparisons")
    parser.add_argument("--markdown")
    parser.add_argument("--json")
    args = parser.parse_args()
    if not os.path.exists(PEER):
        sys.exit(f"kernels_vs_ggml: error: {PEER} not found (set $PEER_BENCH)")
    ours = our_ops(args.cli, args.repetitions)
    ggml = ggml_ops()
    model_ours, model_ggml = {}, {}
    if not args.skip_model:
        model_ours = our_model(args.cli, args.model_dir or gguf_like_model(args.cli, MODELS), args.repetitions)
        model_ggml = llama_bench(args.gguf)
    rows = comparisons(ours, ggml, model_ours, model_ggml)
    table = markdown(rows)
    print(table)
    if args.markdown:
        open(args.markdown, "w").write(table)
    if args.json:
        json.dump({"portaquant_ops": ours, "ggml_ops_ms": {"/".join(map(str, k)): v for k, v in ggml.items()},
                   "portaquant_model": {"/".join(k): v for k, v in model_ours.items()},
                   "llama_bench": {"/".join(k): v for k, v in model_ggml.items()}}, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
