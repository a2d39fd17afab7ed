#!/usr/bin/env python3
"""Generate tests/fixtures/interop/: the digits example models quantized by optimum-quanto.

Needs torch, optimum-quanto, safetensors and scikit-learn (tests/requirements-fixtures.txt), and the
files examples/train_digits.py writes (examples/models/digits_{mlp,cnn}, examples/data). CI never runs
this; it uses the committed files. CPU only, one thread, deterministic: a rerun writes identical bytes.

For each model (digits_mlp, digits_cnn) and each configuration (CONFIGS) it writes
tests/fixtures/interop/<model>_w<weights>_a<activations>/ holding
  model.safetensors   quanto's frozen state dict (what `save_file(model.state_dict())` writes)
  quanto_qmap.json    quantization_map(model), json.dump(indent=4) as quanto's save_pretrained does
  config.json         the float model's architecture (examples/sequential_config.py)
  outputs.safetensors logits f32 [360,10] of quanto on the held-out digits:
                        "logits"             the model as quantized, calibrated and frozen in this process
                        "logits_requantized" the model rebuilt from the saved files with quanto.requantize
and tests/fixtures/interop/README.md (calls, versions, accuracies, scales, traced quanto behaviour).

It also re-implements quanto in plain torch from the saved files alone and checks, bit for bit, that
this reproduces both kinds of logits (`emulate`), every calibrated scale (`emulate(calibrate=...)`) and
every quantized weight (`requantize_weights_check`). The README states the results; the script exits
with status 1 if any check fails (the README's findings would then be stale for that quanto/torch).

    python3 tests/make_interop_fixtures.py
"""
import json
import os
import platform
import shutil
import sys
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "examples"))
from sequential_config import read_config, write_config  # noqa: E402

import optimum.quanto as quanto  # noqa: E402
from optimum.quanto import (Calibration, QTensor, freeze, qfloat8_e4m3fn, qint4, qint8,  # noqa: E402
                            quantization_map, quantize, requantize)
from optimum.quanto.tensor import quantize_activation  # noqa: E402

OUT = os.path.join(HERE, "fixtures", "interop")
MODELS = ["digits_mlp", "digits_cnn"]
# (folder suffix, weights, activations)
CONFIGS = [
    ("wqint8_anone", qint8, None),
    ("wqint4_anone", qint4, None),
    ("wqfloat8_e4m3fn_anone", qfloat8_e4m3fn, None),
    ("wqint8_aqint8", qint8, qint8),
    ("wqint8_aqfloat8_e4m3fn", qint8, qfloat8_e4m3fn),
    ("wqint4_aqint8", qint4, qint8),
]
CALIBRATION_BATCH = 32
META = {"format": "pt"}   # one key only: safetensors writes __metadata__ from a hash map


def setup():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)


def load_float(name):
    d = os.path.join(ROOT, "examples", "models", name)
    model = read_config(d)
    model.load_state_dict(load_file(os.path.join(d, "model.safetensors")), strict=True)
    return model.eval()


def dequant(t):
    return t.dequantize() if isinstance(t, QTensor) else t


def accuracy(logits, labels):
    correct = int((logits.argmax(1) == labels).sum())
    return correct, correct / len(labels)


def f32hex(x):
    return "0x%08x" % torch.tensor(float(x), dtype=torch.float32).view(torch.int32).item()


def describe(t):
    if isinstance(t, QTensor):
        return f"{type(t).__name__}<{t.qtype.name}, s={float(t._scale):.9g}>"
    if isinstance(t, torch.Tensor):
        return f"Tensor<{str(t.dtype).replace('torch.', '')}>"
    return type(t).__name__


def trace(model, x):
    """[(name, class, input as the forward saw it, output after the module's hooks)]."""
    rows, handles = [], []
    for name, mod in model.named_children():
        def hook(m, args, out, name=name):
            rows.append((name, type(m).__name__, describe(args[0]), describe(out)))
        handles.append(mod.register_forward_hook(hook))
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return rows


def active_hooks(model):
    """Which quanto quantization hooks are still installed on each QModule."""
    out = OrderedDict()
    for name, mod in model.named_children():
        if isinstance(mod, quanto.QModuleMixin):
            hooks = mod._quantize_hooks
            def state(key, table):
                if key not in hooks:
                    return "never installed"
                return "on" if hooks[key].id in table else "removed"
            out[name] = OrderedDict([("input hook", state("input", mod._forward_pre_hooks)),
                                     ("output hook", state("output", mod._forward_hooks))])
    return out


# ---------------------------------------------------------------------------------------------
# Independent re-implementation of quanto's forward, from the saved files only.
# ---------------------------------------------------------------------------------------------
class Q:
    """A per-tensor quantized activation: raw data (int8 or float8) and a 0-dim f32 scale."""

    def __init__(self, data, scale, qtype):
        self.data, self.scale, self.qtype = data, scale, qtype

    def deq(self):
        # quanto QBytesDequantizer: scale * data (int8 promotes; float8 upcast explicitly first)
        return self.scale * (self.data.to(self.scale.dtype) if self.qtype == "qfloat8_e4m3fn" else self.data)


def q_act(x, scale, qtype):
    # quanto::quantize_symmetric(axis=None): x / scale (a true division), round-half-even for int,
    # clamp to the storage type's finite range, cast (float8: round-to-nearest-even).
    y = x / scale
    if qtype == "qint8":
        return Q(torch.clamp(torch.round(y), -128, 127).to(torch.int8), scale, qtype)
    return Q(torch.clamp(y, -448.0, 448.0).to(torch.float8_e4m3fn), scale, qtype)


def weight_deq(sd, prefix, wq, shape):
    if wq in ("qint8", "qfloat8_e4m3fn"):
        data, scale = sd[prefix + "weight._data"], sd[prefix + "weight._scale"]
        return scale * (data.to(scale.dtype) if wq == "qfloat8_e4m3fn" else data)
    assert wq == "qint4"
    packed, scale, shift = sd[prefix + "weight._data._data"], sd[prefix + "weight._scale"], sd[prefix + "weight._shift"]
    rows = scale.shape[0]                     # O*I/G with a group size, else O
    u = torch.cat([packed & 0xF, packed >> 4], 0)[:rows]   # planar along dim 0
    w = scale * u - shift                     # float shift = -min of the group
    return w.reshape(shape)


QMAX = {"qint8": 127.0, "qfloat8_e4m3fn": 448.0}


def ema(scale, new):
    # calibrate.py _updated_scale: 1.0 is the "never calibrated" sentinel, else an f32 EMA with
    # momentum 0.9 (python floats 0.9 and 1.0-0.9, used as f32 0.9f and 0.1f)
    if bool(torch.all(scale == 1)):
        return new
    return torch.tensor(0.9, dtype=torch.float32) * scale + new * torch.tensor(0.1, dtype=torch.float32)


def emulate(cfg, sd, qmap, x, quantize_outputs, calibrate=None):
    """quanto's forward on plain tensors. quantize_outputs=False: the module just calibrated with
    streamline=True (every output hook removed); True: the model reloaded with requantize().
    calibrate: a dict of scales ("<i>.input_scale"/"<i>.output_scale") to update as Calibration
    does during this forward, and to use instead of the ones in sd."""
    scales = calibrate if calibrate is not None else sd
    h = x
    for i, layer in enumerate(cfg["layers"]):
        name, t, p = str(i), layer["type"], f"{i}."
        if t in ("Linear", "Conv2d"):
            wq, aq = qmap[name]["weights"], qmap[name]["activations"]
            aq = None if aq == "none" else aq
            if t == "Linear":
                shape = (layer["out_features"], layer["in_features"])
            else:
                kh, kw = layer["kernel_size"]
                shape = (layer["out_channels"], layer["in_channels"] // layer["groups"], kh, kw)
            bias = sd.get(p + "bias")
            if calibrate is not None and aq is not None:              # global pre-hook, before quanto's
                if isinstance(h, Q):
                    scales[p + "input_scale"] = h.scale               # adopt the incoming scale
                else:
                    scales[p + "input_scale"] = ema(scales[p + "input_scale"], torch.max(torch.abs(h)) / QMAX[aq])
            if t == "Linear":
                if aq is not None and not isinstance(h, Q):
                    h = q_act(h, scales[p + "input_scale"], aq)      # QLinear input pre-hook
                if wq in ("qint8", "qfloat8_e4m3fn"):
                    w_data, w_scale = sd[p + "weight._data"], sd[p + "weight._scale"]
                    if isinstance(h, Q):
                        s = h.scale * w_scale                         # [O,1], f32 product first
                        if h.qtype == "qint8" and wq == "qint8":      # CPU qbytes_mm -> torch._int_mm
                            acc = torch._int_mm(h.data, w_data.t())   # exact int32 accumulation
                            y = acc.to(torch.float32) * s.t()
                        else:                                         # default qbytes_mm
                            y = torch.matmul(h.data.to(torch.float32), (s * w_data.to(torch.float32)).t())
                    else:
                        wd = w_data.to(torch.float32) if wq == "qfloat8_e4m3fn" else w_data
                        y = torch.matmul(h, (w_scale * wd).t())
                else:                                                 # qint4: dequantize both, float
                    a = h.deq() if isinstance(h, Q) else h
                    y = torch.matmul(a, weight_deq(sd, p, wq, shape).t())
                if bias is not None:
                    y = y + bias
            else:
                a = h.deq() if isinstance(h, Q) else h                # QConv2d never quantizes its input
                y = F.conv2d(a, weight_deq(sd, p, wq, shape), bias, tuple(layer["stride"]),
                             tuple(layer["padding"]), tuple(layer["dilation"]), layer["groups"])
            if calibrate is not None and aq is not None:              # global hook, before quanto's
                scales[p + "output_scale"] = ema(scales[p + "output_scale"], torch.max(torch.abs(y)) / QMAX[aq])
            h = q_act(y, scales[p + "output_scale"], aq) if (aq is not None and quantize_outputs) else y
        elif t == "ReLU":
            h = Q(torch.relu(h.data), h.scale, h.qtype) if (isinstance(h, Q) and h.qtype == "qint8") \
                else torch.relu(h.deq() if isinstance(h, Q) else h)
        elif t == "MaxPool2d":
            a = h.deq() if isinstance(h, Q) else h
            h = F.max_pool2d(a, tuple(layer["kernel_size"]), tuple(layer["stride"]), tuple(layer["padding"]))
        elif t == "Flatten":
            if isinstance(h, Q):
                h = Q(h.data.flatten(layer["start_dim"], layer["end_dim"]), h.scale, h.qtype)
            else:
                h = h.flatten(layer["start_dim"], layer["end_dim"])
        else:
            raise NotImplementedError(t)
    return h.deq() if isinstance(h, Q) else h


def requantize_weights_check(float_sd, sd, qmap):
    """Re-derive every saved weight tensor from the float weights with the formulas of Findings 11."""
    ok = True
    for name, q in qmap.items():
        w = float_sd[name + ".weight"]
        p = name + ".weight."
        if q["weights"] in ("qint8", "qfloat8_e4m3fn"):
            qmax = 127.0 if q["weights"] == "qint8" else 448.0
            s = torch.amax(torch.abs(w), dim=list(range(1, w.ndim)), keepdim=True) / qmax
            y = w / s
            if q["weights"] == "qint8":
                data = torch.clamp(torch.round(y), -128, 127).to(torch.int8)
                ok &= torch.equal(data, sd[p + "_data"])
            else:
                data = torch.clamp(y, -448.0, 448.0).to(torch.float8_e4m3fn)
                ok &= torch.equal(data.view(torch.uint8), sd[p + "_data"].view(torch.uint8))
            ok &= torch.equal(s, sd[p + "_scale"])
        else:                                                  # qint4, MaxOptimizer, float shift
            cols = w.numel() // w.shape[0]
            g = None
            if cols > 128:
                g = 128
                while cols % g != 0 and g > 32:
                    g -= 32
                g = g if cols % g == 0 else None
            base = w.reshape(-1, g) if g else w
            dims = list(range(1, base.ndim))
            rmin, rmax = torch.amin(base, dim=dims, keepdim=True), torch.amax(base, dim=dims, keepdim=True)
            scale, shift = (rmax - rmin) / 15, -rmin
            u = torch.clamp(torch.round((base + shift) / scale), 0, 15).to(torch.uint8)
            half = (u.shape[0] + 1) // 2
            lo, hi = u[:half], u[half:]
            if hi.shape[0] < half:
                hi = torch.cat([hi, torch.zeros_like(lo[:half - hi.shape[0]])])
            ok &= torch.equal(lo | (hi << 4), sd[p + "_data._data"])
            ok &= torch.equal(scale, sd[p + "_scale"]) and torch.equal(shift, sd[p + "_shift"])
    return bool(ok)


# ---------------------------------------------------------------------------------------------
def op_behaviour():
    """What a few torch ops return for quanto quantized activations (int8 and float8)."""
    torch.manual_seed(1)
    x = torch.randn(2, 4, 4, 4)
    ops = [("F.relu / nn.ReLU", nn.ReLU()), ("nn.MaxPool2d(2)", nn.MaxPool2d(2)),
           ("nn.AvgPool2d(2)", nn.AvgPool2d(2)), ("nn.Flatten()", nn.Flatten()), ("nn.SiLU()", nn.SiLU()),
           ("nn.GELU()", nn.GELU()), ("nn.LayerNorm(4)", nn.LayerNorm(4))]
    rows = []
    for label, op in ops:
        cells = []
        for qt in (qint8, qfloat8_e4m3fn):
            q = quantize_activation(x, qtype=qt, scale=torch.tensor(0.05))
            with torch.no_grad():
                r = op(q)
            if isinstance(r, QTensor):
                kind = f"stays {r.qtype.name}, " + ("same scale" if torch.equal(r._scale, q._scale) else "new scale")
            else:
                kind = "returns float32"
            ref = op(q.dequantize())
            exact = torch.equal(dequant(r), ref)
            cells.append(f"{kind}; {'==' if exact else '!='} op(dequantize(x))")
        rows.append((label, *cells))
    return rows


def mode_types_probe():
    """The `types` a TorchFunctionMode receives for F.relu on a quantized activation (see Findings 3)."""
    from torch.overrides import TorchFunctionMode
    seen = []

    class Probe(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            seen.append((getattr(func, "__name__", str(func)), tuple(t.__name__ for t in types), QTensor in types))
            return func(*args, **(kwargs or {}))

    q = quantize_activation(torch.ones(2), qtype=qint8, scale=torch.tensor(0.05))
    with Probe():
        F.relu(q)
    return seen[0]


def state_dict_rows(sd):
    return [(k, str(v.dtype).replace("torch.", ""), list(v.shape)) for k, v in sd.items()]


def build(name, suffix, wq, aq, calib, test_x, test_y):
    folder = f"{name}_{suffix}"
    d = os.path.join(OUT, folder)
    os.makedirs(d, exist_ok=True)
    model = load_float(name)
    write_config(model, os.path.join(d, "config.json"), [1, 8, 8], num_classes=10)
    cfg = json.load(open(os.path.join(d, "config.json")))

    # --- the quanto calls (recorded verbatim in the README) ---
    quantize(model, weights=wq, activations=aq)
    if aq is not None:
        with torch.no_grad(), Calibration():           # momentum=0.9, streamline=True
            for batch in calib.split(CALIBRATION_BATCH):
                model(batch)
    freeze(model)
    sd = OrderedDict((k, v.detach().contiguous()) for k, v in model.state_dict().items())
    save_file(dict(sd), os.path.join(d, "model.safetensors"), metadata=META)
    qmap = quantization_map(model)
    with open(os.path.join(d, "quanto_qmap.json"), "w") as f:
        json.dump(qmap, f, indent=4)
    with torch.no_grad():
        logits = dequant(model(test_x)).float().contiguous()
    rec = OrderedDict(folder=folder, model=name, weights=wq.name, activations=aq.name if aq else "none")
    rec["trace"] = trace(model, test_x[:8])
    rec["hooks"] = active_hooks(model)

    # --- reload from the files, as a user of the files would ---
    sd_file = load_file(os.path.join(d, "model.safetensors"))
    qmap_file = json.load(open(os.path.join(d, "quanto_qmap.json")))
    reloaded = read_config(d)
    requantize(reloaded, dict(sd_file), qmap_file, device=torch.device("cpu"))
    reloaded.eval()
    with torch.no_grad():
        logits_rq = dequant(reloaded(test_x)).float().contiguous()
    rec["trace_requantized"] = trace(reloaded, test_x[:8])
    rec["hooks_requantized"] = active_hooks(reloaded)
    save_file({"logits": logits, "logits_requantized": logits_rq}, os.path.join(d, "outputs.safetensors"),
              metadata=META)

    # --- independent emulation from the files ---
    with torch.no_grad():
        em = emulate(cfg, sd_file, qmap_file, test_x, quantize_outputs=False)
        em_rq = emulate(cfg, sd_file, qmap_file, test_x, quantize_outputs=True)
    rec["emulation"] = [(torch.equal(em, logits), float((em - logits).abs().max())),
                        (torch.equal(em_rq, logits_rq), float((em_rq - logits_rq).abs().max()))]
    if aq is not None:
        # Calibration: all scales start at 1.0; batch 1 runs with every output hook on, then streamline
        # removes them (Findings 3), so batches 2.. run with float outputs.
        cal = {k: torch.ones((), dtype=torch.float32) for k in sd if k.endswith("_scale") and "weight" not in k}
        with torch.no_grad():
            for b, batch in enumerate(calib.split(CALIBRATION_BATCH)):
                emulate(cfg, sd_file, qmap_file, batch, quantize_outputs=(b == 0), calibrate=cal)
        rec["calibration_emulation"] = all(torch.equal(cal[k], sd_file[k]) for k in cal)
    else:
        rec["calibration_emulation"] = None
    rec["weights_check"] = requantize_weights_check(load_float(name).state_dict(), sd_file, qmap_file)
    rec["acc"] = accuracy(logits, test_y)
    rec["acc_requantized"] = accuracy(logits_rq, test_y)
    rec["same_logits"] = torch.equal(logits, logits_rq)
    rec["max_diff"] = float((logits - logits_rq).abs().max())
    rec["scales"] = [(k.rsplit(".", 1)[0], k.rsplit(".", 1)[1], float(v)) for k, v in sd.items()
                     if k.endswith("input_scale") or k.endswith("output_scale")]
    rec["state_dict"] = state_dict_rows(sd)
    rec["qmap"] = qmap
    return rec


def dir_size(d):
    return sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))


def main():
    setup()
    data = os.path.join(ROOT, "examples", "data")
    test = load_file(os.path.join(data, "digits_test.safetensors"))
    calib = load_file(os.path.join(data, "digits_calibration.safetensors"))["images"]
    test_x, test_y = test["images"], test["labels"]
    assert test_x.shape == (360, 1, 8, 8) and calib.shape == (128, 1, 8, 8)

    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    floats = OrderedDict()
    for name in MODELS:
        with torch.no_grad():
            floats[name] = accuracy(load_float(name)(test_x), test_y)
    records = [build(name, suffix, wq, aq, calib, test_x, test_y)
               for name in MODELS for suffix, wq, aq in CONFIGS]
    ops = op_behaviour()
    probe = mode_types_probe()
    with open(os.path.join(OUT, "README.md"), "w", newline="\n") as f:
        f.write(readme(records, floats, ops, probe))
    failed = False
    for r in records:
        ok = all(e[0] for e in r["emulation"]) and r["calibration_emulation"] in (None, True) and r["weights_check"]
        print(f"{r['folder']:34s} acc {r['acc'][1]:.4f} requantized {r['acc_requantized'][1]:.4f} "
              f"emulation {'bit-exact' if ok else 'MISMATCH'} ({dir_size(os.path.join(OUT, r['folder']))} B)")
        failed = failed or not ok
    if failed:
        print("some emulation check failed: see README.md", file=sys.stderr)
        sys.exit(1)


# ---------------------------------------------------------------------------------------------
def versions():
    import safetensors
    import sklearn
    return OrderedDict([("python", platform.python_version()), ("torch", torch.__version__),
                        ("optimum-quanto", quanto.__version__), ("safetensors", safetensors.__version__),
                        ("scikit-learn", sklearn.__version__)])


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def readme(records, floats, ops, probe):
    v = versions()
    s = [README_HEAD.strip() + "\n"]
    s.append("\n## Versions\n\n" + table(["package", "version"], list(v.items())))
    s.append("\nCPU, `torch.set_num_threads(1)`, `torch.use_deterministic_algorithms(True)`. Tensors are float32.\n")
    s.append(README_CALLS)
    s.append("\n## Accuracy on the 360 held-out digits\n\n")
    s.append("Float models: " + ", ".join(f"{n} {c}/360 = {a * 100:.2f}%" for n, (c, a) in floats.items())
             + ".\n\n")
    rows = []
    for r in records:
        c, a = r["acc"]
        c2, a2 = r["acc_requantized"]
        e = r["emulation"]
        rows.append((f"`{r['folder']}`", r["weights"], r["activations"], f"{c}/360 = {a * 100:.2f}%",
                     f"{c2}/360 = {a2 * 100:.2f}%",
                     "identical" if r["same_logits"] else f"differ (max abs {r['max_diff']:.3g})",
                     "bit-exact" if e[0][0] else f"max abs {e[0][1]:.3g}",
                     "bit-exact" if e[1][0] else f"max abs {e[1][1]:.3g}",
                     "-" if r["calibration_emulation"] is None else
                     ("bit-exact" if r["calibration_emulation"] else "DIFFERS"),
                     "bit-exact" if r["weights_check"] else "DIFFERS"))
    s.append(table(["folder", "weights", "activations", "`logits` (in-process)", "`logits_requantized`",
                    "the two", "emulation vs `logits`", "emulation vs `logits_requantized`",
                    "calibration emulation vs saved scales", "weights re-derived from float"], rows))
    s.append(README_ACC_NOTE)
    s.append("\n## Calibrated activation scales\n\n"
             "0-dim float32 buffers in `model.safetensors` (`<module>.input_scale`, `<module>.output_scale`); "
             "weight-only configurations keep the default 1.0 and are not listed. Hex is the float32 bit pattern.\n\n")
    for r in records:
        if r["activations"] == "none":
            continue
        rows = {}
        for mod, kind, val in r["scales"]:
            rows.setdefault(mod, {})[kind] = val
        hk = r["hooks"]
        s.append(f"`{r['folder']}`\n\n")
        s.append(table(["module", "input_scale", "output_scale", "in-process hooks after calibration"],
                       [(m, f"{x['input_scale']:.9g} ({f32hex(x['input_scale'])})",
                         f"{x['output_scale']:.9g} ({f32hex(x['output_scale'])})",
                         ", ".join(f"{k} {st}" for k, st in hk[m].items()))
                        for m, x in rows.items()]) + "\n")
    s.append(README_FINDINGS)
    s.append(f"\nProbe for 3 (generated): a `TorchFunctionMode` sees `{probe[0]}` with `types={probe[1]!r}`, "
             f"so `QTensor in types` is `{probe[2]}`.\n")
    s.append("\n## Traced data flow (first 8 test images)\n\n"
             "What each module of the Sequential received (after its pre-hooks) and returned (after its hooks). "
             "`s` is the per-tensor scale. Left: the model in the generating process (calibrated with streamline); "
             "right: the same files loaded with `requantize`.\n\n")
    plain = [r["folder"] for r in records if r["activations"] == "none"
             and all(c == "Tensor<float32>" for row in r["trace"] + r["trace_requantized"] for c in row[2:])]
    s.append("Weight-only folders (" + ", ".join(f"`{f}`" for f in plain) + "): every module input and output is a "
             "plain float32 Tensor, in-process and requantized.\n\n")
    for r in records:
        if r["folder"] in plain:
            continue
        s.append(f"`{r['folder']}`\n\n")
        s.append(table(["#", "module", "input (in-process)", "output (in-process)", "input (requantized)",
                        "output (requantized)"],
                       [(a[0], a[1], a[2], a[3], b[2], b[3]) for a, b in zip(r["trace"], r["trace_requantized"])])
                 + "\n")
    s.append("## Ops applied to a quantized activation (quanto 0.2.7 dispatch)\n\n"
             "Generated: the op applied to an `ActivationQBytesTensor` (scale 0.05), and whether the "
             "(dequantized) result equals the op on the dequantized input.\n\n")
    s.append(table(["op", "qint8 input", "qfloat8_e4m3fn input"], ops))
    s.append("\n## State dict keys\n\n")
    seen = set()
    for r in records:
        key = (r["model"], r["weights"])
        if key in seen:
            continue
        seen.add(key)
        s.append(f"{r['model']}, weights {r['weights']} (identical keys/dtypes/shapes with any activations):\n\n")
        s.append(table(["key", "dtype", "shape"], [(f"`{k}`", dt, sh) for k, dt, sh in r["state_dict"]]) + "\n")
    return "".join(s)


README_HEAD = r"""
# optimum-quanto interop fixtures (digits models)

Generated by `tests/make_interop_fixtures.py` (do not edit by hand; rerun it). The float models and the data
come from `examples/train_digits.py`: `examples/models/digits_{mlp,cnn}`, `examples/data/digits_test.safetensors`
(360 held-out images, `images` f32 [360,1,8,8] in [0,1], `labels` int64) and
`examples/data/digits_calibration.safetensors` (the first 128 training images).

Each folder `<model>_w<weights>_a<activations>/` holds

| file | content |
|---|---|
| `model.safetensors` | `model.state_dict()` of the frozen quanto model (`__metadata__` = `{"format": "pt"}`) |
| `quanto_qmap.json` | `quantization_map(model)`, written with `json.dump(qmap, f, indent=4)` like quanto's `save_pretrained` |
| `config.json` | the float architecture (`examples/sequential_config.py`; module names "0", "1", ...) |
| `outputs.safetensors` | `logits` f32 [360,10]: the model right after quantize → Calibration → freeze, in the same process; `logits_requantized` f32 [360,10]: a fresh float model + `requantize(model, load_file(model.safetensors), qmap)` — i.e. what anyone who loads these files with quanto gets. Quantized outputs are dequantized. |

**The two differ for the activation configurations, and `logits_requantized` is the target for a loader of these
files** (see "Findings" 3): the in-process model lost its output quantization during calibration, and that decision is
not stored anywhere in the files.
"""

README_CALLS = r"""
## The exact quanto calls

```python
model = read_config(dir); model.load_state_dict(load_file(dir + "/model.safetensors")); model.eval()
quantize(model, weights=W, activations=A)             # W in {qint8, qint4, qfloat8_e4m3fn}; A in {None, qint8, qfloat8_e4m3fn}
if A is not None:
    with torch.no_grad(), Calibration():              # defaults: momentum=0.9, streamline=True, debug=False
        for batch in calibration_images.split(32):    # 4 batches of 32 (the 128 calibration images, in order)
            model(batch)
freeze(model)
save_file(model.state_dict(), "model.safetensors", metadata={"format": "pt"})
json.dump(quantization_map(model), open("quanto_qmap.json", "w"), indent=4)
logits = model(test_images)                                  # -> outputs.safetensors "logits"
fresh = read_config(dir)
requantize(fresh, load_file("model.safetensors"), json.load(open("quanto_qmap.json")), device=torch.device("cpu"))
logits_requantized = fresh.eval()(test_images)               # -> "logits_requantized"
# (.dequantize() is applied to a quantized output)
```
"""

README_ACC_NOTE = r"""
"emulation" is `emulate()` in the generator: a plain-torch re-implementation of the semantics below that reads only
`model.safetensors`, `quanto_qmap.json` and `config.json`. "bit-exact" means `torch.equal` with quanto's logits on
all 360 images, i.e. the rules below are complete for these models on CPU.
"""

README_FINDINGS = r"""
## Findings: quanto 0.2.7 forward semantics (CPU, float32), for a C++ re-implementation

Verified by the traces and by the two bit-exact emulations (forward, and calibration reproducing every saved
scale) unless marked "(code reading)". All arithmetic below is float32 unless stated.

1. **Which modules are replaced.** `nn.Linear` → `QLinear`, `nn.Conv2d` → `QConv2d`. ReLU, MaxPool2d and Flatten
   stay plain torch modules and are absent from the qmap (it lists "1","3","5" for the MLP and "0","3","7" for the
   CNN). Bias is never quantized (f32 `bias` key).
2. **Input quantization.** `QLinear` has a forward pre-hook (`quantize_input=True`): a float input is quantized with
   the module's own `input_scale`; an input that already is a quantized activation (an `ActivationQBytesTensor`)
   is passed through unchanged and keeps *its own* scale — the module's `input_scale` buffer is then unused
   (calibration sets it equal to the upstream scale anyway, but see 3). **`QConv2d` never quantizes its input**
   (`quantize_input=False` in `QConv2d.qcreate`): its `input_scale` is calibrated and saved but never used; a
   quantized input reaching a conv is dequantized (qfallback). Both get an output hook at construction when activations are set.
3. **streamline (Calibration default) removes EVERY output hook in this setup.** `Calibration.__torch_function__`
   only records "this module's quantized output is consumed by an op that keeps it quantized" when
   `QTensor in types`; with torch 2.15 the `types` tuple a `TorchFunctionMode` receives is empty (probe at the
   end of this section; and even a non-empty one would hold the subclass `ActivationQBytesTensor`, not `QTensor`), so
   nothing is ever recorded, and at the end of the first calibration batch the parent `Sequential`'s
   `calibrate_output` calls `disable_output_quantization()` on every direct child QModule — even where ReLU would
   have kept int8 data. Consequences:
   - in-process after calibration (`logits`): no module quantizes its output; only QLinear inputs are quantized
     (with the module's own `input_scale`); the QConv2d layers run entirely in float (dequantized weights, float
     in/out) — activations have no effect on them at all;
   - calibration batch 1 ran with all output hooks on, batches 2–4 with none, so downstream `input_scale`s are
     an EMA whose first term is the *adopted upstream output scale* and the rest are absmax/qmax of the float
     input (this is why `3.input_scale` ≠ `1.output_scale` in the MLP tables above);
   - the removal is not serialized. `requantize` rebuilds every QModule with both hooks on, so **a model loaded
     from these files quantizes every QLinear/QConv2d output with `output_scale`** (`logits_requantized`), and the
     final Linear returns a quantized tensor that the caller dequantizes. `model.safetensors` + `quanto_qmap.json`
     therefore describe the requantized semantics; the in-process ones cannot be recovered from the files.
   - `Calibration(momentum=m)` only affects output scales; input scales always use 0.9 (code reading).
4. **Activation quantization** (`quanto::quantize_symmetric`, axis None): `q = x / s` (a true f32 division, not a
   multiply by 1/s); int8: `torch.round` (half to even) then clamp [-128, 127] (the scale uses 127: `s = absmax/127`);
   float8 e4m3fn: no rounding step, clamp to [-448, 448] then cast (round to nearest even). Dequantize: `s * q`
   in f32 (float8 upcast to f32 first). Scales are 0-dim f32, one per tensor (never per channel).
5. **Calibration update** per batch and module, per tensor: `new = max(|x|) / 127` (or `/ 448`; an f32
   division), `scale = new` if the stored scale is exactly 1.0 (the sentinel: first batch), else
   `0.9f * scale + new * 0.1f` (f32; quanto writes `momentum * scale + new * (1.0 - momentum)` with python
   floats, which torch applies as the f32 constants 0.9f and 0.1f — the emulation uses those and matches). A QModule whose input is a quantized tensor sets
   `input_scale = that tensor's scale` (no EMA). The output scale is computed from the float output *before* the
   output hook quantizes it. Weights are quantized dynamically during calibration with the same optimizer as
   `freeze`, so the frozen weights are what was calibrated against.
6. **QLinear, int8 or float8 weights** (`WeightQBytesLinearFunction`, `quanto::qbytes_mm`), `w_s` is [O,1] f32:
   - float input (weight-only, or activations off): `y = matmul(x, (w_s * w_q).t()) + bias` — the weight is
     dequantized (`w_s * w_q`, float8 upcast to f32 first) *then* a float matmul; bias added after, in f32.
   - quantized input, **int8 × int8 weights on CPU (torch ≥ 2.6): integer matmul** —
     `acc = torch._int_mm(x_q, w_q.t())` (exact int32 accumulation), `y = f32(acc) * (x_s * w_s).t() + bias`,
     where the scale product `x_s * w_s` is rounded to f32 first and then multiplies the converted accumulator
     (one rounding for the conversion if |acc| ≥ 2^24, one for the product, one for the bias add).
     On CUDA the int path is taken only when tokens > 16, tokens % 8 == 0 and in/out % 8 == 0; otherwise (and
     for float8 activations, or mixed int8/float8) the default path runs:
     `y = matmul(f32(x_q), ((x_s * w_s) * f32(w_q)).t()) + bias` — the raw activation codes times the weight
     codes pre-multiplied by the combined scale, in float (code reading for CUDA; CPU float8 path verified).
   - the output is then quantized with `output_scale` if the output hook is on (3).
7. **QLinear, int4 weights** (`QuantizedLinearFunction`): `y = matmul(x_deq, W_deq.t()) + bias` in float, where a
   quantized input is dequantized first (`x_s * x_q`) and `W_deq = w_scale * u4 - w_shift` per group
   (unpack planar along dim 0, reshape to [O, I]). No integer matmul exists for int4 × int8.
   Group size: in=256 → G=128 (MLP layer 3: data [O·I/G/2, G] = [128,128], scale/shift [O·I/G, 1] = [256,1]),
   in=64 and in=128 → per output row (data [ceil(O/2), I], scale/shift [O,1]); CNN conv in=C·kh·kw=9 and 144 →
   per output channel (144 has no divisor in {128, 96, 64, 32}), and then the packed data keeps the 4-D shape
   [ceil(O/2), C, kh, kw] (planar along dim 0, low nibble = channel o, high nibble = channel o + ceil(O/2)) with
   scale/shift [O,1,1,1]. With f32 weights no
   TinyGemm/AWQ layout is involved (those need bf16/fp16), so the saved and in-memory layouts are canonical.
8. **QConv2d**: always `F.conv2d(x_float, W_deq, bias, stride, padding, dilation, groups)` with
   `W_deq = w_s[O,1,1,1] * w_q` (int8/float8) or the int4 dequantization reshaped to [O, C, kh, kw]; a quantized
   input is dequantized first (qfallback). There is no integer convolution. The float result is then quantized
   with `output_scale` if the output hook is on.
9. **Ops between modules** (table below, and the traces): `relu` on an **int8** activation runs on the int8 data
   and keeps the scale (`max(q, 0)`, exact); on **float8** it dequantizes and returns float. `MaxPool2d`,
   `AvgPool2d`, `SiLU`, `GELU`, `LayerNorm` dequantize (`s * q`) and return float — so after a conv→ReLU the
   MaxPool2d output is float (max commutes with a positive scale, so `maxpool(s*q) == s*maxpool(q)` exactly).
   `Flatten` (a view) keeps an int8 or float8 activation quantized with the same scale; a QLinear receiving such a
   tensor would pass it straight to its matmul (code reading: not exercised by these models, where Flatten sees float).
10. **dtype between modules** (see traces): with the in-process model everything between modules is f32
    (quantization happens inside QLinear's pre-hook only). With the requantized model: MLP int8:
    Linear → `qint8` → ReLU(int) → `qint8` → next Linear (consumed as is, int matmul with the upstream scale) …
    last Linear → `qint8` with `5.output_scale` → dequantized by the caller (`logits = s * q`, so logits are
    integer multiples of the output scale, in [-128·s, 127·s]). MLP float8: Linear → `qfloat8` → ReLU dequantizes → f32 →
    next Linear re-quantizes with its own `input_scale`. CNN: Conv → `qint8`/`qfloat8` → ReLU (int: stays q; f8:
    f32) → MaxPool (f32) → next Conv (f32) … → Flatten (f32) → Linear quantizes its input with its own
    `input_scale` → int matmul (int8) → output quantized → dequantized by the caller.
11. **Weight quantization** matches the notes (§2) and is re-derived bit-exactly by the generator
    (`requantize_weights_check`): int8/float8 per output channel `s = amax(|W|, all dims but 0) / 127` (or `/ 448`),
    int8 `q = clamp(round_half_even(W / s), -128, 127)`, float8 `q = e4m3fn(clamp(W / s, ±448))` (RNE cast);
    int4 (`MaxOptimizer`): rows, or groups of G consecutive elements of a row, `scale = (max - min) / 15`,
    `shift = -min`, `u = clamp(round_half_even((W + shift) / scale), 0, 15)`, packed planar along dim 0.
    `input_scale`/`output_scale` are saved as 1.0 for weight-only modules and must be ignored there.
12. Things a C++ port should not copy blindly: the streamline bug (3); `input_scale` of a QLinear fed by a
    quantized tensor is not what the forward uses (the incoming tensor's scale is) — after requantize they are
    different numbers in these files (e.g. MLP `3.input_scale` ≠ `1.output_scale`), so **use the producer's
    `output_scale`, not the consumer's `input_scale`, when the producer's output is quantized**.
"""


if __name__ == "__main__":
    main()
