#!/usr/bin/env python3
"""transformers + optimum-quanto reference for SmolLM2-135M-Instruct: perplexity on GPL-3 for every
weight/activation configuration of the accuracy table, and greedy generations — the numbers
`portaquant perplexity` and `portaquant generate` are compared with.

    python3 tests/llm_reference.py [--model /work/models/smollm2-hf] [--out-dir tests/fixtures/llm]
        [--configs float,w4,...] [--keep-dir DIR]

Writes OUT_DIR/smollm2_reference.json (every number, the exact calls and the package versions;
deterministic: a rerun on the same versions writes the same bytes) and OUT_DIR/smollm2_timings.json
(the machine and the wall time of each step, which differ from run to run).

Perplexity is llama.cpp's method as tests/reference_perplexity.py computes it: the text's tokens
(tokenizer.json, special tokens as the tokenizer adds them — SmolLM2's adds none) are cut into
consecutive windows of ctx tokens; each runs alone (its first token replaced by BOS only when the
tokenizer adds one) and the negative log-likelihoods of tokens ctx/2+1 .. ctx-1 are summed.
Every quantized model is evaluated twice: as quantized (and calibrated) in this process, and as
reloaded by QuantizedModelForCausalLM.from_pretrained from the directory save_pretrained wrote —
with activations the two differ (tests/fixtures/transformers/README.md, Findings 3: after
calibration the in-process model quantizes no module output, the reloaded one every output).
One thread, deterministic algorithms, CPU.
"""
import argparse
import hashlib
import json
import math
import os
import platform
import shutil
import tempfile
import time
from collections import OrderedDict

import torch

MODEL_DIR = "/work/models/smollm2-hf"
PERPLEXITY_TEXT = "/usr/share/common-licenses/GPL-3"
CALIBRATION_TEXT = "/usr/share/common-licenses/GPL-2"
CALIBRATION_SAMPLES = 16        # portaquant quantize --calibration-samples default
CALIBRATION_LENGTH = 128        # portaquant quantize --calibration-length default
CTX = 512
SHORT_CTX = 256                 # CI's short check: the first window of 256 tokens
PREFIX_WINDOWS = 2              # the first 1,024 tokens (what the slow cpu backend runs)
NEW_TOKENS = 64
SHORT_NEW_TOKENS = 16
THREADS = 1

# name -> (weights, activations, optimizer); the qtype names are optimum.quanto's.
CONFIGS = OrderedDict([
    ("float", (None, None, None)),
    ("w8", ("qint8", None, None)),
    ("w4", ("qint4", None, None)),
    ("w4_hqq", ("qint4", None, "hqq")),
    ("w2", ("qint2", None, None)),
    ("wf8", ("qfloat8_e4m3fn", None, None)),
    ("w8a8", ("qint8", "qint8", None)),
    ("w8af8", ("qint8", "qfloat8_e4m3fn", None)),
    ("w4a8", ("qint4", "qint8", None)),
])
PORTAQUANT_QTYPE = {"qint8": "int8", "qint4": "int4", "qint2": "int2", "qfloat8_e4m3fn": "float8"}
GENERATION_CONFIGS = ("float", "w8", "w4")      # 64 tokens from every prompt (quantized: reloaded)
SHORT_GENERATION_CONFIGS = ("float", "w4")
PROMPTS = OrderedDict([
    ("question", "Why is the sky blue? The sky appears blue because"),
    ("code", "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"),
    ("list", "Here is a list of five fruits:\n1."),
    ("story", "Once upon a time, in a small village by the sea,"),
    ("fact", "The speed of light in a vacuum is"),
])
SHORT_PROMPT = "The three primary colors are"


def setup():
    torch.set_num_threads(THREADS)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)


def versions():
    import optimum.quanto as quanto
    import safetensors
    import tokenizers
    import transformers
    return OrderedDict([("python", platform.python_version()), ("torch", torch.__version__),
                        ("transformers", transformers.__version__), ("tokenizers", tokenizers.__version__),
                        ("optimum-quanto", quanto.__version__), ("safetensors", safetensors.__version__)])


def machine():
    cpu = platform.processor()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return OrderedDict([("cpu", cpu), ("logical_cpus", os.cpu_count()), ("torch_threads", torch.get_num_threads()),
                        ("platform", platform.platform())])


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_text(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


class Timer:
    """Wall time of named steps, for the timings file."""

    def __init__(self):
        self.seconds = OrderedDict()

    def __call__(self, name, fn, *args, **kwargs):
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        self.seconds[name] = round(time.perf_counter() - start, 2)
        print(f"  {name}: {self.seconds[name]} s", flush=True)
        return result


# ---------------------------------------------------------------------------------------------
# Models


def load_float(model_dir):
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(model_dir).eval()


def quantize(model_dir, config):
    """QuantizedModelForCausalLM.quantize (= optimum.quanto.quantize + freeze), exclude='lm_head'.
    Its signature takes `optimizer`, so HQQ goes through it too."""
    import optimum.quanto as quanto
    weights, activations, optimizer = config
    qtype = lambda name: getattr(quanto, name) if name else None
    return quanto.QuantizedModelForCausalLM.quantize(
        load_float(model_dir), weights=qtype(weights), activations=qtype(activations),
        optimizer=quanto.HqqOptimizer() if optimizer == "hqq" else None, exclude="lm_head")


def calibration_samples(tokenizer):
    ids = tokenizer.encode(read_text(CALIBRATION_TEXT), add_special_tokens=False).ids
    if len(ids) < CALIBRATION_SAMPLES * CALIBRATION_LENGTH:
        raise SystemExit(f"{CALIBRATION_TEXT}: {len(ids)} tokens, fewer than the calibration needs")
    return [ids[i * CALIBRATION_LENGTH:(i + 1) * CALIBRATION_LENGTH] for i in range(CALIBRATION_SAMPLES)]


def calibrate(qmodel, samples):
    from optimum.quanto import Calibration
    with torch.no_grad(), Calibration():
        for ids in samples:
            qmodel(torch.tensor([ids]))


def save_and_reload(qmodel, model_dir, directory):
    from optimum.quanto import QuantizedModelForCausalLM
    qmodel.save_pretrained(directory)
    for name in ("tokenizer.json", "tokenizer_config.json"):     # so that portaquant can run the directory too
        shutil.copy(os.path.join(model_dir, name), directory)
    return QuantizedModelForCausalLM.from_pretrained(directory)


# ---------------------------------------------------------------------------------------------
# Perplexity


def window_nlls(model, tokens, bos, ctx, windows):
    """Per window: (sum of NLL, sum of squared NLL, scored tokens)."""
    first = ctx // 2
    result = []
    for w in range(windows):
        window = tokens[w * ctx:(w + 1) * ctx]
        if bos is not None:
            window[0] = bos
        with torch.no_grad():
            logits = model(torch.tensor([window])).logits[0]
        logits = logits.dequantize() if hasattr(logits, "dequantize") else logits
        logp = torch.log_softmax(logits[first:ctx - 1].double(), dim=-1)
        targets = torch.tensor(tokens[w * ctx + first + 1:(w + 1) * ctx])
        nll = -logp.gather(1, targets[:, None])[:, 0]
        result.append((nll.sum().item(), (nll * nll).sum().item(), nll.numel()))
    return result


def summary(nlls, ctx):
    """llama.cpp's perplexity and the +/- it prints: ppl * sqrt(var(nll) / (count - 1))."""
    nll = sum(n for n, _, _ in nlls)
    nll2 = sum(n2 for _, n2, _ in nlls)
    count = sum(c for _, _, c in nlls)
    mean = nll / count
    var = nll2 / count - mean * mean
    ppl = math.exp(mean)
    err = ppl * math.sqrt(var / (count - 1)) if var > 0 and count > 1 else 0.0
    return OrderedDict([("perplexity", ppl), ("uncertainty", err), ("mean_nll", mean), ("scored_tokens", count),
                        ("windows", len(nlls)), ("ctx", ctx)])


def perplexities(model, text_tokens, bos, timer, label):
    windows = len(text_tokens) // CTX
    nlls = timer(f"{label} perplexity ({windows} windows of {CTX})", window_nlls, model, text_tokens, bos, CTX, windows)
    short = timer(f"{label} perplexity (1 window of {SHORT_CTX})", window_nlls, model, text_tokens, bos, SHORT_CTX, 1)
    result = OrderedDict([("full", summary(nlls, CTX)),
                          ("first_1024", summary(nlls[:PREFIX_WINDOWS], CTX)),
                          ("ctx256_first_window", summary(short, SHORT_CTX)),
                          ("window_mean_nll", [n / c for n, _, c in nlls])])
    full = result["full"]
    print(f"  {label}: ppl {full['perplexity']:.4f} +/- {full['uncertainty']:.4f}, first 1024: "
          f"{result['first_1024']['perplexity']:.4f}, ctx256: {result['ctx256_first_window']['perplexity']:.4f}", flush=True)
    return result


# ---------------------------------------------------------------------------------------------
# Generation


def greedy(model, tokenizer, prompt, new_tokens, eos):
    """do_sample=False, max_new_tokens only (stops at EOS as generation_config says); the raw logits of
    every step give the top-1/top-2 margin (a comparison can stop at a near-tie)."""
    ids = tokenizer.encode(prompt, add_special_tokens=True).ids
    input_ids = torch.tensor([ids])
    with torch.no_grad():
        out = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), do_sample=False,
                             max_new_tokens=new_tokens, pad_token_id=eos, output_logits=True,
                             return_dict_in_generate=True)
    generated = out.sequences[0, len(ids):].tolist()
    margins, second = [], []
    for step, logits in enumerate(out.logits):
        logits = logits[0].dequantize() if hasattr(logits, "dequantize") else logits[0]
        top = torch.topk(logits.float(), 2)
        if top.indices[0].item() != generated[step] and top.values[0] != top.values[1]:
            raise SystemExit(f"greedy step {step}: token {generated[step]} is not the argmax {top.indices[0].item()}")
        margins.append((top.values[0] - top.values[1]).item())
        second.append(top.indices[1].item())
    return OrderedDict([("prompt", prompt), ("prompt_ids", ids), ("ids", generated),
                        ("text", tokenizer.decode(generated, skip_special_tokens=True)),
                        ("stopped_at_eos", bool(generated) and generated[-1] == eos and len(generated) < new_tokens),
                        ("margins", margins), ("second_ids", second), ("min_margin", min(margins) if margins else None)])


def generations(model, tokenizer, eos, name, timer):
    result = OrderedDict()
    if name in GENERATION_CONFIGS:
        result["prompts"] = OrderedDict(
            (key, timer(f"{name} generate {key}", greedy, model, tokenizer, prompt, NEW_TOKENS, eos))
            for key, prompt in PROMPTS.items())
    if name in SHORT_GENERATION_CONFIGS:
        result["short"] = timer(f"{name} generate short", greedy, model, tokenizer, SHORT_PROMPT, SHORT_NEW_TOKENS, eos)
    return result


# ---------------------------------------------------------------------------------------------


def portaquant_quantize_args(config):
    weights, activations, optimizer = config
    if weights is None:
        return None
    args = ["--weights", PORTAQUANT_QTYPE[weights], "--exclude", "lm_head"]
    if optimizer:
        args += ["--optimizer", optimizer]
    if activations:
        args += ["--activations", PORTAQUANT_QTYPE[activations], "--calibration-text", CALIBRATION_TEXT]
    return args


def run_config(name, args, tokenizer, text_tokens, bos, eos, timer):
    config = CONFIGS[name]
    weights, activations, optimizer = config
    print(f"{name}: weights {weights}, activations {activations}, optimizer {optimizer}", flush=True)
    entry = OrderedDict([("weights", weights), ("activations", activations), ("optimizer", optimizer),
                         ("portaquant_quantize_args", portaquant_quantize_args(config))])
    if weights is None:
        model = timer(f"{name} load", load_float, args.model)
        entry["transformers"] = perplexities(model, text_tokens, bos, timer, name)
        entry["generation"] = generations(model, tokenizer, eos, name, timer)
        return entry
    qmodel = timer(f"{name} quantize", quantize, args.model, config)
    if activations:
        timer(f"{name} calibrate", calibrate, qmodel, calibration_samples(tokenizer))
    entry["in_process"] = perplexities(qmodel, text_tokens, bos, timer, f"{name} in-process")
    directory = os.path.join(args.keep_dir, name) if args.keep_dir else tempfile.mkdtemp(prefix=f"llm-ref-{name}-")
    reloaded = timer(f"{name} save + reload", save_and_reload, qmodel, args.model, directory)
    del qmodel
    entry["reloaded"] = perplexities(reloaded, text_tokens, bos, timer, f"{name} reloaded")
    entry["in_process_equals_reloaded"] = entry["in_process"]["window_mean_nll"] == entry["reloaded"]["window_mean_nll"]
    entry["generation"] = generations(reloaded, tokenizer, eos, name, timer)
    if not args.keep_dir:
        shutil.rmtree(directory)
    return entry


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False)
        f.write("\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=MODEL_DIR)
    p.add_argument("--out-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "llm"))
    p.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated subset of " + ",".join(CONFIGS))
    p.add_argument("--keep-dir", help="keep quanto's saved directories here (one per configuration)")
    args = p.parse_args()
    names = args.configs.split(",")
    for n in names:
        if n not in CONFIGS:
            raise SystemExit(f"--configs: unknown configuration '{n}' (known: {', '.join(CONFIGS)})")
    setup()
    from tokenizers import Tokenizer
    tokenizer = Tokenizer.from_file(os.path.join(args.model, "tokenizer.json"))
    with open(os.path.join(args.model, "generation_config.json")) as f:
        eos = json.load(f)["eos_token_id"]
    text_tokens = tokenizer.encode(read_text(PERPLEXITY_TEXT), add_special_tokens=True).ids
    bos_ids = tokenizer.encode("", add_special_tokens=True).ids
    bos = bos_ids[0] if bos_ids else None
    timer = Timer()
    start = time.perf_counter()
    configs = OrderedDict((n, run_config(n, args, tokenizer, text_tokens, bos, eos, timer)) for n in names)

    reference = OrderedDict([
        ("model", OrderedDict([("directory", args.model),
                               ("model.safetensors_sha256", sha256(os.path.join(args.model, "model.safetensors"))),
                               ("tokenizer.json_sha256", sha256(os.path.join(args.model, "tokenizer.json"))),
                               ("eos_token_id", eos)])),
        ("versions", versions()),
        ("torch_threads", THREADS),
        ("perplexity_text", OrderedDict([("path", PERPLEXITY_TEXT), ("sha256", sha256(PERPLEXITY_TEXT)),
                                         ("tokens", len(text_tokens)), ("bos", bos)])),
        ("calibration", OrderedDict([("path", CALIBRATION_TEXT), ("sha256", sha256(CALIBRATION_TEXT)),
                                     ("samples", CALIBRATION_SAMPLES), ("length", CALIBRATION_LENGTH)])),
        ("calls", OrderedDict([
            ("float", "AutoModelForCausalLM.from_pretrained(MODEL).eval()"),
            ("quantize", "QuantizedModelForCausalLM.quantize(float_model, weights=W, activations=A, "
                         "optimizer=HqqOptimizer() if hqq else None, exclude='lm_head') "
                         "(quanto 0.2.7's quantize takes `optimizer` and passes it to optimum.quanto.quantize, then freezes)"),
            ("calibrate", "ids = Tokenizer.from_file(tokenizer.json).encode(GPL-2, add_special_tokens=False).ids; "
                          "with torch.no_grad(), Calibration(): for i in range(16): qmodel(torch.tensor([ids[128*i:128*(i+1)]]))"),
            ("reload", "qmodel.save_pretrained(DIR); QuantizedModelForCausalLM.from_pretrained(DIR)"),
            ("perplexity", "tokens = encode(GPL-3, add_special_tokens=True).ids; for each window w of ctx: "
                           "logits = model(torch.tensor([tokens[w*ctx:(w+1)*ctx]])).logits[0]; "
                           "nll_i = -log_softmax(logits.double())[i, tokens[w*ctx+i+1]] for i in ctx/2 .. ctx-2; "
                           "ppl = exp(mean(nll)), +/- = ppl * sqrt((mean(nll^2) - mean(nll)^2) / (count - 1)) (llama.cpp's)"),
            ("generate", "model.generate(input_ids=encode(prompt, add_special_tokens=True).ids, attention_mask=ones, "
                         "do_sample=False, max_new_tokens=N, pad_token_id=eos, output_logits=True, "
                         "return_dict_in_generate=True); margin = top1 - top2 of the raw logits of each step; "
                         "text = Tokenizer.decode(ids, skip_special_tokens=True)"),
        ])),
        ("configurations", configs),
    ])
    timings = OrderedDict([("machine", machine()), ("versions", versions()), ("seconds", timer.seconds),
                           ("total_seconds", round(time.perf_counter() - start, 1))])
    os.makedirs(args.out_dir, exist_ok=True)
    write_json(os.path.join(args.out_dir, "smollm2_reference.json"), reference)
    write_json(os.path.join(args.out_dir, "smollm2_timings.json"), timings)
    print(f"wrote {args.out_dir}/smollm2_reference.json and smollm2_timings.json")


if __name__ == "__main__":
    main()
