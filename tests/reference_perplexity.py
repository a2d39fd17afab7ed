#!/usr/bin/env python3
"""Perplexity of a Hugging Face decoder with transformers (and optionally optimum-quanto), by
llama.cpp's method — the reference `portaquant perplexity` is compared with.

The text's tokens (tokenizer.json, special tokens as the tokenizer adds them) are cut into
consecutive windows of --ctx tokens; each window runs alone (its first token replaced by BOS
when the tokenizer adds one), and the negative log-likelihood of token i+1 given 0..i is
summed for i = ctx/2 .. ctx-2. Needs torch, transformers and (for --weights) optimum-quanto.

    python3 tests/reference_perplexity.py MODEL_DIR /usr/share/common-licenses/GPL-3 [--ctx 512]
        [--weights int4|int8|int2|float8 [--activations int8|float8 --calibration-text FILE]]
        [--max-windows N]
"""
import argparse
import math
import time

import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM


def quantized(model, args, tokenizer):
    from optimum.quanto import Calibration, QuantizedModelForCausalLM, qfloat8, qint2, qint4, qint8
    qtypes = {"int2": qint2, "int4": qint4, "int8": qint8, "float8": qfloat8, "none": None}
    q = QuantizedModelForCausalLM.quantize(model, weights=qtypes[args.weights], activations=qtypes[args.activations],
                                           exclude="lm_head")
    if args.activations != "none":
        ids = tokenizer.encode(open(args.calibration_text).read(), add_special_tokens=False).ids
        with torch.no_grad(), Calibration():
            for i in range(args.calibration_samples):
                q(torch.tensor([ids[i * args.calibration_length:(i + 1) * args.calibration_length]]))
    return q


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model_dir")
    p.add_argument("text")
    p.add_argument("--ctx", type=int, default=512)
    p.add_argument("--max-windows", type=int, default=0)
    p.add_argument("--weights", default="none")
    p.add_argument("--activations", default="none")
    p.add_argument("--calibration-text")
    p.add_argument("--calibration-samples", type=int, default=16)
    p.add_argument("--calibration-length", type=int, default=128)
    args = p.parse_args()
    torch.manual_seed(0)
    tokenizer = Tokenizer.from_file(f"{args.model_dir}/tokenizer.json")
    model = AutoModelForCausalLM.from_pretrained(args.model_dir).eval()
    if args.weights != "none" or args.activations != "none":
        model = quantized(model, args, tokenizer)
    tokens = tokenizer.encode(open(args.text).read(), add_special_tokens=True).ids
    bos = tokenizer.encode("", add_special_tokens=True).ids[:1]
    windows = len(tokens) // args.ctx
    if args.max_windows:
        windows = min(windows, args.max_windows)
    first = args.ctx // 2
    nll, nll2, count = 0.0, 0.0, 0
    start = time.time()
    for w in range(windows):
        window = tokens[w * args.ctx:(w + 1) * args.ctx]
        if bos:
            window[0] = bos[0]
        with torch.no_grad():
            logits = model(torch.tensor([window])).logits[0].float()
        logits = logits.dequantize() if hasattr(logits, "dequantize") else logits
        logp = torch.log_softmax(logits.double(), dim=-1)
        for i in range(first, args.ctx - 1):
            v = -logp[i, tokens[w * args.ctx + i + 1]].item()
            nll += v
            nll2 += v * v
            count += 1
    mean = nll / count
    var = nll2 / count - mean * mean
    ppl = math.exp(mean)
    err = ppl * math.sqrt(var / (count - 1)) if var > 0 and count > 1 else 0.0
    print(f"perplexity: {ppl:.4f} +/- {err:.4f} over {count} tokens ({windows} windows of {args.ctx}) "
          f"[transformers{' + optimum-quanto ' + args.weights + '/' + args.activations if args.weights != 'none' or args.activations != 'none' else ''}, "
          f"{time.time() - start:.1f} s]")


if __name__ == "__main__":
    main()
