#!/usr/bin/env python3
"""Cross-check portaquant's quantization of the transformer fixtures against optimum-quanto's.

    python3 tests/check_quanto_transformers.py PORTAQUANT_CLI [--fixtures DIR] [--only llama,bert] [--keep DIR]

Run by hand (needs torch, transformers, accelerate, optimum-quanto: tests/requirements-fixtures.txt), not by CI.
For every quantized directory of tests/fixtures/transformers (listed in its index.json) it runs

    PORTAQUANT_CLI quantize <arch>/<dtype>/float -o OUT --weights int8|int4|int2|float8
        [--exclude lm_head] [--activations int8|float8 --calibration-text /usr/share/common-licenses/GPL-2
         --calibration-samples 4 --calibration-length 32] --force

and then compares OUT with the directory optimum-quanto wrote from the same float model:
  - every tensor of model.safetensors: identical (torch.equal, float8 compared by bytes), none missing or extra;
  - quanto_qmap.json equal; config.json's tie_word_embeddings equal;
  - OUT loaded by quanto itself (QuantizedModelForCausalLM.from_pretrained for decoders, requantize for BERT):
    its outputs on the fixture inputs vs quanto's reloaded outputs (identical?, cosine, argmax agreement).
It prints one line per directory and exits with status 1 if any tensor differs, a file is missing, the CLI
fails or quanto cannot load OUT. (Loading quanto's directories in portaquant is covered by the C++ tests.)
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FIXTURES = os.path.join(HERE, "fixtures", "transformers")
CALIBRATION = ["--calibration-text", "/usr/share/common-licenses/GPL-2", "--calibration-samples", "4",
               "--calibration-length", "32"]
CLI_QTYPE = {"qint8": "int8", "qint4": "int4", "qint2": "int2", "qfloat8_e4m3fn": "float8", "none": "none"}


def cli_command(cli, rec, float_dir, out):
    cmd = [cli, "quantize", float_dir, "-o", out, "--weights", CLI_QTYPE[rec["weights"]]]
    if rec.get("exclude"):
        cmd += ["--exclude", rec["exclude"]]
    if rec["activations"] != "none":
        cmd += ["--activations", CLI_QTYPE[rec["activations"]]] + CALIBRATION
    return cmd + ["--force"]


def comparable(t):
    return t.view(torch.uint8) if t.dtype.is_floating_point and t.dtype.itemsize == 1 else t


def compare_tensors(ours, theirs):
    """Returns (identical count, list of problems)."""
    a, b = load_file(ours), load_file(theirs)
    problems = [f"missing {k}" for k in sorted(set(b) - set(a))]
    problems += [f"extra {k}" for k in sorted(set(a) - set(b))]
    same = 0
    for k in sorted(set(a) & set(b)):
        x, y = a[k], b[k]
        if x.dtype != y.dtype or x.shape != y.shape:
            problems.append(f"{k}: {x.dtype}{list(x.shape)} vs quanto {y.dtype}{list(y.shape)}")
        elif not torch.equal(comparable(x), comparable(y)):
            n = int((comparable(x) != comparable(y)).sum())
            problems.append(f"{k}: {n} of {x.numel()} elements differ")
        else:
            same += 1
    return same, problems


def sequences(outputs):
    ids, mask = outputs["input_ids"], outputs["attention_mask"]
    return [ids[i, :int(mask[i].sum())].tolist() for i in range(ids.shape[0])]


def decoder_outputs(d, outputs):
    from optimum.quanto import QuantizedModelForCausalLM
    model = QuantizedModelForCausalLM.from_pretrained(d)
    realign(model._wrapped)
    res = {}
    with torch.no_grad():
        for i, s in enumerate(sequences(outputs)):
            logits = model(input_ids=torch.tensor([s])).logits
            res[f"logits_{i}"] = logits.dequantize() if hasattr(logits, "dequantize") else logits
    return res


def bert_outputs(d, outputs):
    from accelerate import init_empty_weights
    from optimum.quanto import requantize
    from transformers import AutoConfig, AutoModel
    with init_empty_weights():
        model = AutoModel.from_config(AutoConfig.from_pretrained(d))
    with open(os.path.join(d, "quanto_qmap.json")) as f:
        qmap = json.load(f)
    requantize(model, load_file(os.path.join(d, "model.safetensors")), qmap, device=torch.device("cpu"))
    model.eval()
    realign(model)
    with torch.no_grad():
        o = model(input_ids=outputs["input_ids"], attention_mask=outputs["attention_mask"],
                  token_type_ids=outputs["token_type_ids"])
    h = o.last_hidden_state
    return {"last_hidden_state": h.dequantize() if hasattr(h, "dequantize") else h}


def realign(model):
    """quanto's bfloat16 int8 kernel segfaults on weights loaded at unaligned file offsets (see the fixtures
    README, Findings 6): copy such codes to fresh memory, as the fixture generator does."""
    from optimum.quanto import QModuleMixin, qint8
    for m in model.modules():
        if isinstance(m, QModuleMixin) and m.weight_qtype == qint8 and m.activation_qtype is None and \
                m.weight.dtype == torch.bfloat16 and m.weight._data.data_ptr() % 16 != 0:
            m.weight._data = m.weight._data.clone()


def compare_outputs(ours, theirs):
    identical, cos, agree, total = True, 1.0, 0, 0
    for k, t in theirs.items():
        o = ours[k].double()
        t = t.double()
        identical &= bool(torch.equal(o, t))
        cos = min(cos, float(F.cosine_similarity(o.reshape(-1), t.reshape(-1), dim=0)))
        agree += int((o.argmax(-1) == t.argmax(-1)).sum())
        total += o.argmax(-1).numel()
    return identical, cos, agree, total


def check_one(cli, fixtures, rec, work):
    d = os.path.join(fixtures, rec["dir"])
    float_dir = os.path.join(os.path.dirname(d), "float")
    out = os.path.join(work, rec["dir"].replace("/", "_"))
    cmd = cli_command(cli, rec, float_dir, out)
    row = {"dir": rec["dir"], "problems": []}
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        tail = (r.stdout.strip().splitlines() or ["(no output)"])[-1]
        row["problems"].append(f"CLI failed (status {r.returncode}): {tail}")
        return row
    for f in ("model.safetensors", "quanto_qmap.json", "config.json"):
        if not os.path.exists(os.path.join(out, f)):
            row["problems"].append(f"{f} not written")
    if row["problems"]:
        return row
    same, problems = compare_tensors(os.path.join(out, "model.safetensors"), os.path.join(d, "model.safetensors"))
    row["tensors_identical"] = same
    row["problems"] += problems
    if json.load(open(os.path.join(out, "quanto_qmap.json"))) != json.load(open(os.path.join(d, "quanto_qmap.json"))):
        row["problems"].append("quanto_qmap.json differs")
    tie = [json.load(open(os.path.join(x, "config.json"))).get("tie_word_embeddings") for x in (out, d)]
    if tie[0] != tie[1]:
        row["problems"].append(f"config.json tie_word_embeddings {tie[0]} vs quanto {tie[1]}")
    expected = load_file(os.path.join(d, "outputs.safetensors"))
    try:
        if rec["arch"] == "bert":
            ours = bert_outputs(out, expected)
            theirs = {"last_hidden_state": expected["last_hidden_state"]}
        else:
            ours = decoder_outputs(out, expected)
            theirs = {k: v for k, v in expected.items() if k.startswith("logits_") and "inprocess" not in k}
    except Exception as e:                      # quanto could not load our directory
        row["problems"].append(f"quanto cannot load it: {type(e).__name__}: {str(e).splitlines()[0][:120]}")
        return row
    row["outputs"] = compare_outputs(ours, theirs)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cli", help="the portaquant executable")
    ap.add_argument("--fixtures", default=DEFAULT_FIXTURES)
    ap.add_argument("--only", default=None, help="comma-separated architectures (llama,qwen2,bert,...)")
    ap.add_argument("--keep", default=None, help="write the CLI's directories here and keep them")
    args = ap.parse_args()
    torch.set_num_threads(1)
    index = json.load(open(os.path.join(args.fixtures, "index.json")))
    only = None if args.only is None else set(args.only.split(","))
    recs = []
    for d in index["directories"]:
        rec = json.load(open(os.path.join(args.fixtures, d, "fixture.json")))
        if rec["kind"] != "float" and (only is None or rec["arch"] in only):
            recs.append(rec)
    work = args.keep or tempfile.mkdtemp(prefix="pq-quanto-check-")
    os.makedirs(work, exist_ok=True)
    bad = 0
    print(f"{'directory':30s} {'tensors':>8s}  {'outputs (quanto loading ours vs quanto)':45s} result")
    try:
        for rec in recs:
            row = check_one(args.cli, args.fixtures, rec, work)
            if "outputs" in row:
                ident, cos, agree, total = row["outputs"]
                outs = ("identical" if ident else "differ") + f", cos {cos:.6f}, argmax {agree}/{total}"
            else:
                outs = "-"
            ok = not row["problems"]
            bad += not ok
            print(f"{row['dir']:30s} {row.get('tensors_identical', '-'):>8}  {outs:45s} "
                  f"{'identical' if ok else 'MISMATCH'}")
            for p in row["problems"][:10]:
                print(f"    {p}")
            if len(row["problems"]) > 10:
                print(f"    ... and {len(row['problems']) - 10} more")
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{len(recs) - bad} of {len(recs)} directories identical to optimum-quanto's")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
