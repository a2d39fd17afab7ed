#!/usr/bin/env python3
"""Generate tests/fixtures/transformers/: small random Hugging Face transformer models (Llama, Llama with
tied embeddings, Mistral, Qwen2, BERT, BertForMaskedLM), their outputs under transformers, and the same
models quantized by optimum-quanto, with quanto's outputs and calibration traces.

Needs torch, transformers, tokenizers, accelerate, optimum-quanto and safetensors
(tests/requirements-fixtures.txt). CI never runs this; the C++ tests read the committed files. CPU only,
one thread, deterministic: a rerun writes identical bytes (`--check-reproducible` proves it).

Layout (see tests/fixtures/transformers/README.md for what each file holds and what was found):
  <arch>/<dtype>/float/         save_pretrained of the random float model + tokenizer + outputs.safetensors
  <arch>/<dtype>/<config>/      the directory quanto wrote (decoders: QuantizedModelForCausalLM.save_pretrained;
                                bert: state_dict + quanto_qmap.json + config.json) + tokenizer + outputs.safetensors
                                (+ calibration.safetensors when activations are quantized)
  linear_n1/<case>/             nn.Linear(n, 1) quantized by quanto (a degenerate per-tensor case)
  fixture.json files            the exact calls, versions, inputs and checks of each directory

Besides recording quanto, the script re-implements the forward of every quantized directory in plain torch
from the files alone (`FileModel`) and checks, bit for bit, that it reproduces quanto's reloaded outputs
(and, with the streamline semantics, its in-process outputs), that it reproduces every calibrated scale by
running the calibration itself, and that the EMA arithmetic reproduces every step of the recorded traces.
The README states the results; the script exits with status 1 if a check fails.

    python3 tests/make_transformer_fixtures.py [--out DIR] [--only llama,bert] [--check-reproducible]
"""
import argparse
import collections
import contextlib
import filecmp
import glob
import hashlib
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

import transformers
import tokenizers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (AutoConfig, AutoModel, AutoModelForCausalLM, BertConfig, BertForMaskedLM, BertModel,
                          LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM,
                          PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM)

import optimum.quanto as quanto
import optimum.quanto.calibrate as quanto_calibrate
import optimum.quanto.library.qbytes_mm as quanto_qbytes_mm
from optimum.quanto import (Calibration, QModuleMixin, QTensor, QuantizedModelForCausalLM, freeze, qfloat8_e4m3fn,
                            qint2, qint4, qint8, quantization_map, quantize, requantize)
from optimum.quanto.tensor import ActivationQBytesTensor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_fixtures import default_group_size  # noqa: E402

DEFAULT_OUT = os.path.join(HERE, "fixtures", "transformers")
LICENSES = "/usr/share/common-licenses"
META = {"format": "pt"}            # what transformers writes; one key only (safetensors writes a hash map)
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}

# ------------------------------------------------------------------------------------------------------------
# What is generated
# ------------------------------------------------------------------------------------------------------------
BPE_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
WORDPIECE_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCAB = 512
CALIBRATION_TEXT = os.path.join(LICENSES, "GPL-2")
CALIBRATION_SAMPLES, CALIBRATION_LENGTH = 4, 32
EVAL_TEXT = os.path.join(LICENSES, "Apache-2.0")
EVAL_SLICES = [(0, 7), (40, 16), (100, 33)]          # (offset, length) into the tokenized EVAL_TEXT
PROMPTS = ["The GNU General Public License", "Licensed under the Apache License, Version 2.0"]
NEW_TOKENS = 32
BERT_TEXTS = ["The licenses for most software are designed to take away your freedom to share and change it.",
              "Copyright (C) 1989, 1991 Free Software Foundation, Inc.",
              "You may charge a fee."]

# name -> (weights, activations, exclude)
DECODER_CONFIGS = OrderedDict([
    ("w8", (qint8, None, "lm_head")),
    ("w4", (qint4, None, "lm_head")),
    ("w2", (qint2, None, "lm_head")),
    ("wf8", (qfloat8_e4m3fn, None, "lm_head")),
    ("w8a8", (qint8, qint8, "lm_head")),
    ("w8af8", (qint8, qfloat8_e4m3fn, "lm_head")),
    ("w8_lmhead", (qint8, None, None)),
])
BERT_CONFIGS = OrderedDict([
    ("w8", (qint8, None, None)),
    ("w4", (qint4, None, None)),
    ("w8a8", (qint8, qint8, None)),
    ("w8af8", (qint8, qfloat8_e4m3fn, None)),
])
GENERATE_CONFIGS = ["w8", "w4"]              # greedy generation is recorded for float + these

# Which quantized configurations each architecture gets per dtype (every architecture and dtype also gets
# float/). The full set runs on the two smallest decoders (one untied, one tied with biases); the larger
# ones get what exercises their particular shapes, so that everything stays within the size budget.
ALL_DECODER = list(DECODER_CONFIGS)
Arch = collections.namedtuple("Arch", "cls config seed linear_std matrix")


def decoder_archs():
    """Sizes are chosen so that the int4 group-size cases of quanto's rule appear: in_features 136 (llama
    down_proj) and 144 (mistral): per-row fallback although > 128; 160 (llama_tied): G=32; 192 (qwen2): G=96;
    256 (bert output.dense): G=128, TinyGemm in bfloat16; <= 128 everywhere else: per row."""
    common = dict(vocab_size=VOCAB, bos_token_id=0, eos_token_id=0, pad_token_id=None, hidden_act="silu")
    return OrderedDict([
        ("llama", Arch(LlamaForCausalLM, LlamaConfig(
            hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=136, tie_word_embeddings=False, max_position_embeddings=512, rms_norm_eps=1e-6,
            rope_parameters={"rope_type": "llama3", "rope_theta": 10000.0, "factor": 8.0, "low_freq_factor": 1.0,
                             "high_freq_factor": 4.0, "original_max_position_embeddings": 64},
            **common), 1, 0.1,
            {"float32": ALL_DECODER, "float16": ["w8", "w4", "w8a8"], "bfloat16": ["w8", "w4", "w8a8"]})),
        ("llama_tied", Arch(LlamaForCausalLM, LlamaConfig(
            hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=32,
            intermediate_size=160, tie_word_embeddings=True, max_position_embeddings=512, rms_norm_eps=1e-5,
            attention_bias=False, rope_parameters={"rope_type": "linear", "rope_theta": 10000.0, "factor": 2.0},
            **common), 2, 0.2,
            {"float32": ["w4", "w8a8", "w8_lmhead"], "float16": [], "bfloat16": ["w8"]})),
        ("mistral", Arch(MistralForCausalLM, MistralConfig(
            hidden_size=128, num_hidden_layers=2, num_attention_heads=8, num_key_value_heads=2,
            intermediate_size=144, sliding_window=None, tie_word_embeddings=False, max_position_embeddings=512,
            rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, **common),
            3, 0.1, {"float32": ["w4"], "float16": [], "bfloat16": ["w8"]})),
        ("qwen2", Arch(Qwen2ForCausalLM, Qwen2Config(
            hidden_size=96, num_hidden_layers=2, num_attention_heads=6, num_key_value_heads=2,
            intermediate_size=192, tie_word_embeddings=True, use_sliding_window=False, sliding_window=None,
            max_position_embeddings=512, rms_norm_eps=1e-6,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}, **common), 4, 0.2,
            {"float32": ["w4", "w8a8", "w8_lmhead"], "float16": ["w4", "w8a8"],
             "bfloat16": ["w8", "w4"]})),
    ])


def bert_config(small=False):
    """BertModel: 2 layers, hidden 96, 4 heads (head_dim 24), intermediate 256 (int4 G=128: TinyGemm in
    bfloat16). The
    BertForMaskedLM (only there for the `bert.` prefix) is smaller still."""
    if small:
        return BertConfig(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=1, num_attention_heads=2,
                          intermediate_size=96, max_position_embeddings=128, type_vocab_size=2, pad_token_id=0,
                          hidden_act="gelu", layer_norm_eps=1e-12)
    return BertConfig(vocab_size=VOCAB, hidden_size=96, num_hidden_layers=2, num_attention_heads=4,
                      intermediate_size=256, max_position_embeddings=128, type_vocab_size=2, pad_token_id=0,
                      hidden_act="gelu", layer_norm_eps=1e-12)


BERT_SEED, BERT_MLM_SEED, BERT_LINEAR_STD = 5, 6, 0.1
BERT_MATRIX = {"float32": list(BERT_CONFIGS), "float16": ["w8a8"], "bfloat16": ["w8", "w4"]}


# ------------------------------------------------------------------------------------------------------------
# Setup and small helpers
# ------------------------------------------------------------------------------------------------------------
def setup():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)
    transformers.logging.set_verbosity_error()
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        transformers.utils.logging.disable_progress_bar()
    except AttributeError:
        pass


def versions():
    import accelerate
    import safetensors
    return OrderedDict([("python", platform.python_version()), ("torch", torch.__version__),
                        ("transformers", transformers.__version__), ("tokenizers", tokenizers.__version__),
                        ("accelerate", accelerate.__version__), ("optimum-quanto", quanto.__version__),
                        ("safetensors", safetensors.__version__), ("numpy", np.__version__)])


def license_files():
    return sorted({os.path.realpath(f) for f in glob.glob(os.path.join(LICENSES, "*")) if os.path.isfile(f)})


def deq(t):
    return t.dequantize() if isinstance(t, QTensor) else t


def contiguous(d):
    return OrderedDict((k, v.detach().contiguous()) for k, v in d.items())


def write_json(path, obj):
    with open(path, "w", newline="\n") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def hexbits(t):
    """Bit pattern of a 0-dim float tensor, for the README."""
    t = t.detach().reshape(())
    if t.dtype == torch.float32:
        return "0x%08x" % (t.view(torch.int32).item() & 0xFFFFFFFF)
    return "0x%04x" % (t.view(torch.int16).item() & 0xFFFF)


def dir_bytes(d):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs)


def rel(path, root):
    return os.path.relpath(path, root).replace(os.sep, "/")


# ------------------------------------------------------------------------------------------------------------
# Tokenizers
# ------------------------------------------------------------------------------------------------------------
def build_bpe():
    """Byte-level BPE (GPT-2 pre-tokenizer regex, no prefix space), trained with the tokenizers library. The
    trainer is deterministic here because the initial alphabet is the fixed 256-byte ByteLevel alphabet."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=BPE_SPECIALS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train(license_files(), trainer)
    assert tok.get_vocab_size() == VOCAB
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                   pad_token="<|endoftext|>", model_max_length=512)


def wordpiece_vocab():
    """A WordPiece vocabulary learned by BPE-style merges over the BERT-normalized words of the license texts.
    The tokenizers WordPieceTrainer is not deterministic (hash-map order decides ties, so even the token *set*
    changes between runs); this small trainer breaks ties by the pair's text."""
    norm = normalizers.BertNormalizer(lowercase=True)
    pre = pre_tokenizers.BertPreTokenizer()
    counts = collections.Counter()
    for f in license_files():
        with open(f, encoding="utf-8") as fh:
            for word, _ in pre.pre_tokenize_str(norm.normalize_str(fh.read())):
                counts[word] += 1
    words = {w: [w[0]] + ["##" + c for c in w[1:]] for w in counts}
    vocab = list(WORDPIECE_SPECIALS) + sorted({s for syms in words.values() for s in syms})
    known = set(vocab)
    while len(vocab) < VOCAB:
        pairs = collections.Counter()
        for w, syms in words.items():
            for a, b in zip(syms, syms[1:]):
                pairs[(a, b)] += counts[w]
        if not pairs:
            break
        (a, b), _ = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
        new = a + b[2:]
        for w, syms in words.items():
            i, out = 0, []
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(new)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            words[w] = out
        if new not in known:
            known.add(new)
            vocab.append(new)
    return OrderedDict((t, i) for i, t in enumerate(vocab))


def build_wordpiece():
    vocab = wordpiece_vocab()
    tok = Tokenizer(models.WordPiece(vocab=vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                                                lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    tok.decoder = decoders.WordPiece(prefix="##")
    assert tok.get_vocab_size() == VOCAB
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]",
                                   cls_token="[CLS]", mask_token="[MASK]", model_max_length=128)


def calibration_ids(tok):
    with open(CALIBRATION_TEXT, encoding="utf-8") as f:
        ids = tok.encode(f.read(), add_special_tokens=False)
    assert len(ids) >= CALIBRATION_SAMPLES * CALIBRATION_LENGTH
    return [ids[i * CALIBRATION_LENGTH:(i + 1) * CALIBRATION_LENGTH] for i in range(CALIBRATION_SAMPLES)]


def eval_sequences(tok):
    with open(EVAL_TEXT, encoding="utf-8") as f:
        ids = tok.encode(f.read(), add_special_tokens=False)
    return [ids[o:o + n] for o, n in EVAL_SLICES]


# ------------------------------------------------------------------------------------------------------------
# Random models
# ------------------------------------------------------------------------------------------------------------
def init_params(model, seed, linear_std):
    """Larger-than-default random weights so that logits are spread and greedy decoding does not collapse:
    linear weights N(0, linear_std) (0.1 or 0.2: with 0.1 the tied models repeat a handful of tokens),
    embeddings and lm_head N(0, 0.3), norm gains N(1, 0.1), biases N(0, 0.1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            noise = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if leaf == "bias":
                p.copy_(0.1 * noise)
            elif p.ndim == 1:                                   # RMSNorm / LayerNorm gains
                p.copy_(1.0 + 0.1 * noise)
            elif "embed" in name or name.startswith("lm_head"):
                p.copy_(0.3 * noise)
            else:
                p.copy_(linear_std * noise)
    return model


def save_tokenizer(tok, d):
    """tokenizer.save_pretrained, then tokenizer.json rewritten without indentation (same content; the
    pretty-printed file is twice as large and it is repeated in every directory)."""
    tok.save_pretrained(d)
    tok.backend_tokenizer.save(os.path.join(d, "tokenizer.json"), pretty=False)


# ------------------------------------------------------------------------------------------------------------
# Calibration tracing: wraps quanto's Calibration hooks and absmax_scale/_updated_scale
# ------------------------------------------------------------------------------------------------------------
class CalibrationTracer:
    """Records, per calibration step and quantized module, what quanto observed and decided.

    Patches (for the duration of the `with`) quanto's `calibrate.absmax_scale` / `calibrate._updated_scale`,
    `Calibration.calibrate_input` / `calibrate_output` and `QModuleMixin.disable_output_quantization`, and adds
    a forward hook (after quanto's) on every quantized module to see whether its output was quantized."""

    def __init__(self, model):
        self.model = model
        self.all_names = {m: n for n, m in model.named_modules()}
        self.qnames = OrderedDict((m, n) for n, m in model.named_modules()
                                  if isinstance(m, QModuleMixin) and m.activation_qtype is not None)
        self.step = 0
        self.ctx = None
        self.parent = None
        keys = ["input_scale", "output_scale", "input_observed", "output_observed", "input_absmax",
                "output_absmax", "input_adopted", "output_quantized", "output_hook_after"]
        self.rec = OrderedDict((n, {k: [] for k in keys}) for n in self.qnames.values())
        self.removals = []          # (step, parent, parent class, child, hook was installed)
        self.order = []             # module forward order in step 0
        self.updates = []           # (module, kind, momentum, old, new, result) for the arithmetic check
        self.int_mm_shapes = set()

    def __enter__(self):
        tracer = self
        self.saved = (quanto_calibrate.absmax_scale, quanto_calibrate._updated_scale,
                      Calibration.calibrate_input, Calibration.calibrate_output,
                      QModuleMixin.disable_output_quantization)
        orig_absmax, orig_update, orig_ci, orig_co, orig_disable = self.saved

        def absmax_scale(base, qtype=qint8, axis=None):
            s = orig_absmax(base, qtype, axis)
            if tracer.ctx is not None:
                name, kind = tracer.ctx
                tracer.rec[name][kind + "_observed"].append(s.detach().clone())
                tracer.rec[name][kind + "_absmax"].append(torch.max(torch.abs(base)).detach().clone())
            return s

        def updated_scale(scale, new_scale, momentum):
            r = orig_update(scale, new_scale, momentum)
            if tracer.ctx is not None:
                tracer.updates.append((tracer.ctx[0], tracer.ctx[1], momentum, scale.detach().clone(),
                                       new_scale.detach().clone(), r.detach().clone()))
            return r

        def calibrate_input(cal, module, input, momentum=0.9):
            name = tracer.qnames.get(module)
            if name is None:
                return orig_ci(cal, module, input)
            tracer.ctx = (name, "input")
            adopted = isinstance(input[0], ActivationQBytesTensor)
            try:
                r = orig_ci(cal, module, input)
            finally:
                tracer.ctx = None
            rec = tracer.rec[name]
            rec["input_adopted"].append(adopted)
            if adopted:
                rec["input_observed"].append(torch.full((), float("nan"), dtype=module.input_scale.dtype))
                rec["input_absmax"].append(torch.full((), float("nan"), dtype=module.input_scale.dtype))
            return r

        def calibrate_output(cal, module, input, output):
            name = tracer.qnames.get(module)
            if name is None:
                tracer.parent = module
                try:
                    return orig_co(cal, module, input, output)
                finally:
                    tracer.parent = None
            tracer.ctx = (name, "output")
            try:
                return orig_co(cal, module, input, output)
            finally:
                tracer.ctx = None

        def disable_output_quantization(module):
            installed = "output" in module._quantize_hooks and \
                module._quantize_hooks["output"].id in module._forward_hooks
            p = tracer.parent
            tracer.removals.append((tracer.step, tracer.all_names.get(p, "?"), type(p).__name__,
                                    tracer.all_names[module], installed))
            return orig_disable(module)

        quanto_calibrate.absmax_scale = absmax_scale
        quanto_calibrate._updated_scale = updated_scale
        Calibration.calibrate_input = calibrate_input
        Calibration.calibrate_output = calibrate_output
        QModuleMixin.disable_output_quantization = disable_output_quantization
        self.handles = []
        for m, n in self.qnames.items():
            def hook(mod, args, out, n=n):
                tracer.rec[n]["output_quantized"].append(isinstance(out, ActivationQBytesTensor))
                if tracer.step == 0:
                    tracer.order.append(n)
            self.handles.append(m.register_forward_hook(hook))
        return self

    def end_step(self):
        for m, n in self.qnames.items():
            r = self.rec[n]
            r["input_scale"].append(m.input_scale.detach().clone())
            r["output_scale"].append(m.output_scale.detach().clone())
            r["output_hook_after"].append("output" in m._quantize_hooks and
                                          m._quantize_hooks["output"].id in m._forward_hooks)
        self.step += 1

    def __exit__(self, *exc):
        (quanto_calibrate.absmax_scale, quanto_calibrate._updated_scale, Calibration.calibrate_input,
         Calibration.calibrate_output, QModuleMixin.disable_output_quantization) = self.saved
        for h in self.handles:
            h.remove()
        return False

    def tensors(self):
        out = OrderedDict()
        for n, r in self.rec.items():
            for k, v in r.items():
                if not v:
                    continue
                if isinstance(v[0], bool):
                    out[f"{n}.{k}"] = torch.tensor(v, dtype=torch.uint8)
                else:
                    out[f"{n}.{k}"] = torch.stack([x.reshape(()) for x in v])
        return out


def calibrate(model, samples):
    """The quanto calibration calls of the brief, traced: one sample per forward, batch 1, in order."""
    tracer = CalibrationTracer(model)
    with tracer, torch.no_grad(), Calibration():
        for ids in samples:
            model(torch.tensor([ids]))
            tracer.end_step()
    return tracer


# ------------------------------------------------------------------------------------------------------------
# Traces of what flows through a quantized model (for the README): which module produced the scale of a
# quantized input, and what each op does to a quantized activation.
# ------------------------------------------------------------------------------------------------------------
class FlowTracer:
    def __init__(self, model):
        self.model = model
        self.qmods = OrderedDict((n, m) for n, m in model.named_modules() if isinstance(m, QModuleMixin))
        self.modules = []
        self._in = {}
        self.ops = []
        self.mm = []

    def producer(self, t):
        """The scale buffer (by identity) a quantized activation carries: '<module>.output_scale' or
        '<module>.input_scale'."""
        for n, m in self.qmods.items():
            if t._scale is m.output_scale:
                return n + ".output_scale"
            if t._scale is m.input_scale:
                return n + ".input_scale"
        return "another tensor"

    def describe(self, t):
        if isinstance(t, ActivationQBytesTensor):
            return f"{t.qtype.name}, scale = {self.producer(t)}"
        if isinstance(t, torch.Tensor):
            return f"float ({DTYPE_NAMES.get(t.dtype, t.dtype)})"
        return type(t).__name__

    def __enter__(self):
        tracer = self
        self.handles = []
        for n, m in self.qmods.items():
            def pre(mod, args, n=n):                       # runs before quanto's input hook
                tracer._in[n] = tracer.describe(args[0])
            def post(mod, args, out, n=n):
                before, after = tracer._in.pop(n), tracer.describe(args[0])
                src = before if before == after else f"{before} -> {after}"
                tracer.modules.append((n, type(mod).__name__, src, tracer.describe(out)))
            self.handles.append(m.register_forward_pre_hook(pre, prepend=True))
            self.handles.append(m.register_forward_hook(post))
        self.orig_dispatch = ActivationQBytesTensor.__torch_dispatch__.__func__

        def dispatch(cls, op, types, args, kwargs=None):
            out = tracer.orig_dispatch(cls, op, types, args, kwargs)
            name = str(op.overloadpacket.__name__) if hasattr(op, "overloadpacket") else str(op)
            first = out[0] if isinstance(out, (tuple, list)) else out
            qargs = [a for a in torch.utils._pytree.tree_leaves((args, kwargs or {}))
                     if isinstance(a, ActivationQBytesTensor)]
            if name not in ("detach", "_to_copy", "is_same_size", "clone"):
                tracer.ops.append((name, qargs[0].qtype.name if qargs else "?",
                                   "stays quantized (same scale)" if isinstance(first, ActivationQBytesTensor)
                                   else f"dequantized -> {tracer.describe(first)}"))
            return out
        ActivationQBytesTensor.__torch_dispatch__ = classmethod(dispatch)
        self.saved_mm = (quanto_qbytes_mm.qbytes_int_mm, quanto_qbytes_mm.qbytes_mm,
                         quanto_qbytes_mm.qbytes_int8pack_mm)
        int_mm, plain_mm, pack_mm = self.saved_mm

        def log(kind, f):
            def g(a, w, s):
                tracer.mm.append((kind, str(a.dtype)[6:], str(w.dtype)[6:], str(s.dtype)[6:], tuple(a.shape),
                                  tuple(w.shape)))
                return f(a, w, s)
            return g
        quanto_qbytes_mm.qbytes_int_mm = log("torch._int_mm (int32 accumulate)", int_mm)
        quanto_qbytes_mm.qbytes_mm = log("float matmul of scale*weights", plain_mm)
        quanto_qbytes_mm.qbytes_int8pack_mm = log("torch._weight_int8pack_mm", pack_mm)
        return self

    def __exit__(self, *exc):
        ActivationQBytesTensor.__torch_dispatch__ = classmethod(self.orig_dispatch)
        (quanto_qbytes_mm.qbytes_int_mm, quanto_qbytes_mm.qbytes_mm,
         quanto_qbytes_mm.qbytes_int8pack_mm) = self.saved_mm
        for h in self.handles:
            h.remove()
        return False


def generic_name(n):
    """model.layers.1.self_attn.q_proj -> model.layers.N.self_attn.q_proj (also inside longer strings)"""
    return re.sub(r"\.\d+\.", ".N.", n)


def flow_summary(tracer):
    mods, seen = [], set()
    for n, cls, src, out in tracer.modules:
        key = (generic_name(n), generic_name(src), generic_name(out))
        if key not in seen:
            seen.add(key)
            mods.append(list(key[:1]) + [cls] + list(key[1:]))
    ops = []
    for row in tracer.ops:
        if list(row) not in ops:
            ops.append(list(row))
    mm = []
    for row in tracer.mm:
        r = [row[0], row[1], row[2], row[3], "x".join(map(str, row[4])), "x".join(map(str, row[5]))]
        if r not in mm:
            mm.append(r)
    return {"modules": mods, "ops": ops, "matmuls": mm}


# ------------------------------------------------------------------------------------------------------------
# Independent re-implementation of the quantized forward, from the saved files only (plain torch ops, in the
# order transformers and quanto apply them, so that the comparison can be bit for bit).
# ------------------------------------------------------------------------------------------------------------
QMAX = {"qint8": 127, "qfloat8_e4m3fn": 448.0}       # iinfo(int8).max is the python int 127


class QA:
    """A per-tensor quantized activation: int8 or float8 codes and a 0-dim scale in the model dtype."""

    def __init__(self, data, scale, qtype):
        self.data, self.scale, self.qtype = data, scale, qtype

    def deq(self):
        # quanto QBytesDequantizer: scale * data (int8 promotes to the scale dtype; float8 is upcast first)
        if self.qtype == "qfloat8_e4m3fn":
            return self.scale * self.data.to(self.scale.dtype)
        return self.scale * self.data

    def map(self, f):
        """A view-like op (view, transpose, reshape, select, slice): applied to the codes, scale kept."""
        return QA(f(self.data), self.scale, self.qtype)


def fl(x):
    return x.deq() if isinstance(x, QA) else x


def q_act(x, scale, qtype):
    # quanto::quantize_symmetric(axis=None): a true division in the tensor dtype, round half to even for
    # int8, clamp to the storage type's finite range, cast (float8: round to nearest even)
    y = x / scale
    if qtype == "qint8":
        return QA(torch.clamp(torch.round(y), -128, 127).to(torch.int8), scale, qtype)
    return QA(torch.clamp(y, -448.0, 448.0).to(torch.float8_e4m3fn), scale, qtype)


def absmax_over_qmax(x, qtype):
    return torch.max(torch.abs(x)) / QMAX[qtype]


def ema(scale, new, momentum=0.9):
    # calibrate._updated_scale: 1.0 means "never calibrated"; else momentum*scale + new*(1-momentum) in the
    # scale dtype, python floats as scalars
    if bool(torch.all(scale == 1)):
        return new
    return momentum * scale + new * (1.0 - momentum)


# QModuleMixin's rule for qint2/qint4: 128, 96, 64 or 32 dividing in_features if in_features > 128
group_size_for = default_group_size


def unpack_planar(packed, bits, rows):
    """PackedTensor.unpack: value i of byte r is row r + i*R (R = packed rows), then cut to `rows`."""
    mask = (1 << bits) - 1
    return torch.cat([(packed >> (bits * i)) & mask for i in range(8 // bits)], 0)[:rows]


class FileModel:
    """Reads config.json, model.safetensors and (if present) quanto_qmap.json; runs the forward of the
    architecture with quanto's semantics. quantize_outputs=True: a model rebuilt from the files (every
    activation-quantized module quantizes its output); False: the in-process model after a streamlined
    calibration (no module quantizes its output). calib: dict of input/output scales to update as Calibration
    does (and to use instead of the saved ones); calib_quantize_outputs says whether the output hooks are
    still installed during this calibration step."""

    def __init__(self, d):
        with open(os.path.join(d, "config.json")) as f:
            self.cfg = json.load(f)
        self.sd = load_file(os.path.join(d, "model.safetensors"))
        qp = os.path.join(d, "quanto_qmap.json")
        self.qmap = json.load(open(qp)) if os.path.exists(qp) else {}
        self.dtype = getattr(torch, self.cfg["dtype"])
        self.prefix = "bert." if "bert.embeddings.word_embeddings.weight" in self.sd else ""
        self.stats = collections.Counter()
        self.fix_neg = False              # True: negate after dequantizing (what quanto does for float8)

    # --- shapes of every Linear, from config.json (quanto does not store them) ---
    def linear_shapes(self):
        c, s = self.cfg, {}
        if c["model_type"] == "bert":
            h, i = c["hidden_size"], c["intermediate_size"]
            for l in range(c["num_hidden_layers"]):
                p = f"{self.prefix}encoder.layer.{l}."
                for n in ("query", "key", "value"):
                    s[p + "attention.self." + n] = (h, h)
                s[p + "attention.output.dense"] = (h, h)
                s[p + "intermediate.dense"] = (i, h)
                s[p + "output.dense"] = (h, i)
            s[self.prefix + "pooler.dense"] = (h, h)
            return s
        h, i = c["hidden_size"], c["intermediate_size"]
        hd = c.get("head_dim") or h // c["num_attention_heads"]
        nh, nkv = c["num_attention_heads"], c["num_key_value_heads"]
        for l in range(c["num_hidden_layers"]):
            p = f"model.layers.{l}."
            s[p + "self_attn.q_proj"] = (nh * hd, h)
            s[p + "self_attn.k_proj"] = (nkv * hd, h)
            s[p + "self_attn.v_proj"] = (nkv * hd, h)
            s[p + "self_attn.o_proj"] = (h, nh * hd)
            s[p + "mlp.gate_proj"] = (i, h)
            s[p + "mlp.up_proj"] = (i, h)
            s[p + "mlp.down_proj"] = (h, i)
        s["lm_head"] = (c["vocab_size"], h)
        return s

    def scales(self):
        return self.calib if self.calib is not None else self.sd

    def observe_input(self, name, x, aq):
        if self.calib is None:
            return
        key = name + ".input_scale"
        if isinstance(x, QA):
            self.calib[key] = torch.max(x.scale)            # adopt the incoming scale
        else:
            self.calib[key] = ema(self.calib[key], absmax_over_qmax(x, aq))
        self.calib_log.setdefault(key, []).append(self.calib[key].clone())

    def finish_output(self, name, y, aq):
        """Calibrate (if calibrating) and quantize (if the output hook is on) a module's float output."""
        if aq is None:
            return y
        key = name + ".output_scale"
        if self.calib is not None:
            self.calib[key] = ema(self.calib[key], absmax_over_qmax(y, aq))
            self.calib_log.setdefault(key, []).append(self.calib[key].clone())
            return q_act(y, self.calib[key], aq) if self.calib_quantize_outputs else y
        return q_act(y, self.sd[key], aq) if self.quantize_outputs else y

    def weight_deq(self, p, wq, shape):
        sd = self.sd
        if wq in ("qint8", "qfloat8_e4m3fn"):
            data, scale = sd[p + "weight._data"], sd[p + "weight._scale"]
            return scale * (data.to(scale.dtype) if wq == "qfloat8_e4m3fn" else data)
        bits = 4 if wq == "qint4" else 2
        scale, shift = sd[p + "weight._scale"], sd[p + "weight._shift"]
        u = unpack_planar(sd[p + "weight._data._data"], bits, scale.shape[0])
        w = scale * u
        w -= shift                                          # float shift = -min of the row or group
        return w.reshape(shape)

    def linear(self, name, x):
        """nn.Linear or quanto QLinear `name` applied to x (float tensor or QA)."""
        p = name + "."
        sd = self.sd
        shape = self.linear_shapes()[name]
        bias = sd.get(p + "bias")
        q = self.qmap.get(name)
        if q is None:                                       # a float nn.Linear
            w = sd.get(p + "weight")
            if w is None:                                   # tied lm_head
                w = sd[self.embed_key()]
            return F.linear(fl(x), w, bias)
        wq, aq = q["weights"], (None if q["activations"] == "none" else q["activations"])
        if aq is not None:
            self.observe_input(name, x, aq)
            if not isinstance(x, QA):                       # QLinear input pre-hook
                x = q_act(x, self.scales()[p + "input_scale"], aq)
        out_shape = tuple(x.data.shape if isinstance(x, QA) else x.shape)[:-1] + (shape[0],)
        if wq in ("qint8", "qfloat8_e4m3fn"):
            w_data, w_scale = sd[p + "weight._data"], sd[p + "weight._scale"]
            if isinstance(x, QA):                           # WeightQBytesLinearFunction, quantized input
                s = x.scale * w_scale                       # [O,1] in the model dtype
                if x.data.dtype == torch.int8 and w_data.dtype == torch.int8:
                    acc = torch._int_mm(x.data.reshape(-1, shape[1]), w_data.t()).reshape(out_shape)
                    y = (acc.to(torch.float32) * s.t()).to(s.dtype)
                    self.stats["int_mm"] += 1
                else:
                    wf = w_data.to(s.dtype) if w_data.dtype.is_floating_point else w_data
                    y = torch.matmul(x.data.to(s.dtype), (s * wf).t())
                    self.stats["float_mm_of_codes"] += 1
            else:
                x2 = x.reshape(-1, shape[1])
                if x.dtype == torch.bfloat16 and w_data.dtype == torch.int8 and shape[1] % 4 == 0:
                    aligned = w_data if w_data.data_ptr() % 16 == 0 else w_data.clone()   # see realign_int8pack_weights
                    y = torch._weight_int8pack_mm(x2, aligned, w_scale.flatten())
                    self.stats["weight_int8pack_mm"] += 1
                else:
                    wf = w_data.to(w_scale.dtype) if w_data.dtype.is_floating_point else w_data
                    y = torch.matmul(x2, (w_scale * wf).t())
                    self.stats["float_mm"] += 1
                y = y.reshape(out_shape)
        else:
            g = group_size_for(shape[1])
            xf = fl(x)
            if wq == "qint4" and self.dtype == torch.bfloat16 and g == 128:
                y = self.tinygemm(p, xf, shape, g).reshape(out_shape)
                self.stats["tinygemm"] += 1
            else:
                y = torch.matmul(xf, self.weight_deq(p, wq, shape).t())
                self.stats["float_mm_dequantized"] += 1
        if bias is not None:
            y = y + bias
        return self.finish_output(name, y, aq)

    def tinygemm(self, p, x, shape, g):
        """bfloat16 qint4 with G=128 on CPU: quanto re-packs the weights for torch's tinygemm kernel at load
        (TinyGemmWeightQBitsTensor) with zero = -shift + 8*scale (bf16) and calls _weight_int4pack_mm."""
        sd = self.sd
        o, i = shape
        scale, shift = sd[p + "weight._scale"], sd[p + "weight._shift"]
        u = unpack_planar(sd[p + "weight._data._data"], 4, scale.shape[0]).reshape(o, i)
        packed = torch._convert_weight_to_int4pack_for_cpu(u.to(torch.int32).contiguous(), innerKTiles=2)
        scale = scale.reshape(o, i // g, 1)
        zero = -shift.reshape(o, i // g, 1) + 8 * scale
        scale_shift = torch.cat([scale, zero], 2).transpose(0, 1).contiguous()
        return torch._weight_int4pack_mm_for_cpu(x.reshape(-1, i), packed, g, scale_shift)

    def layer_norm(self, name, x):
        p = name + "."
        h = self.cfg["hidden_size"]
        y = F.layer_norm(fl(x), (h,), self.sd[p + "weight"], self.sd[p + "bias"], self.cfg["layer_norm_eps"])
        q = self.qmap.get(name)
        if q is None:
            return y
        aq = q["activations"]
        self.observe_input(name, x, aq)                     # calibrated (never used: no input hook)
        return self.finish_output(name, y, aq)

    def embed_key(self):
        return self.prefix + ("embeddings.word_embeddings.weight" if self.cfg["model_type"] == "bert"
                              else "model.embed_tokens.weight")

    # --- decoders (Llama, Mistral, Qwen2) ---
    def rms_norm(self, key, x):
        input_dtype = x.dtype
        h = x.to(torch.float32)
        variance = h.pow(2).mean(-1, keepdim=True)
        h = h * torch.rsqrt(variance + self.cfg["rms_norm_eps"])
        return self.sd[key] * h.to(input_dtype)

    def inv_freq(self):
        c = self.cfg
        rp = c["rope_parameters"]
        dim = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
        base = rp["rope_theta"]
        inv = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).to(dtype=torch.float) / dim))
        kind = rp["rope_type"]
        if kind == "linear":
            inv /= rp["factor"]
        elif kind == "llama3":
            factor, low, high = rp["factor"], rp["low_freq_factor"], rp["high_freq_factor"]
            old = rp["original_max_position_embeddings"]
            low_wavelen, high_wavelen = old / low, old / high
            wavelen = 2 * math.pi / inv
            inv_l = torch.where(wavelen > low_wavelen, inv / factor, inv)
            smooth = (old / wavelen - low) / (high - low)
            smoothed = (1 - smooth) * inv_l / factor + smooth * inv_l
            medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
            inv = torch.where(medium, smoothed, inv_l)
        elif kind != "default":
            raise NotImplementedError(kind)
        return inv

    def rope(self, t):
        pos = torch.arange(t).unsqueeze(0)
        freqs = pos[..., None].float() * self.inv_freq()
        emb = torch.cat((freqs, freqs), dim=-1)
        return (emb.cos() * 1.0).to(self.dtype), (emb.sin() * 1.0).to(self.dtype)

    def rotate_half(self, x):
        if isinstance(x, QA):
            half = x.data.shape[-1] // 2
            x1, x2 = x.map(lambda d: d[..., :half]), x.map(lambda d: d[..., half:])
            if x.qtype == "qint8" and not self.fix_neg:
                # aten.neg on the int8 codes (wraps: -(-128) == -128), cat keeps the common scale
                self.stats["neg_of_minus_128"] += int((x2.data == -128).sum())
                return QA(torch.cat((-x2.data, x1.data), dim=-1), x.scale, x.qtype)
            return torch.cat((-x2.deq(), x1.deq()), dim=-1)   # float8: neg and cat dequantize
        half = x.shape[-1] // 2
        return torch.cat((-x[..., half:], x[..., :half]), dim=-1)

    def decoder_logits(self, ids):
        c = self.cfg
        b, t = ids.shape
        hd = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
        nh, nkv = c["num_attention_heads"], c["num_key_value_heads"]
        h = F.embedding(ids, self.sd["model.embed_tokens.weight"])
        cos, sin = self.rope(t)
        cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
        for l in range(c["num_hidden_layers"]):
            p = f"model.layers.{l}."
            residual = h
            x = self.rms_norm(p + "input_layernorm.weight", h)
            q = self.linear(p + "self_attn.q_proj", x)
            k = self.linear(p + "self_attn.k_proj", x)
            v = self.linear(p + "self_attn.v_proj", x)
            heads = lambda z: z.map(lambda d: d.view(b, t, -1, hd).transpose(1, 2)) if isinstance(z, QA) \
                else z.view(b, t, -1, hd).transpose(1, 2)
            q, k, v = heads(q), heads(k), heads(v)
            q = (fl(q) * cos) + (fl(self.rotate_half(q)) * sin)
            k = (fl(k) * cos) + (fl(self.rotate_half(k)) * sin)
            v = fl(v)                                          # the KV cache's cat dequantizes it
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=None, dropout_p=0.0, scale=hd ** -0.5,
                                               is_causal=t > 1, enable_gqa=nh != nkv)
            a = a.reshape(b, -1, t, hd).transpose(1, 2).contiguous()
            a = a.reshape(b, t, -1).contiguous()
            h = residual + fl(self.linear(p + "self_attn.o_proj", a))
            residual = h
            x = self.rms_norm(p + "post_attention_layernorm.weight", h)
            gate = F.silu(fl(self.linear(p + "mlp.gate_proj", x)))
            up = self.linear(p + "mlp.up_proj", x)
            h = residual + fl(self.linear(p + "mlp.down_proj", gate * fl(up)))
        h = self.rms_norm("model.norm.weight", h)
        return fl(self.linear("lm_head", h))

    # --- BERT ---
    def bert(self, ids, mask, token_types):
        c = self.cfg
        p0 = self.prefix
        b, t = ids.shape
        hd = c["hidden_size"] // c["num_attention_heads"]
        sd = self.sd
        e = F.embedding(ids, sd[p0 + "embeddings.word_embeddings.weight"]) + \
            F.embedding(token_types, sd[p0 + "embeddings.token_type_embeddings.weight"])
        e = e + F.embedding(torch.arange(t).unsqueeze(0), sd[p0 + "embeddings.position_embeddings.weight"])
        x = self.layer_norm(p0 + "embeddings.LayerNorm", e)
        attn_mask = None if bool(mask.all()) else mask.bool()[:, None, None, :].expand(b, 1, t, t)
        for l in range(c["num_hidden_layers"]):
            p = f"{p0}encoder.layer.{l}."
            heads = lambda z: z.map(lambda d: d.view(b, t, -1, hd).transpose(1, 2)) if isinstance(z, QA) \
                else z.view(b, t, -1, hd).transpose(1, 2)
            q = heads(self.linear(p + "attention.self.query", x))
            k = heads(self.linear(p + "attention.self.key", x))
            v = heads(self.linear(p + "attention.self.value", x))
            a = F.scaled_dot_product_attention(fl(q), fl(k), fl(v), attn_mask=attn_mask, dropout_p=0.0,
                                               scale=hd ** -0.5, is_causal=False)
            a = a.reshape(b, -1, t, hd).transpose(1, 2).contiguous()
            a = a.reshape(b, t, -1).contiguous()
            d = self.linear(p + "attention.output.dense", a)
            x = self.layer_norm(p + "attention.output.LayerNorm", fl(d) + fl(x))
            i = F.gelu(fl(self.linear(p + "intermediate.dense", x)))
            o = self.linear(p + "output.dense", i)
            x = self.layer_norm(p + "output.LayerNorm", fl(o) + fl(x))
        pooled = None
        if p0 + "pooler.dense.bias" in sd:
            first = x.map(lambda d: d[:, 0]) if isinstance(x, QA) else x[:, 0]
            pooled = torch.tanh(fl(self.linear(p0 + "pooler.dense", first)))
        return fl(x), pooled

    def run(self, fn, *args, quantize_outputs=True, calib=None, calib_quantize_outputs=True):
        self.quantize_outputs, self.calib, self.calib_quantize_outputs = quantize_outputs, calib, \
            calib_quantize_outputs
        self.calib_log = {}
        with torch.no_grad():
            return fn(*args)

    def calibrate(self, fn, samples):
        """Emulate quanto's calibration: every scale starts at 1.0; the first sample runs with every output
        hook installed, then streamline has removed them all (see README), so later samples run with float
        module outputs. Returns the scale after every step."""
        calib = OrderedDict((k, torch.ones((), dtype=v.dtype)) for k, v in self.sd.items()
                            if k.endswith(".input_scale") or k.endswith(".output_scale"))
        per_step = OrderedDict((k, []) for k in calib)
        for i, s in enumerate(samples):
            self.run(fn, *s, calib=calib, calib_quantize_outputs=(i == 0))
            for k in calib:
                per_step[k].append(calib[k].clone())
        return calib, per_step


# ------------------------------------------------------------------------------------------------------------
# Checks
# ------------------------------------------------------------------------------------------------------------
def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


def max_abs(a, b):
    return float((a.float() - b.float()).abs().max())


def ema_arithmetic_check(tracer):
    """Re-derive every scale update quanto made, from the recorded (old, observation) pairs, with numpy in the
    scale's dtype, one rounding per operation and the scalars 0.9 and 1.0 - 0.9 taken as float32 (torch's
    CPU kernels compute half/bfloat16 ops in float32 and round once). Also re-derives every observation
    absmax/qmax from the recorded absmax. Returns (checked, mismatches) for both."""
    def to_dtype(x, dtype):
        t = torch.tensor(np.float32(x), dtype=torch.float32).to(dtype)
        return np.float32(t.float().item())

    n_upd = bad_upd = bad_single = bad_double = bad_f32_one_minus = 0
    for name, kind, momentum, old, new, result in tracer.updates:
        dt = old.dtype
        o, n = np.float32(old.float().item()), np.float32(new.float().item())
        r = np.float32(result.float().item())
        if o == 1.0:
            expect = single = double = one_minus = n
        else:
            a = to_dtype(np.float32(momentum) * o, dt)
            b = to_dtype(n * np.float32(1.0 - momentum), dt)
            expect = to_dtype(np.float32(a) + np.float32(b), dt)
            # rejected alternatives: one rounding at the end (float32 arithmetic), or float64 arithmetic
            single = to_dtype(np.float32(momentum) * o + n * np.float32(1.0 - momentum), dt)
            double = to_dtype(np.float64(momentum) * np.float64(o) + np.float64(n) * (1.0 - momentum), dt)
            # 1 - momentum computed in float32 (1.0f - 0.9f = 0.100000024f) instead of in python double
            b32 = to_dtype(n * (np.float32(1.0) - np.float32(momentum)), dt)
            one_minus = to_dtype(np.float32(a) + np.float32(b32), dt)
        n_upd += 1
        bad_upd += int(r != expect)
        bad_single += int(r != single)
        bad_double += int(r != double)
        bad_f32_one_minus += int(r != one_minus)
    n_obs = bad_obs = 0
    for name, r in tracer.rec.items():
        for kind in ("input", "output"):
            for s, m in zip(r[kind + "_observed"], r[kind + "_absmax"]):
                if torch.isnan(s):
                    continue
                qmax = np.float32(127 if tracer_qtype(tracer, name) == "qint8" else 448)
                expect = to_dtype(np.float32(m.float().item()) / qmax, s.dtype)
                n_obs += 1
                bad_obs += int(np.float32(s.float().item()) != expect)
    return {"updates": n_upd, "update_mismatches": bad_upd, "observations": n_obs, "observation_mismatches": bad_obs,
            "single_rounding_mismatches": bad_single, "float64_mismatches": bad_double,
            "f32_one_minus_momentum_mismatches": bad_f32_one_minus}


def rederive_weight(w, qtype, name_dtype):
    """quanto's weight quantization written out (see README 'Weights'), in the weight's dtype."""
    if qtype in ("qint8", "qfloat8_e4m3fn"):
        qmax = 127 if qtype == "qint8" else 448.0
        if w.shape[0] == 1:                                 # axis 0 of size 1: per tensor
            s = torch.max(torch.abs(w)) / qmax
        else:
            s = torch.amax(torch.abs(w), dim=1, keepdim=True) / qmax
        y = w / s
        data = torch.clamp(torch.round(y), -128, 127).to(torch.int8) if qtype == "qint8" else \
            torch.clamp(y, -448.0, 448.0).to(torch.float8_e4m3fn)
        return OrderedDict([("weight._data", data), ("weight._scale", s)])
    bits = 4 if qtype == "qint4" else 2
    g = group_size_for(w.shape[1])
    base = w.reshape(-1, g) if g else w
    dim = [1] if base.shape[0] != 1 else [0]            # axis 0 of size 1: reduce over axis 0 (per element)
    rmin, rmax = torch.amin(base, dim=dim, keepdim=True), torch.amax(base, dim=dim, keepdim=True)
    scale = (rmax - rmin) / (2 ** bits - 1)
    shift = -rmin
    u = torch.clamp(torch.round((base + shift) / scale), 0, 2 ** bits - 1).to(torch.uint8)
    vpi = 8 // bits
    r = -(-u.shape[0] // vpi)
    pad = torch.zeros((r * vpi - u.shape[0],) + tuple(u.shape[1:]), dtype=torch.uint8)
    up = torch.cat([u, pad], 0)
    packed = torch.zeros((r,) + tuple(u.shape[1:]), dtype=torch.uint8)
    for i in range(vpi):
        packed |= up[i * r:(i + 1) * r] << (bits * i)
    if bits == 4 and w.dtype == torch.bfloat16 and g == 128:
        # TinyGemm round trip at freeze + save (lossy in bfloat16): zero = -shift + 8*scale kept in memory,
        # saved back as 8*scale - zero
        shift = 8 * scale - (-shift + 8 * scale)
    return OrderedDict([("weight._data._data", packed), ("weight._scale", scale), ("weight._shift", shift)])


def weights_rederived(float_dir, qdir, qmap):
    """Re-derive every quantized tensor of qdir from the float weights in float_dir with rederive_weight and
    compare bit for bit (NaN == NaN)."""
    fsd = load_file(os.path.join(float_dir, "model.safetensors"))
    qsd = load_file(os.path.join(qdir, "model.safetensors"))
    out = OrderedDict()
    for name, q in qmap.items():
        if q["weights"] == "none":
            continue
        key = name + ".weight"
        w = fsd.get(key)
        if w is None:                                       # tied lm_head: the embedding matrix
            w = fsd[[k for k in fsd if k.endswith("embed_tokens.weight")][0]]
        ok = True
        for k, v in rederive_weight(w, q["weights"], w.dtype).items():
            got = qsd[name + "." + k]
            if v.dtype.is_floating_point and v.dtype.itemsize == 1:
                v, got = v.view(torch.uint8), got.view(torch.uint8)
            ok &= v.shape == got.shape and v.dtype == got.dtype and bool(torch.equal(v, got))
        out[name] = {"weights": q["weights"], "bit_exact": bool(ok)}
    return out


def tracer_qtype(tracer, name):
    for m, n in tracer.qnames.items():
        if n == name:
            return m.activation_qtype.name
    raise KeyError(name)


def calibration_check(fm, fn, samples, tracer):
    """Run the emulated calibration and compare every per-step scale with quanto's trace, and the final scales
    with model.safetensors."""
    final, per_step = fm.calibrate(fn, samples)
    steps_ok = all(same(torch.stack(per_step[f"{n}.{k}"]), torch.stack(r[k]))
                   for n, r in tracer.rec.items() for k in ("input_scale", "output_scale"))
    final_ok = all(same(final[k], fm.sd[k]) for k in final)
    return {"per_step_scales": steps_ok, "saved_scales": final_ok}


# ------------------------------------------------------------------------------------------------------------
# Outputs
# ------------------------------------------------------------------------------------------------------------
def padded(seqs, pad):
    t = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), t), pad, dtype=torch.int64)
    mask = torch.zeros((len(seqs), t), dtype=torch.int64)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, :len(s)] = 1
    return ids, mask


def decoder_logits(model, seqs, name):
    out = OrderedDict()
    with torch.no_grad():
        for i, s in enumerate(seqs):
            out[f"{name}_{i}"] = deq(model(input_ids=torch.tensor([s])).logits)
    return out


def greedy(model, prompts, eos):
    """generate(do_sample=False, max/min_new_tokens=32): the EOS logit is masked to -inf by min_new_tokens."""
    out, info = OrderedDict(), []
    for i, p in enumerate(prompts):
        ids = torch.tensor([p])
        with torch.no_grad():
            g = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                               max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, pad_token_id=eos,
                               output_scores=True, return_dict_in_generate=True)
        new = g.sequences[0, ids.shape[1]:]
        assert new.numel() == NEW_TOKENS
        scores = torch.stack([s[0].float() for s in g.scores])
        top2 = scores.topk(2, dim=-1).values
        out[f"prompt_{i}"] = ids[0].clone()
        out[f"generated_{i}"] = new.clone()
        info.append({"prompt": PROMPTS[i], "prompt_ids": p, "generated_ids": new.tolist(),
                     "distinct_generated": len(set(new.tolist())),
                     "min_top1_top2_margin": float((top2[:, 0] - top2[:, 1]).min()),
                     "top1_top2_margins": [float(m) for m in (top2[:, 0] - top2[:, 1])]})
    return out, info


def mean_pool_normalize(h, mask):
    """sentence-transformers Pooling(mean) + Normalize: sum(h * mask) / clamp(sum(mask), 1e-9), then L2."""
    m = mask.unsqueeze(-1).expand(h.size()).to(h.dtype)
    emb = torch.sum(h * m, 1) / torch.clamp(m.sum(1), min=1e-9)
    return F.normalize(emb, p=2, dim=1)


def bert_outputs(model, batch, suffix=""):
    with torch.no_grad():
        o = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                  token_type_ids=batch["token_type_ids"])
    h = deq(o.last_hidden_state)
    out = OrderedDict([("last_hidden_state" + suffix, h)])
    if getattr(o, "pooler_output", None) is not None:
        out["pooler_output" + suffix] = deq(o.pooler_output)
    out["sentence_embedding" + suffix] = mean_pool_normalize(h, batch["attention_mask"])
    return out


def distinct_inprocess(outs, inproc):
    """The in-process outputs are stored only when they differ from the reloaded ones (weight-only
    configurations give identical outputs; fixture.json records `inprocess_equals_reloaded`), and for the
    decoders only for the first (shortest) sequence, to save space."""
    keys = [(k, k.replace("_inprocess", "")) for k in inproc]
    if all(same(inproc[k], outs[r]) for k, r in keys):
        return OrderedDict()
    return OrderedDict((k, v) for k, v in inproc.items() if not k.startswith("logits_inprocess_")
                       or k == "logits_inprocess_0")


def weights_summary(d):
    """dtype/shape of every tensor of a directory's model.safetensors (for the README tables)."""
    rows = []
    with safe_open(os.path.join(d, "model.safetensors"), "pt") as f:
        meta = f.metadata()
        for k in f.keys():
            sl = f.get_slice(k)
            rows.append((k, sl.get_dtype(), list(sl.get_shape())))
    return meta, rows


# ------------------------------------------------------------------------------------------------------------
# Building the directories
# ------------------------------------------------------------------------------------------------------------
def calibration_calls(activations):
    if activations is None:
        return []
    return ["with torch.no_grad(), Calibration():   # momentum=0.9, streamline=True",
            "    for ids in calibration_ids:        # N samples of L token ids, batch 1, in order",
            "        model(torch.tensor([ids]))"]


def decoder_calls(weights, activations, exclude, arch_cls):
    w = weights.name
    a = "None" if activations is None else activations.name
    ex = "None" if exclude is None else repr(exclude)
    calls = [f"model = {arch_cls}.from_pretrained(FLOAT_DIR).eval()   # FLOAT_DIR = ../float",
             f"qmodel = QuantizedModelForCausalLM.quantize(model, weights={w}, activations={a}, exclude={ex})"
             "   # quantizes, then freezes"]
    calls += calibration_calls(activations)
    calls += ["logits_inprocess_i = qmodel(input_ids=torch.tensor([seq_i])).logits",
              "qmodel.save_pretrained(DIR); tokenizer.save_pretrained(DIR)",
              "reloaded = QuantizedModelForCausalLM.from_pretrained(DIR)",
              "logits_i = reloaded(input_ids=torch.tensor([seq_i])).logits"]
    return calls


def bert_calls(weights, activations):
    a = "None" if activations is None else activations.name
    calls = ["model = BertModel.from_pretrained(FLOAT_DIR).eval()   # FLOAT_DIR = ../float",
             f"quantize(model, weights={weights.name}, activations={a})"]
    calls += calibration_calls(activations)
    calls += ["freeze(model)",
              "outputs_inprocess = model(**batch)",
              "save_file(model.state_dict(), DIR/model.safetensors, metadata={'format': 'pt'})",
              "json.dump(quantization_map(model), open(DIR/quanto_qmap.json, 'w'), indent=4)",
              "model.config.save_pretrained(DIR); tokenizer.save_pretrained(DIR)",
              "with accelerate.init_empty_weights(): fresh = AutoModel.from_config(AutoConfig.from_pretrained(DIR))",
              "requantize(fresh, load_file(DIR/model.safetensors), json.load(open(DIR/quanto_qmap.json)), "
              "device=torch.device('cpu')); fresh.eval()",
              "outputs = fresh(**batch)"]
    return calls


class Builder:
    def __init__(self, out, only):
        self.out = out
        self.only = only
        self.records = []
        self.failed = []
        self.bpe = None
        self.wordpiece = None
        self.skipped = []

    def want(self, arch):
        return self.only is None or arch in self.only

    def fail(self, what):
        print("CHECK FAILED:", what, file=sys.stderr)
        self.failed.append(what)

    def record(self, rec):
        self.records.append(rec)
        print(f"{rec['dir']:34s} {dir_bytes(os.path.join(self.out, rec['dir'])):9d} B  "
              + " ".join(f"{k}={v}" for k, v in rec.get("summary", {}).items()), flush=True)

    def write_dir_json(self, d, rec):
        payload = OrderedDict((k, v) for k, v in rec.items() if k not in ("summary", "float_dir"))
        payload["versions"] = versions()
        write_json(os.path.join(d, "fixture.json"), payload)

    # --- decoders ---
    def decoder(self, arch, spec):
        cls, cfg, seed = spec.cls, spec.config, spec.seed
        tok = self.bpe
        eos = tok.eos_token_id
        seqs = eval_sequences(tok)
        prompts = [tok(p).input_ids for p in PROMPTS]
        samples = calibration_ids(tok)
        batch_ids, batch_mask = padded(seqs, eos)
        base = init_params(cls(cfg), seed, spec.linear_std).eval()
        for dname, dtype in DTYPES.items():
            fdir = os.path.join(self.out, arch, dname, "float")
            model = copy_model(base).to(dtype)
            model.save_pretrained(fdir)
            save_tokenizer(tok, fdir)
            fm = cls.from_pretrained(fdir).eval()
            assert fm.dtype == dtype, (fm.dtype, dtype)
            outs = OrderedDict([("input_ids", batch_ids), ("attention_mask", batch_mask)])
            outs.update(decoder_logits(fm, seqs, "logits"))
            gen, gen_info = greedy(fm, prompts, eos)
            outs.update(gen)
            save_file(contiguous(outs), os.path.join(fdir, "outputs.safetensors"), metadata=META)
            emu = FileModel(fdir)
            emu_ok = all(same(emu.run(emu.decoder_logits, torch.tensor([s])), outs[f"logits_{i}"])
                         for i, s in enumerate(seqs))
            if not emu_ok:
                self.fail(f"{arch}/{dname}/float: emulation differs from transformers")
            rec = OrderedDict(dir=rel(fdir, self.out), arch=arch, model_class=cls.__name__, dtype=dname,
                              kind="float", calls=[f"model = {cls.__name__}(config); <random init, seed {seed}>; "
                                                   f"model.to({dname}).save_pretrained(DIR)",
                                                   "tokenizer.save_pretrained(DIR)",
                                                   "model = {}.from_pretrained(DIR).eval()".format(cls.__name__),
                                                   "logits_i = model(input_ids=torch.tensor([seq_i])).logits"],
                              inputs=self.decoder_inputs(seqs, prompts), generation=gen_info,
                              checks={"emulation_bit_exact": emu_ok})
            rec["summary"] = {"emulation": "bit-exact" if emu_ok else "DIFFERS",
                              "distinct": [g["distinct_generated"] for g in gen_info]}
            self.write_dir_json(fdir, rec)
            self.record(rec)
            for cname in spec.matrix[dname]:
                self.decoder_quantized(arch, cls, dname, fdir, cname, seqs, prompts, samples, outs)

    def decoder_inputs(self, seqs, prompts):
        return {"sequences": seqs, "sequence_source": f"{EVAL_TEXT} tokenized (add_special_tokens=False), "
                f"(offset, length) = {EVAL_SLICES}", "padded_batch": "input_ids/attention_mask: right-padded "
                "with the eos id; logits_i are of sequence i alone (batch 1)", "prompts": PROMPTS,
                "prompt_ids": prompts}

    def decoder_quantized(self, arch, cls, dname, fdir, cname, seqs, prompts, samples, float_outs):
        weights, activations, exclude = DECODER_CONFIGS[cname]
        tok = self.bpe
        eos = tok.eos_token_id
        qdir = os.path.join(os.path.dirname(fdir), cname)
        model = cls.from_pretrained(fdir).eval()
        ins = sorted({m.in_features for n, m in model.named_modules()
                      if isinstance(m, nn.Linear) and (exclude is None or n != exclude)})
        if quanto_would_crash(weights, activations, model.dtype, ins):
            self.skipped.append((rel(qdir, self.out), "quanto's forward segfaults: torch._weight_int8pack_mm "
                                 f"crashes for in_features {[k for k in ins if k % 4 == 0 and int8pack_mm_crashes(k)]}"))
            print("skipped", self.skipped[-1])
            return
        qmodel = QuantizedModelForCausalLM.quantize(model, weights=weights, activations=activations,
                                                    exclude=exclude)
        tracer = calibrate(model, samples) if activations is not None else None
        inproc = decoder_logits(qmodel, seqs, "logits_inprocess")
        qmodel.save_pretrained(qdir)
        save_tokenizer(tok, qdir)
        reloaded = QuantizedModelForCausalLM.from_pretrained(qdir)
        realigned = realign_int8pack_weights(reloaded._wrapped)
        outs = OrderedDict([("input_ids", float_outs["input_ids"]), ("attention_mask", float_outs["attention_mask"])])
        outs.update(decoder_logits(reloaded, seqs, "logits"))
        outs.update(distinct_inprocess(outs, inproc))
        gen_info = None
        if cname in GENERATE_CONFIGS:
            gen, gen_info = greedy(reloaded, prompts, eos)
            outs.update(gen)
        save_file(contiguous(outs), os.path.join(qdir, "outputs.safetensors"), metadata=META)
        rec = OrderedDict(dir=rel(qdir, self.out), float_dir=fdir, arch=arch, model_class=cls.__name__, dtype=dname,
                          kind=cname,
                          weights=weights.name, activations=activations.name if activations else "none",
                          exclude=exclude, calls=decoder_calls(weights, activations, exclude, cls.__name__),
                          inputs=self.decoder_inputs(seqs, prompts), generation=gen_info)
        rec["realigned_int8_weights"] = realigned
        rec["quantized_modules"] = quantization_map(reloaded._wrapped)
        rec["config_changes"] = config_changes(os.path.join(fdir, "config.json"), os.path.join(qdir, "config.json"))
        rec["files"] = sorted(os.listdir(qdir))
        self.finish_quantized(rec, qdir, seqs, samples, tracer, outs, inproc, reloaded._wrapped,
                              lambda m: m(input_ids=torch.tensor([seqs[0]])), "decoder")

    def finish_quantized(self, rec, qdir, seqs, samples, tracer, outs, inproc, reloaded, probe, family):
        """Calibration trace, flow trace, emulation and calibration checks shared by decoders and BERT."""
        checks = OrderedDict()
        if tracer is not None:
            cal = tracer.tensors()
            cal["calibration_ids"] = torch.tensor(samples, dtype=torch.int64)
            save_file(contiguous(cal), os.path.join(qdir, "calibration.safetensors"), metadata=META)
            rec["calibration"] = OrderedDict(
                text=CALIBRATION_TEXT, samples=CALIBRATION_SAMPLES, length=CALIBRATION_LENGTH,
                forward_order_step0=tracer.order,
                output_hook_removals=[{"step": s, "parent": p, "parent_class": pc, "child": c}
                                      for s, p, pc, c, inst in tracer.removals if inst],
                output_hook_removal_calls_without_effect=sum(1 for *_, inst in tracer.removals if not inst),
                momenta=sorted({f"{k}:{m}" for _, k, m, *_ in tracer.updates}))
            checks["ema_arithmetic"] = ema_arithmetic_check(tracer)
            if checks["ema_arithmetic"]["update_mismatches"] or checks["ema_arithmetic"]["observation_mismatches"]:
                self.fail(f"{rec['dir']}: EMA arithmetic")
        if rec["activations"] != "none":
            flow = FlowTracer(reloaded)
            with flow, torch.no_grad():
                probe(reloaded)
            rec["flow_reloaded"] = flow_summary(flow)
        fm = FileModel(qdir)
        if family == "decoder":
            fn = fm.decoder_logits
            em = [fm.run(fn, torch.tensor([s])) for s in seqs]
            rec["matmul_paths"] = {k: v for k, v in fm.stats.items() if k != "neg_of_minus_128"}
            rec["neg_of_minus_128"] = fm.stats.get("neg_of_minus_128", 0)
            if rec["neg_of_minus_128"]:
                fm.fix_neg = True
                fixed = [fm.run(fn, torch.tensor([s])) for s in seqs]
                fm.fix_neg = False
                rec["neg_wrap_max_abs_effect_on_logits"] = max(max_abs(a, b) for a, b in zip(em, fixed))
            em_in = [fm.run(fn, torch.tensor([s]), quantize_outputs=False) for s in seqs]
            got = [outs[f"logits_{i}"] for i in range(len(seqs))]
            got_in = [inproc[f"logits_inprocess_{i}"] for i in range(len(seqs))]
            cal_args = [(torch.tensor([s]),) for s in samples]
        else:
            batch = self.bert_batch
            fn = fm.bert
            args = (batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
            h, p = fm.run(fn, *args)
            rec["matmul_paths"] = dict(fm.stats)
            h_in, p_in = fm.run(fn, *args, quantize_outputs=False)
            em, got = [h, p], [outs["last_hidden_state"], outs["pooler_output"]]
            em_in, got_in = [h_in, p_in], [inproc["last_hidden_state_inprocess"], inproc["pooler_output_inprocess"]]
            cal_args = [(torch.tensor([s]), torch.ones(1, len(s), dtype=torch.int64),
                         torch.zeros(1, len(s), dtype=torch.int64)) for s in samples]
        checks["emulation_reloaded_bit_exact"] = all(same(a, b) for a, b in zip(em, got))
        checks["emulation_reloaded_max_abs"] = max(max_abs(a, b) for a, b in zip(em, got))
        checks["emulation_inprocess_bit_exact"] = all(same(a, b) for a, b in zip(em_in, got_in))
        checks["emulation_inprocess_max_abs"] = max(max_abs(a, b) for a, b in zip(em_in, got_in))
        checks["inprocess_equals_reloaded"] = all(same(a, b) for a, b in zip(got, got_in))
        checks["inprocess_vs_reloaded_max_abs"] = max(max_abs(a, b) for a, b in zip(got, got_in))
        if not checks["emulation_reloaded_bit_exact"]:
            self.fail(f"{rec['dir']}: emulation of the reloaded model differs")
        if not checks["emulation_inprocess_bit_exact"]:
            self.fail(f"{rec['dir']}: emulation of the in-process model differs")
        if tracer is not None:
            checks["calibration_emulation"] = calibration_check(fm, fn, cal_args, tracer)
            if not all(checks["calibration_emulation"].values()):
                self.fail(f"{rec['dir']}: calibration emulation")
        checks["reloaded_state_matches_file"] = state_matches_file(reloaded, qdir)
        if not checks["reloaded_state_matches_file"]:
            self.fail(f"{rec['dir']}: reloaded model state differs from the file")
        rec["checks"] = checks
        rec["summary"] = {"emulation": "bit-exact" if checks["emulation_reloaded_bit_exact"] and
                          checks["emulation_inprocess_bit_exact"] else "DIFFERS"}
        if tracer is not None:
            rec["summary"]["calibration"] = "bit-exact" if all(checks["calibration_emulation"].values()) \
                else "DIFFERS"
        if rec.get("generation"):
            rec["summary"]["distinct"] = [g["distinct_generated"] for g in rec["generation"]]
        rec["weights_rederived"] = weights_rederived(rec["float_dir"], qdir, rec["quantized_modules"])
        if not all(v["bit_exact"] for v in rec["weights_rederived"].values()):
            self.fail(f"{rec['dir']}: weights re-derived from the float model differ")
        self.write_dir_json(qdir, rec)
        self.record(rec)

    # --- BERT ---
    def bert(self):
        tok = self.wordpiece
        batch = dict(tok(BERT_TEXTS, padding=True, return_tensors="pt"))
        batch["token_type_ids"] = torch.zeros_like(batch["input_ids"])
        self.bert_batch = batch
        samples = calibration_ids(tok)
        base = init_params(BertModel(bert_config()), BERT_SEED, BERT_LINEAR_STD).eval()
        for dname, dtype in DTYPES.items():
            fdir = os.path.join(self.out, "bert", dname, "float")
            copy_model(base).to(dtype).save_pretrained(fdir)
            save_tokenizer(tok, fdir)
            fm = BertModel.from_pretrained(fdir).eval()
            assert fm.dtype == dtype
            outs = OrderedDict(batch)
            outs.update(bert_outputs(fm, batch))
            save_file(contiguous(outs), os.path.join(fdir, "outputs.safetensors"), metadata=META)
            emu = FileModel(fdir)
            h, p = emu.run(emu.bert, batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
            emu_ok = same(h, outs["last_hidden_state"]) and same(p, outs["pooler_output"])
            if not emu_ok:
                self.fail(f"bert/{dname}/float: emulation differs from transformers")
            rec = OrderedDict(dir=rel(fdir, self.out), arch="bert", model_class="BertModel", dtype=dname,
                              kind="float", calls=[f"model = BertModel(config); <random init, seed {BERT_SEED}>; "
                                                   f"model.to({dname}).save_pretrained(DIR)",
                                                   "tokenizer.save_pretrained(DIR)",
                                                   "model = BertModel.from_pretrained(DIR).eval()",
                                                   "outputs = model(**batch)"],
                              inputs=self.bert_inputs(), checks={"emulation_bit_exact": emu_ok})
            rec["summary"] = {"emulation": "bit-exact" if emu_ok else "DIFFERS"}
            self.write_dir_json(fdir, rec)
            self.record(rec)
            for cname in BERT_MATRIX[dname]:
                self.bert_quantized(dname, fdir, cname, samples, batch)

    def bert_inputs(self):
        return {"texts": BERT_TEXTS, "batch": "tokenizer(texts, padding=True); token_type_ids all zero",
                "sentence_embedding": "sentence-transformers mean pooling over attention_mask, then L2 "
                                      "normalisation (F.normalize(p=2, dim=1)), in the model dtype"}

    def bert_quantized(self, dname, fdir, cname, samples, batch):
        weights, activations, _ = BERT_CONFIGS[cname]
        tok = self.wordpiece
        qdir = os.path.join(os.path.dirname(fdir), cname)
        os.makedirs(qdir, exist_ok=True)
        model = BertModel.from_pretrained(fdir).eval()
        quantize(model, weights=weights, activations=activations)
        tracer = calibrate(model, samples) if activations is not None else None
        freeze(model)
        inproc = bert_outputs(model, batch, "_inprocess")
        save_file(contiguous(model.state_dict()), os.path.join(qdir, "model.safetensors"), metadata=META)
        with open(os.path.join(qdir, "quanto_qmap.json"), "w") as f:
            json.dump(quantization_map(model), f, indent=4)
        model.config.save_pretrained(qdir)
        save_tokenizer(tok, qdir)
        reloaded = requantize_bert(qdir)
        realigned = realign_int8pack_weights(reloaded)
        outs = OrderedDict(batch)
        outs.update(bert_outputs(reloaded, batch))
        outs.update(distinct_inprocess(outs, inproc))
        save_file(contiguous(outs), os.path.join(qdir, "outputs.safetensors"), metadata=META)
        rec = OrderedDict(dir=rel(qdir, self.out), float_dir=fdir, arch="bert", model_class="BertModel", dtype=dname,
                          kind=cname,
                          weights=weights.name, activations=activations.name if activations else "none",
                          exclude=None, calls=bert_calls(weights, activations), inputs=self.bert_inputs())
        rec["realigned_int8_weights"] = realigned
        rec["quantized_modules"] = quantization_map(reloaded)
        rec["files"] = sorted(os.listdir(qdir))
        self.finish_quantized(rec, qdir, None, samples, tracer, outs, inproc, reloaded,
                              lambda m: m(**{k: v[:2] for k, v in batch.items()}), "bert")

    def bert_mlm(self):
        tok = self.wordpiece
        batch = self.bert_batch
        fdir = os.path.join(self.out, "bert_mlm", "float32", "float")
        model = init_params(BertForMaskedLM(bert_config(small=True)), BERT_MLM_SEED, BERT_LINEAR_STD).eval()
        model.save_pretrained(fdir)
        save_tokenizer(tok, fdir)
        fm = BertForMaskedLM.from_pretrained(fdir).eval()
        with torch.no_grad():
            o = fm(**batch, output_hidden_states=True)
        outs = OrderedDict(batch)
        outs["last_hidden_state"] = o.hidden_states[-1]
        outs["sentence_embedding"] = mean_pool_normalize(o.hidden_states[-1], batch["attention_mask"])
        outs["mlm_logits"] = o.logits
        save_file(contiguous(outs), os.path.join(fdir, "outputs.safetensors"), metadata=META)
        emu = FileModel(fdir)
        h, p = emu.run(emu.bert, batch["input_ids"], batch["attention_mask"], batch["token_type_ids"])
        emu_ok = same(h, outs["last_hidden_state"]) and p is None
        if not emu_ok:
            self.fail("bert_mlm: emulation differs from transformers")
        _, rows = weights_summary(fdir)
        rec = OrderedDict(dir=rel(fdir, self.out), arch="bert_mlm", model_class="BertForMaskedLM",
                          dtype="float32", kind="float",
                          calls=[f"model = BertForMaskedLM(config); <random init, seed {BERT_MLM_SEED}>; "
                                 "model.save_pretrained(DIR)", "tokenizer.save_pretrained(DIR)",
                                 "model = BertForMaskedLM.from_pretrained(DIR).eval()",
                                 "o = model(**batch, output_hidden_states=True); "
                                 "last_hidden_state = o.hidden_states[-1]; mlm_logits = o.logits"],
                          inputs=self.bert_inputs(), checks={"emulation_bit_exact": emu_ok},
                          tensor_names=[r[0] for r in rows])
        rec["summary"] = {"emulation": "bit-exact" if emu_ok else "DIFFERS"}
        self.write_dir_json(fdir, rec)
        self.record(rec)


_INT8PACK_PROBES = {}


def int8pack_mm_crashes(k):
    """True if torch._weight_int8pack_mm (quanto's CPU path for bfloat16 activations x int8 weights, taken
    when in_features % 4 == 0) kills the process for in_features k. Probed in a child process."""
    if k not in _INT8PACK_PROBES:
        code = ("import torch\nfor m in (2, 7, 33):\n    torch._weight_int8pack_mm(torch.ones(m, %d, "
                "dtype=torch.bfloat16), torch.ones(64, %d, dtype=torch.int8), torch.ones(64, dtype=torch.bfloat16))"
                % (k, k))
        r = subprocess.run([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _INT8PACK_PROBES[k] = r.returncode != 0
    return _INT8PACK_PROBES[k]


def quanto_would_crash(weights, activations, dtype, in_features):
    """The configurations for which quanto's forward segfaults in this torch (see README, surprises)."""
    return (weights == qint8 and activations is None and dtype == torch.bfloat16 and
            any(k % 4 == 0 and int8pack_mm_crashes(k) for k in in_features))


def realign_int8pack_weights(model):
    """torch._weight_int8pack_mm (quanto's CPU path for bfloat16 x int8 weights) segfaults unless every weight
    row starts on a 16-byte boundary; tensors loaded from a safetensors file sit at arbitrary offsets of the
    mapped file. Copy such int8 weight codes to fresh (aligned) memory: numerically a no-op. Returns the
    number of modules touched."""
    n = 0
    for m in model.modules():
        if isinstance(m, QModuleMixin) and m.weight_qtype == qint8 and m.activation_qtype is None and \
                m.weight.dtype == torch.bfloat16 and m.weight._data.data_ptr() % 16 != 0:
            m.weight._data = m.weight._data.clone()
            n += 1
    return n


def copy_model(m):
    import copy
    return copy.deepcopy(m)


def config_changes(a, b):
    ca, cb = json.load(open(a)), json.load(open(b))
    return {k: [ca.get(k), cb.get(k)] for k in sorted(set(ca) | set(cb)) if ca.get(k) != cb.get(k)}


def requantize_bert(qdir):
    from accelerate import init_empty_weights
    with init_empty_weights():
        fresh = AutoModel.from_config(AutoConfig.from_pretrained(qdir))
    with open(os.path.join(qdir, "quanto_qmap.json")) as f:
        qmap = json.load(f)
    requantize(fresh, load_file(os.path.join(qdir, "model.safetensors")), qmap, device=torch.device("cpu"))
    return fresh.eval()


def state_matches_file(model, d):
    """requantize/from_pretrained load non-strictly: check that every tensor of the file arrived (a missing one
    would be uninitialised memory)."""
    sd = model.state_dict()
    ok = True
    for k, v in load_file(os.path.join(d, "model.safetensors")).items():
        got = sd.get(k)
        if got is None or got.dtype != v.dtype or not torch.equal(got.view(torch.uint8) if got.dtype.itemsize == 1
                                                                   and got.dtype.is_floating_point else got,
                                                                   v.view(torch.uint8) if v.dtype.itemsize == 1
                                                                   and v.dtype.is_floating_point else v):
            ok = False
    return ok


# ------------------------------------------------------------------------------------------------------------
# nn.Linear(n, 1): the weight has one row, so quanto's optimizers fall back to axis=None
# ------------------------------------------------------------------------------------------------------------
LINEAR_N1 = [64, 300]
LINEAR_N1_QTYPES = [qint2, qint4, qint8, qfloat8_e4m3fn]


def linear_n1(out, records, fail):
    root = os.path.join(out, "linear_n1")
    g = torch.Generator().manual_seed(7)
    for n in LINEAR_N1:
        w = 0.1 * torch.randn(1, n, generator=g)
        b = 0.1 * torch.randn(1, generator=g)
        x = torch.randn(3, n, generator=g)
        for qt in LINEAR_N1_QTYPES:
            for dname, dtype in DTYPES.items():
                d = os.path.join(root, f"n{n}_{qt.name}_{dname}")
                os.makedirs(d, exist_ok=True)
                model = nn.Sequential(nn.Linear(n, 1))
                with torch.no_grad():
                    model[0].weight.copy_(w)
                    model[0].bias.copy_(b)
                model = model.to(dtype)
                if quanto_would_crash(qt, None, dtype, [n]):
                    shutil.rmtree(d)
                    records.append(OrderedDict(dir=rel(d, out), n=n, qtype=qt.name, dtype=dname,
                                               skipped="quanto's forward segfaults (torch._weight_int8pack_mm, "
                                                       f"in_features {n} % 16 != 0)"))
                    continue
                wf = model[0].weight.detach().clone()
                quantize(model, weights=qt)
                freeze(model)
                qw = model[0].weight
                dq = qw.dequantize().detach()
                with torch.no_grad():
                    y = model(x.to(dtype))
                sd = contiguous(model.state_dict())
                save_file(sd, os.path.join(d, "model.safetensors"), metadata=META)
                with open(os.path.join(d, "quanto_qmap.json"), "w") as f:
                    json.dump(quantization_map(model), f, indent=4)
                save_file(contiguous(OrderedDict([("weight", wf), ("bias", b.to(dtype)), ("x", x.to(dtype)),
                                                  ("dequantized_weight", dq), ("y", y)])),
                          os.path.join(d, "reference.safetensors"), metadata=META)
                fresh = nn.Sequential(nn.Linear(n, 1)).to(dtype)
                requantize(fresh, load_file(os.path.join(d, "model.safetensors")),
                           json.load(open(os.path.join(d, "quanto_qmap.json"))), device=torch.device("cpu"))
                realign_int8pack_weights(fresh)
                with torch.no_grad():
                    y2 = fresh(x.to(dtype))
                rec = OrderedDict(dir=rel(d, out), n=n, qtype=qt.name, dtype=dname,
                                  tensors={k: [str(v.dtype)[6:], list(v.shape)] for k, v in sd.items()},
                                  exact_dequantization=bool(torch.equal(dq, wf)),
                                  reloaded_output_equal=bool(torch.equal(y, y2)),
                                  group_size=model[0].weight_group_size)
                for k in ("weight._scale", "weight._shift"):
                    if "0." + k in sd:
                        v = sd["0." + k].float()
                        rec[k + "_all_zero"] = bool((v == 0).all())
                        if k == "weight._shift":
                            rec["shift_equals_minus_weight"] = bool(torch.equal(sd["0." + k].reshape(-1),
                                                                                -wf.reshape(-1)))
                if "0.weight._data._data" in sd:
                    codes = unpack_planar(sd["0.weight._data._data"], qt.bits, sd["0.weight._scale"].shape[0]
                                          if sd["0.weight._scale"].ndim else 1)
                    rec["codes"] = sorted(set(codes.reshape(-1).tolist()))
                if not rec["reloaded_output_equal"]:
                    fail(f"{rec['dir']}: reloaded Linear(n,1) output differs")
                write_json(os.path.join(d, "fixture.json"), rec)
                records.append(rec)


def linear_tinygemm(out, records, fail):
    """A bfloat16 nn.Linear(256, 16) with qint4 (G=128: TinyGemm layout in memory) whose weights are all
    positive, so that the in-memory zero point -shift + 8*scale is inexact in bfloat16 and the saved shift
    8*scale - zero differs from -min for some groups. model.safetensors is what quanto saved."""
    d = os.path.join(out, "linear_tinygemm")
    os.makedirs(d, exist_ok=True)
    # out_features % 16 != 0: quanto still picks TinyGemm and torch refuses to pack (freeze raises)
    probe = nn.Sequential(nn.Linear(256, 8, bias=False)).to(torch.bfloat16)
    quantize(probe, weights=qint4)
    try:
        freeze(probe)
        freeze_error_out8 = None
    except RuntimeError as e:
        freeze_error_out8 = str(e).splitlines()[0]
    g = torch.Generator().manual_seed(8)
    w = (0.5 + 0.5 * torch.rand(16, 256, generator=g)).to(torch.bfloat16)
    x = torch.randn(3, 256, generator=g).to(torch.bfloat16)
    model = nn.Sequential(nn.Linear(256, 16, bias=False)).to(torch.bfloat16)
    with torch.no_grad():
        model[0].weight.copy_(w)
    quantize(model, weights=qint4)
    freeze(model)
    layout = type(model[0].weight).__name__
    with torch.no_grad():
        y = model(x)
    sd = contiguous(model.state_dict())
    save_file(sd, os.path.join(d, "model.safetensors"), metadata=META)
    with open(os.path.join(d, "quanto_qmap.json"), "w") as f:
        json.dump(quantization_map(model), f, indent=4)
    base = w.reshape(-1, 128)
    rmin = torch.amin(base, dim=1, keepdim=True)
    save_file(contiguous(OrderedDict([("weight", w), ("x", x), ("y", y), ("minus_min", -rmin)])),
              os.path.join(d, "reference.safetensors"), metadata=META)
    fresh = nn.Sequential(nn.Linear(256, 16, bias=False)).to(torch.bfloat16)
    requantize(fresh, load_file(os.path.join(d, "model.safetensors")),
               json.load(open(os.path.join(d, "quanto_qmap.json"))), device=torch.device("cpu"))
    with torch.no_grad():
        y2 = fresh(x)
    saved = sd["0.weight._shift"]
    expect = rederive_weight(w, "qint4", w.dtype)
    rec = OrderedDict(dir=rel(d, out), in_memory_layout=layout, freeze_error_out_features_8=freeze_error_out8,
                      groups=int(saved.numel()),
                      saved_shift_differs_from_minus_min=int((saved != -rmin).sum()),
                      saved_equals_rederived=all(bool(torch.equal(expect[k], sd["0." + k])) for k in expect),
                      reloaded_output_equal=bool(torch.equal(y, y2)))
    if not rec["saved_equals_rederived"]:
        fail("linear_tinygemm: saved tensors differ from the re-derivation")
    write_json(os.path.join(d, "fixture.json"), rec)
    records.append(rec)


# ------------------------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--only", default=None, help="comma-separated subset of llama,llama_tied,mistral,qwen2,bert,"
                                                 "linear_n1 (for development; the README then covers only these)")
    ap.add_argument("--check-reproducible", action="store_true",
                    help="generate twice into temporary directories and compare every byte")
    ap.add_argument("--readme-only", action="store_true", help="rewrite README.md from the fixture.json files")
    args = ap.parse_args()
    if args.readme_only:
        return readme_only(os.path.abspath(args.out))
    if args.check_reproducible:
        sys.exit(check_reproducible(args))
    setup()
    only = None if args.only is None else set(args.only.split(","))
    out = os.path.abspath(args.out)
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    b = Builder(out, only)
    b.bpe = build_bpe()
    b.wordpiece = build_wordpiece()
    for arch, spec in decoder_archs().items():
        if b.want(arch):
            b.decoder(arch, spec)
    if b.want("bert"):
        b.bert()
        b.bert_mlm()
    n1 = []
    if b.want("linear_n1"):
        linear_n1(out, n1, b.fail)
        linear_tinygemm(out, n1, b.fail)
    write_json(os.path.join(out, "index.json"), OrderedDict(
        directories=[r["dir"] for r in b.records], skipped=[{"dir": d, "why": w} for d, w in b.skipped],
        small_linears=n1, versions=versions()))
    write_readme(out, b, n1)
    print(f"total {dir_bytes(out)} bytes in {out}")
    if b.failed:
        print(f"{len(b.failed)} check(s) failed: see above and README.md", file=sys.stderr)
        sys.exit(1)


def readme_only(out):
    index = json.load(open(os.path.join(out, "index.json")), object_pairs_hook=OrderedDict)
    b = Builder(out, None)
    b.records = [json.load(open(os.path.join(out, d, "fixture.json")), object_pairs_hook=OrderedDict)
                 for d in index["directories"]]
    b.skipped = [(x["dir"], x["why"]) for x in index["skipped"]]
    write_readme(out, b, index["small_linears"])


def check_reproducible(args):
    dirs = [tempfile.mkdtemp(prefix="tf-fixtures-") for _ in range(2)]
    for d in dirs:
        cmd = [sys.executable, os.path.abspath(__file__), "--out", d] + (["--only", args.only] if args.only else [])
        subprocess.run(cmd, check=True)
    cmp = filecmp.dircmp(dirs[0], dirs[1])
    diffs = []

    def walk(c, prefix=""):
        diffs.extend(prefix + f for f in c.diff_files + c.left_only + c.right_only + c.funny_files)
        for name, sub in c.subdirs.items():
            walk(sub, prefix + name + "/")
    walk(cmp)
    # dircmp compares by stat signature first; compare every file byte for byte
    for root, _, files in os.walk(dirs[0]):
        for f in files:
            a = os.path.join(root, f)
            bpath = os.path.join(dirs[1], os.path.relpath(a, dirs[0]))
            if os.path.exists(bpath) and not filecmp.cmp(a, bpath, shallow=False):
                diffs.append(os.path.relpath(a, dirs[0]))
    for d in dirs:
        shutil.rmtree(d)
    if diffs:
        print("NOT reproducible:", *sorted(set(diffs)), sep="\n  ")
        return 1
    print("reproducible: two runs wrote identical bytes")
    return 0


# ------------------------------------------------------------------------------------------------------------
# README
# ------------------------------------------------------------------------------------------------------------
def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def fmt_bytes(n):
    return f"{n / 1e6:.2f} MB"


def load_calibration(out, rec):
    return load_file(os.path.join(out, rec["dir"], "calibration.safetensors"))


def calibration_table(out, rec, module):
    cal = load_calibration(out, rec)
    rows = []
    for i in range(CALIBRATION_SAMPLES):
        def cell(kind):
            s = cal[f"{module}.{kind}_scale"][i]
            obs = cal.get(f"{module}.{kind}_observed")
            o = "-" if obs is None or torch.isnan(obs[i]) else f"{float(obs[i]):.9g} ({hexbits(obs[i])})"
            return f"{float(s):.9g} ({hexbits(s)})", o
        ins, ino = cell("input")
        outs, outo = cell("output")
        adopted = bool(cal[f"{module}.input_adopted"][i])
        rows.append((i, "adopted the incoming scale" if adopted else ino, ins, outo, outs,
                     "yes" if cal[f"{module}.output_quantized"][i] else "no"))
    return table(["step", "input observation absmax/qmax", "input_scale after", "output observation",
                  "output_scale after", "output quantized in this step"], rows)


def state_dict_table(out, d, keep):
    _, rows = weights_summary(os.path.join(out, d))
    return table(["key", "dtype", "shape"], [(f"`{k}`", t, v) for k, t, v in rows if keep(k)])


def write_readme(out, b, n1):
    recs = b.records
    quant = [r for r in recs if r["kind"] != "float"]
    by_dir = {r["dir"]: r for r in recs}
    v = versions()
    readme = os.path.join(out, "README.md")
    total = dir_bytes(out) - (os.path.getsize(readme) if os.path.exists(readme) else 0)
    s = [README_HEAD.format(total=fmt_bytes(total) + " without this README", samples=CALIBRATION_SAMPLES,
                            length=CALIBRATION_LENGTH, new=NEW_TOKENS, vocab=VOCAB)]
    s.append("\n## Versions\n\n" + table(["package", "version"], list(v.items())))
    s.append("\nCPU, `torch.set_num_threads(1)`, `torch.use_deterministic_algorithms(True)`, attention "
             "implementation `sdpa` (the transformers default).\n")
    # models
    rows = []
    for arch, spec in decoder_archs().items():
        c = spec.config
        hd = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
        rows.append((arch, spec.cls.__name__, c.hidden_size, c.num_hidden_layers,
                     f"{c.num_attention_heads}/{c.num_key_value_heads}", hd, c.intermediate_size,
                     c.tie_word_embeddings, json.dumps(c.rope_parameters, sort_keys=True), c.rms_norm_eps,
                     spec.seed, spec.linear_std))
    s.append("\n## Models\n\nRandom weights (`init_params`): linear weights N(0, std), embeddings and `lm_head` "
             "N(0, 0.3), norm gains N(1, 0.1), biases N(0, 0.1), float32, then `.to(dtype)` for the "
             "float16/bfloat16 copies. vocab_size = the tokenizer's size = "
             f"{VOCAB}; bos = eos = `<|endoftext|>` (id 0).\n\n")
    s.append(table(["arch", "class", "hidden", "layers", "heads/kv heads", "head_dim", "intermediate", "tied",
                    "rope_parameters", "eps", "seed", "linear std"], rows))
    bc, bs = bert_config(), bert_config(small=True)
    s.append(f"\n`bert`: BertModel (with pooler), hidden {bc.hidden_size}, {bc.num_hidden_layers} layers, "
             f"{bc.num_attention_heads} heads, intermediate {bc.intermediate_size}, gelu, max_position_embeddings "
             f"{bc.max_position_embeddings}, type_vocab_size {bc.type_vocab_size}, layer_norm_eps "
             f"{bc.layer_norm_eps}, seed {BERT_SEED}. `bert_mlm`: BertForMaskedLM (tensor names `bert.*` and "
             f"`cls.predictions.*`, no pooler, decoder tied to the word embeddings), hidden {bs.hidden_size}, "
             f"{bs.num_hidden_layers} layer, {bs.num_attention_heads} heads, intermediate {bs.intermediate_size}, "
             f"seed {BERT_MLM_SEED}, float32 only.\n")
    s.append(README_DEVIATIONS)
    # directory table
    rows = []
    for r in recs:
        c = r.get("checks", {})
        if r["kind"] == "float":
            emu = "bit-exact" if c.get("emulation_bit_exact") else "DIFFERS"
            rows.append((f"`{r['dir']}`", "-", "-", fmt_bytes(dir_bytes(os.path.join(out, r["dir"]))), emu, "-",
                         "-", "-", greedy_cell(r)))
            continue
        emu = "bit-exact" if c["emulation_reloaded_bit_exact"] else f"max abs {c['emulation_reloaded_max_abs']:.3g}"
        emu_in = "bit-exact" if c["emulation_inprocess_bit_exact"] else \
            f"max abs {c['emulation_inprocess_max_abs']:.3g}"
        cal = "-"
        if "calibration_emulation" in c:
            cal = "bit-exact" if all(c["calibration_emulation"].values()) else "DIFFERS"
        w_ok = "bit-exact" if all(x["bit_exact"] for x in r["weights_rederived"].values()) else "DIFFERS"
        same_io = "identical" if c["inprocess_equals_reloaded"] else f"differ (max abs {c['inprocess_vs_reloaded_max_abs']:.3g})"
        rows.append((f"`{r['dir']}`", r["weights"], r["activations"], fmt_bytes(dir_bytes(os.path.join(out, r["dir"]))),
                     f"{emu} / {emu_in}", cal, w_ok, same_io, greedy_cell(r)))
    s.append("\n## Directories and checks\n\n" + README_CHECKS_NOTE + "\n\n")
    s.append(table(["directory", "weights", "activations", "size", "emulation reloaded / in-process",
                    "calibration emulation (every step)", "weights re-derived from float", "in-process vs reloaded",
                    "greedy: distinct tokens, min top1-top2 margin"], rows))
    if b.skipped:
        s.append("\nNot generated (quanto cannot run them, see Findings 6):\n\n")
        s.extend(f"- `{d}`: {why}\n" for d, why in b.skipped)
    s.append(README_CALLS)
    s.append(findings(out, recs, quant, by_dir, b, n1))
    s.append(linear_section(n1))
    s.append(state_dict_section(out, by_dir))
    with open(os.path.join(out, "README.md"), "w", newline="\n") as f:
        f.write("".join(s))


def greedy_cell(r):
    g = r.get("generation")
    if not g:
        return "-"
    return ", ".join(f"{x['distinct_generated']}/{NEW_TOKENS} ({x['min_top1_top2_margin']:.3g})" for x in g)


def findings(out, recs, quant, by_dir, b, n1):
    s = ["\n## Findings (quanto 0.2.7 + transformers 5.24 + torch 2.15, CPU)\n\n" + README_FINDINGS_INTRO]
    # 1. modules
    s.append("\n### 1. Which modules quanto replaces\n\n")
    rows, seen = [], set()
    for r in quant:
        key = (r["arch"], r["activations"] != "none", r["kind"] == "w8_lmhead")
        if key in seen:
            continue
        seen.add(key)
        names = []
        for n, q in r["quantized_modules"].items():
            g = generic_name(n) if ".layer" in n else n
            g = re.sub(r"\.(\d+)\.", ".N.", g)
            cell = f"`{g}`" + (" (QLayerNorm, weights none)" if q["weights"] == "none" else "")
            if cell not in names:
                names.append(cell)
        rows.append((r["arch"], "yes" if key[1] else "no", "included" if key[2] else "excluded" if r["exclude"] else "-",
                     ", ".join(names)))
    s.append(table(["arch", "activations", "lm_head", "quanto_qmap.json entries (N = every layer)"], rows))
    s.append(README_F1)
    # 2. forward
    s.append("\n### 2. The forward of a model loaded from the files (W8A8 / W8Af8)\n\n" + README_F2_PSEUDO)
    for arch in ["llama", "bert"]:
        for act in ["qint8", "qfloat8_e4m3fn"]:
            r = next((x for x in quant if x["arch"] == arch and x["activations"] == act and x["dtype"] == "float32"),
                     None)
            if r is None:
                continue
            f = r["flow_reloaded"]
            s.append(f"\nTraced in `{r['dir']}` (first layers; N = that layer, the previous layer's for an input "
                     "that comes from a LayerNorm of the layer before):\n\n")
            s.append(table(["module", "class", "input (before -> after quanto's input hook)", "output"],
                           [(f"`{a}`", c, i, o) for a, c, i, o in f["modules"]]))
            s.append("\nOps applied to a quantized activation (`ActivationQBytesTensor.__torch_dispatch__`):\n\n")
            s.append(table(["aten op", "qtype", "result"], f["ops"]))
    negs = [(r["dir"], r["neg_of_minus_128"], r.get("neg_wrap_max_abs_effect_on_logits")) for r in quant
            if r.get("neg_of_minus_128")]
    s.append(README_F2_NEG.format(rows=table(["directory", "int8 codes -128 negated (3 sequences)",
                                              "max abs effect on the logits vs. a correct negation"],
                                             [(f"`{d}`", n, f"{e:.3g}") for d, n, e in negs]) if negs else
                                  "(none in this run)\n"))
    # 3. calibration
    s.append("\n### 3. Calibration, streamline, EMA arithmetic\n\n")
    rows, seen = [], set()
    for r in quant:
        cal = r.get("calibration")
        if not cal:
            continue
        for x in cal["output_hook_removals"]:
            key = (r["arch"], x["parent_class"], generic_name(x["child"]).rsplit(".", 1)[-1] if "." in x["child"]
                   else x["child"])
            if key in seen:
                continue
            seen.add(key)
        steps = sorted({x["step"] for x in cal["output_hook_removals"]})
        assert steps in ([0], []), steps
    by_parent = OrderedDict()
    for arch, pc, child in sorted(seen):
        by_parent.setdefault((arch, pc), []).append(child)
    s.append(README_F3_HEAD)
    s.append(table(["arch", "parent module class", "children whose output hook it removes (end of step 0)"],
                   [(a, f"`{pc}`", ", ".join(f"`{c}`" for c in cs)) for (a, pc), cs in by_parent.items()]))
    adopt = OrderedDict()
    for r in quant:
        if r.get("calibration"):
            cal = load_calibration(out, r)
            names = sorted({generic_name(k[:-len(".input_adopted")]) for k, t in cal.items()
                            if k.endswith(".input_adopted") and bool(t[0]) and not bool(t[1:].any())})
            other = [k for k, t in cal.items() if k.endswith(".input_adopted") and bool(t[1:].any())]
            assert not other, other
            adopt.setdefault(r["arch"], names)
    s.append("\nModules that adopt the incoming scale (`input_scale = max(incoming._scale)`, no EMA) — only in "
             "step 0, when the producer's output hook is still installed; in steps 1.. the same input is float "
             "and goes through the EMA:\n\n")
    s.append(table(["arch", "modules adopting in step 0"],
                   [(a, ", ".join(f"`{n}`" for n in ns) if ns else "none (every QLinear input is float)")
                    for a, ns in adopt.items()]))
    ema = [r["checks"]["ema_arithmetic"] for r in quant if "ema_arithmetic" in r.get("checks", {})]
    per_dtype = OrderedDict()
    for r in quant:
        e = r.get("checks", {}).get("ema_arithmetic")
        if e:
            acc = per_dtype.setdefault(r["dtype"], collections.Counter())
            acc.update(e)
    s.append(README_F3_ARITH)
    s.append(table(["dtype", "updates checked", "mismatches (one rounding per op, f32 scalars)",
                    "mismatches if rounded once at the end", "mismatches if computed in float64",
                    "mismatches with 1 - momentum in float32",
                    "observations checked", "observation mismatches"],
                   [(d, c["updates"], c["update_mismatches"], c["single_rounding_mismatches"], c["float64_mismatches"],
                     c["f32_one_minus_momentum_mismatches"],
                     c["observations"], c["observation_mismatches"]) for d, c in per_dtype.items()]))
    for d in ["llama/float32/w8a8", "llama/bfloat16/w8a8", "bert/float32/w8a8"]:
        if d in by_dir:
            mod = "model.layers.0.self_attn.q_proj" if d.startswith("llama") else "encoder.layer.0.attention.self.query"
            s.append(f"\n`{d}`, `{mod}` (from `calibration.safetensors`; hex = bit pattern):\n\n")
            s.append(calibration_table(out, by_dir[d], mod))
    s.append(README_F3_TAIL)
    # 4. matmul paths
    s.append("\n### 4. Which matmul runs (CPU)\n\n")
    rows, seen = [], set()
    for r in quant:
        key = (r["dtype"], r["weights"], r["activations"])
        paths = ", ".join(sorted(r["matmul_paths"]))
        if (key, paths) in seen:
            continue
        seen.add((key, paths))
        rows.append((r["dtype"], r["weights"], r["activations"], paths, f"`{r['dir']}`"))
    s.append(table(["dtype", "weights", "activations", "emulation paths taken (see below)", "e.g."], rows))
    mm = OrderedDict()
    for r in quant:
        for row in r.get("flow_reloaded", {}).get("matmuls", []):
            key = (r["dtype"], row[0], row[1], row[2], row[3])
            shapes = mm.setdefault(key, [])
            if f"{row[4]} x {row[5]}" not in shapes:
                shapes.append(f"{row[4]} x {row[5]}")
    if mm:
        s.append("\nquanto's `qbytes_mm` calls seen in the traced forward of the activation directories "
                 "(activation codes as passed x weight codes [out, in]):\n\n")
        s.append(table(["dtype", "path", "activation", "weight", "scale", "shapes"],
                       [k + ("; ".join(v),) for k, v in mm.items()]))
    s.append(README_F4)
    # 5. save_pretrained
    ours = {"outputs.safetensors", "calibration.safetensors", "fixture.json", "tokenizer.json",
            "tokenizer_config.json"}
    files = sorted({tuple(f for f in r["files"] if f not in ours) for r in quant if r["arch"] != "bert"})
    changes = [(f"`{r['dir']}`", json.dumps(r["config_changes"])) for r in quant if r.get("config_changes")]
    s.append("\n### 5. What save_pretrained writes, and how it is loaded\n\n")
    s.append(README_F5.format(files=", ".join(f"`{f}`" for f in files[0]) if files else "-",
                              changes=table(["directory", "config.json change (float -> quantized)"], changes)
                              if changes else "none\n"))
    # 6. surprises
    tg = next((x for x in n1 if x["dir"] == "linear_tinygemm"), None)
    s.append("\n### 6. Surprises a re-implementation must know about\n\n")
    s.append(README_F6.format(
        skipped="; ".join(f"`{d}`" for d, _ in b.skipped) or "none",
        tg_changed=tg["saved_shift_differs_from_minus_min"] if tg else "?", tg_groups=tg["groups"] if tg else "?",
        tg_error=tg["freeze_error_out_features_8"] if tg else "?"))
    return "".join(s)


def linear_section(n1):
    s = ["\n## nn.Linear(n, 1) (`linear_n1/`) and the TinyGemm round trip (`linear_tinygemm/`)\n\n", README_N1]
    rows = []
    for r in n1:
        if r["dir"] == "linear_tinygemm":
            continue
        if "skipped" in r:
            rows.append((f"`{r['dir']}`", r["qtype"], r["dtype"], "-", "-", "-", "not generated: " + r["skipped"]))
            continue
        t = r["tensors"]
        shapes = ", ".join(f"`{k[2:]}` {v[0]} {v[1]}" for k, v in t.items() if "weight" in k)
        extra = []
        if "weight._scale_all_zero" in r:
            extra.append("scale all 0" if r["weight._scale_all_zero"] else "scale non-zero")
        if "shift_equals_minus_weight" in r:
            extra.append("shift == -w" if r["shift_equals_minus_weight"] else "shift != -w")
        if "codes" in r:
            extra.append(f"codes {r['codes']}")
        rows.append((f"`{r['dir']}`", r["qtype"], r["dtype"], shapes, ", ".join(extra),
                     "yes" if r["exact_dequantization"] else "no", "reloaded output identical"
                     if r["reloaded_output_equal"] else "reloaded output DIFFERS"))
    s.append(table(["directory", "qtype", "dtype", "saved weight tensors", "content", "dequantizes exactly", "reload"],
                   rows))
    tg = next((x for x in n1 if x["dir"] == "linear_tinygemm"), None)
    if tg:
        s.append(f"\n`linear_tinygemm/`: bfloat16 `nn.Linear(256, 16, bias=False)` with weights in [0.5, 1), qint4 "
                 f"(G=128, in-memory layout `{tg['in_memory_layout']}`): {tg['saved_shift_differs_from_minus_min']} of "
                 f"{tg['groups']} saved `weight._shift` values differ from -min of their group; every saved tensor "
                 f"equals the re-derivation of Findings 6 ({tg['saved_equals_rederived']}); `reference.safetensors` "
                 "holds `weight`, `x`, `y` (quanto's output in process) and `minus_min`.\n")
    return "".join(s)


def state_dict_section(out, by_dir):
    s = ["\n## State dict keys (layer 0 and the non-layer tensors)\n\n"]
    for d in ["llama/float32/w8", "llama/float32/w4", "llama/float32/w2", "llama/float32/w8a8",
              "qwen2/float32/w8_lmhead", "bert/float32/w4", "bert/float32/w8a8", "bert_mlm/float32/float"]:
        if d not in by_dir:
            continue
        meta, _ = weights_summary(os.path.join(out, d))
        s.append(f"`{d}/model.safetensors` (`__metadata__` = `{json.dumps(meta)}`):\n\n")
        s.append(state_dict_table(out, d, lambda k: (".0." in k or ("layer" not in k)) and ".1." not in k))
        s.append("\n")
    return "".join(s)


README_HEAD = """# transformers + optimum-quanto fixtures (Llama, Mistral, Qwen2, BERT)

Generated by `tests/make_transformer_fixtures.py` (do not edit by hand; rerun it: `make fixtures-transformers`;
`python3 tests/make_transformer_fixtures.py --check-reproducible` generates twice and compares every byte).
Total size: {total}. What the C++ tests compare against: transformers' outputs for the float models, and
optimum-quanto's for the quantized ones, plus the calibration traces and the semantics written down below.
`python3 tests/check_quanto_transformers.py build/cli/portaquant` (by hand, needs torch) quantizes every float
directory with portaquant's CLI and reports, per tensor, whether the result is identical to quanto's directory.

Layout: `<arch>/<dtype>/float/` (transformers `save_pretrained` of the random float model) and
`<arch>/<dtype>/<config>/` (the directory quanto wrote from that float model), `linear_n1/`, `linear_tinygemm/`.

| file | content |
|---|---|
| `config.json`, `generation_config.json`, `model.safetensors` | what `save_pretrained` wrote (decoders, float and quantized: transformers / `QuantizedModelForCausalLM.save_pretrained`; bert quantized: `state_dict` + `config.save_pretrained`) |
| `quanto_qmap.json` | `quantization_map(model)`, `json.dump(indent=4)` (quanto's own writer for decoders) |
| `README.md` (quantized decoders) | the model card huggingface_hub's `ModelHubMixin` writes; no information |
| `tokenizer.json`, `tokenizer_config.json` | the fixture tokenizer (`tokenizer.json` rewritten without indentation, same content) |
| `outputs.safetensors` | decoders: `input_ids`/`attention_mask` [3, 33] (the 3 sequences right-padded with id 0), `logits_i` [1, L_i, vocab] for sequence i alone (L = 7, 16, 33), in the model dtype: transformers' for `float/`, for quantized directories the model **reloaded from the files** (`QuantizedModelForCausalLM.from_pretrained`); `logits_inprocess_0` (quantized, only where it differs from `logits_0`): the model right after quantize/calibrate, before saving; `prompt_i`, `generated_i` [{new}] (float, w8, w4): greedy `generate(do_sample=False, max_new_tokens={new}, min_new_tokens={new})` (min_new_tokens masks EOS to -inf) of the reloaded model. bert: `input_ids`, `attention_mask`, `token_type_ids` (zeros) [3, T], `last_hidden_state`, `pooler_output`, `sentence_embedding` (+ `_inprocess` where different); bert_mlm: + `mlm_logits` |
| `calibration.safetensors` (activation configs) | `calibration_ids` [N={samples}, L={length}] and, per quantized module `<m>`, tensors over the N steps: `<m>.input_scale`, `<m>.output_scale` (value after the step, model dtype), `<m>.input_observed`, `<m>.output_observed` (quanto's `absmax_scale` result of that step, NaN where the input scale was adopted), `<m>.input_absmax`, `<m>.output_absmax` (max abs of the observed tensor), `<m>.input_adopted` (uint8: the input arrived quantized and its scale was adopted), `<m>.output_quantized` (uint8: the output hook was installed when the module ran in that step), `<m>.output_hook_after` (still installed after the step) |
| `fixture.json` | the exact calls, inputs (ids, texts), calibration order and hook removals, traced data flow, matmul paths, checks, versions |

Inputs: calibration `ids = tokenizer.encode(open('/usr/share/common-licenses/GPL-2').read(), add_special_tokens=False)`,
sample i = `ids[i*{length}:(i+1)*{length}]`, i < {samples}, one sample per forward, batch 1, in order (the ids are in
every `calibration.safetensors` and `fixture.json`). Decoder sequences: `/usr/share/common-licenses/Apache-2.0`
tokenized the same way, slices (offset, length) = (0, 7), (40, 16), (100, 33). Prompts: "The GNU General Public
License", "Licensed under the Apache License, Version 2.0" (`tokenizer(prompt).input_ids`, no special tokens are
added). BERT: `tokenizer(texts, padding=True)` of 3 sentences of different lengths (see `fixture.json`).

Tokenizers: decoders: byte-level BPE ({vocab} tokens, GPT-2 pre-tokenizer regex, no prefix space, ByteLevel
decoder/post-processor, specials `<|endoftext|>` (0, bos = eos = pad), `<|im_start|>`, `<|im_end|>`), trained by
`tokenizers` on the license texts; BERT: WordPiece ({vocab} tokens, BertNormalizer lowercase, BertPreTokenizer,
`[CLS] $A [SEP]` template, `[PAD]`=0 `[UNK]`=1 `[CLS]`=2 `[SEP]`=3 `[MASK]`=4, `##` continuation) whose vocabulary the
script learns itself (Findings 6: the `tokenizers` WordPiece trainer is not deterministic).
"""

README_DEVIATIONS = """
Deviations from the brief, all for the 25 MB budget (the brief's sizes, vocabulary ~1000 and the full
configuration matrix for every architecture would have been about 80 MB): vocabulary {vocab} instead of ~1000;
llama_tied hidden 64 (head_dim 32 != 64/4), intermediate 160, 2 KV heads (3 KV heads of 4 is not a valid GQA);
mistral 2 layers, intermediate 144; qwen2 intermediate 192; bert hidden 96, intermediate 256; bert_mlm smaller.
The intermediate sizes were also chosen so that quanto's int4 group-size rule hits every case (per-row although
in > 128: 136, 144; G=32: 160; G=96: 192; G=128 (+ TinyGemm in bfloat16): 256). The full configuration set runs
on `llama` (untied) and most of it on `qwen2` (tied, q/k/v biases); the others get what their shapes add.
The decoders' in-process logits are stored for the first sequence only. `linear std` 0.2 for the tied models:
with 0.1 their greedy decoding repeated 5-9 tokens.
""".replace("{vocab}", str(VOCAB))

README_CHECKS_NOTE = """"emulation" is `FileModel` in the generator: a plain-torch forward that reads only `config.json`,
`model.safetensors` and `quanto_qmap.json` and follows the rules of Findings 2 and 4 (with the same torch
kernels, so that it can match bit for bit); "reloaded" = every module quantizes its output, "in-process" = no
module does (Findings 3). "bit-exact" = `torch.equal` with quanto's/transformers' tensors (all positions, all
sequences; BERT: last_hidden_state and pooler_output). "calibration emulation" runs the calibration itself in the
emulation (scales start at 1.0, step 0 with output quantization, steps 1.. without) and compares every scale after
every step with the trace, and the final ones with `model.safetensors`. "weights re-derived" recomputes every
quantized tensor from `../float/model.safetensors` with the formulas of Findings 6 and compares bytes. Greedy:
distinct tokens among the 32 generated, and the smallest gap between the best and second-best score along the way
(a C++ implementation whose logits differ by more than that may pick another token; 0 is an exact tie, where
torch's argmax takes the lowest token id; `fixture.json` has the margin of every step, so a test can compare the
tokens up to the first step whose margin is below its tolerance)."""

README_CALLS = r"""
## The exact calls

Decoders (`<Arch>ForCausalLM`):

```python
model = LlamaForCausalLM.from_pretrained(FLOAT_DIR).eval()            # the float/ directory next to it
qmodel = QuantizedModelForCausalLM.quantize(model, weights=W, activations=A, exclude="lm_head")  # exclude=None for w8_lmhead
# (QuantizedModelForCausalLM.quantize = optimum.quanto.quantize + freeze: calibration runs on frozen weights)
if A is not None:
    with torch.no_grad(), Calibration():                              # momentum=0.9, streamline=True
        for ids in calibration_ids:                                   # 4 x 32 ids, batch 1, in order
            model(torch.tensor([ids]))
logits_inprocess_i = qmodel(input_ids=torch.tensor([seq_i])).logits
qmodel.save_pretrained(DIR); tokenizer.save_pretrained(DIR)
reloaded = QuantizedModelForCausalLM.from_pretrained(DIR)
logits_i = reloaded(input_ids=torch.tensor([seq_i])).logits
generated_i = reloaded.generate(input_ids=prompt_i, attention_mask=ones, do_sample=False, max_new_tokens=32,
                                min_new_tokens=32, pad_token_id=0)[0, len(prompt_i):]
```

W in {qint8 (`w8`), qint4 (`w4`), qint2 (`w2`), qfloat8_e4m3fn (`wf8`)}, A in {None, qint8 (`*a8`), qfloat8_e4m3fn
(`*af8`)}. BERT:

```python
model = BertModel.from_pretrained(FLOAT_DIR).eval()
quantize(model, weights=W, activations=A)
if A is not None:
    with torch.no_grad(), Calibration():
        for ids in calibration_ids: model(torch.tensor([ids]))         # WordPiece ids of GPL-2, no [CLS]/[SEP]
freeze(model)
outputs_inprocess = model(**batch)
save_file(model.state_dict(), DIR + "/model.safetensors", metadata={"format": "pt"})
json.dump(quantization_map(model), open(DIR + "/quanto_qmap.json", "w"), indent=4)
model.config.save_pretrained(DIR); tokenizer.save_pretrained(DIR)
with accelerate.init_empty_weights():
    fresh = AutoModel.from_config(AutoConfig.from_pretrained(DIR))    # what quanto's from_pretrained does
requantize(fresh, load_file(DIR + "/model.safetensors"), json.load(open(DIR + "/quanto_qmap.json")),
           device=torch.device("cpu"))
outputs = fresh.eval()(**batch)
sentence_embedding = F.normalize(sum(h * mask) / clamp(sum(mask), 1e-9), p=2, dim=1)   # sentence-transformers
```

Only deviation from plain quanto: reloaded bfloat16 models get their int8 weight codes copied to aligned memory
before running (`realign_int8pack_weights`, numerically a no-op; without it quanto segfaults, Findings 6).
"""

README_FINDINGS_INTRO = """Each statement is verified by the generator (the trace tables are generated; the
emulation reproduces quanto bit for bit from the files, in float32, float16 and bfloat16, so the rules below are
complete for these models) unless marked "(code reading)". "dtype" is the model dtype (float32/float16/bfloat16).
"""

README_F1 = """
Stays float everywhere: `nn.Embedding` (embed_tokens; BERT word/position/token_type embeddings), the decoders'
RMSNorm modules (`LlamaRMSNorm` etc. are not `nn.LayerNorm`, quanto has no QModule for them), rotary embeddings,
activations, dropout, `lm_head` when excluded, and every bias (saved as float `bias`, never quantized). BERT's
`nn.LayerNorm`s become `QLayerNorm` only when activations are quantized (`weights` "none": the LayerNorm weight
and bias stay float; only its output gets quantized). quanto's `exclude` is an fnmatch pattern on module names:
`"lm_head"` matches only the top-level `lm_head`.
"""

README_F2_PSEUDO = r"""
"Q(x, s)" is a per-tensor quantized activation: codes `q = clamp(round_half_even(x / s), -128, 127)` (int8) or
`q = e4m3fn(clamp(x / s, -448, 448))` (float8, round to nearest even), `x / s` a true division in dtype;
`deq(Q) = s * q` in dtype (float8 codes upcast to dtype first). After **reloading** (quanto `from_pretrained` /
`requantize`) every QModule with activations quantizes its input (QLinear only; `QLayerNorm` has no input hook)
unless the input already is quantized, and always quantizes its output with its own `output_scale`.

Decoders (Llama, Mistral, Qwen2 are identical here; all scales 0-dim in dtype):

```
h = embed_tokens[ids]                                         # float
cos, sin = rope(positions 0..T-1)                             # float32, cast to dtype (Findings 5)
for each layer:
    x = rmsnorm(h, input_layernorm)                           # float
    q = QLinear(q_proj, x)    # x float -> Q(x, q_proj.input_scale); out Q(y, q_proj.output_scale)
    k = QLinear(k_proj, x)    # x quantized again, with k_proj.input_scale (each projection uses its own)
    v = QLinear(v_proj, x)
    view / transpose to heads: codes move, scale kept
    q = deq(q) * cos + deq(rotate_half(q)) * sin
        # int8: rotate_half on the codes: cat(-q2, q1) with int8 negation, so a code -128 stays -128 (!)
        # float8: the negation dequantizes: cat(-deq(q2), deq(q1))
    k = likewise
    v = deq(v)                                                # the KV cache's cat (or sdpa) dequantizes
    a = sdpa(q, k, v, is_causal=T>1, scale=head_dim**-0.5, enable_gqa=True)   # float
    o = QLinear(o_proj, a)    # a float -> Q(a, o_proj.input_scale); out Q(., o_proj.output_scale)
    h = h + deq(o)
    x = rmsnorm(h, post_attention_layernorm)
    g = QLinear(gate_proj, x); u = QLinear(up_proj, x)        # both inputs: own input_scale; outputs Q
    m = silu(deq(g)) * deq(u)                                 # float
    h = h + deq(QLinear(down_proj, m))                        # m float -> own input_scale; output Q
logits = lm_head(rmsnorm(h, norm))                            # float nn.Linear (excluded); tied: embed_tokens
```

So in these decoders **no QLinear ever receives an already-quantized input**: each quantizes a float tensor with
its own `input_scale`; output quantization only rounds q/k/v/o/gate/up/down outputs to their `output_scale` grid
before the consumer dequantizes them.

BERT:

```
e = word[ids] + token_type[tt];  e = e + position[0..T-1]
x = LayerNorm_emb(e)          # QLayerNorm: F.layer_norm in float, output Q(., embeddings.LayerNorm.output_scale)
for each layer:                                               # dropout (eval) keeps a Q as it is
    q = QLinear(query, x)     # x is Q: consumed as is (int8 x int8 with x's scale = the LayerNorm's output_scale;
    k = QLinear(key, x)       #   query/key/value.input_scale is NOT used); outputs Q(., own output_scale)
    v = QLinear(value, x)
    a = sdpa(deq(q), deq(k), deq(v), attn_mask=bool padding mask [B,1,T,T] or None, scale=head_dim**-0.5)
    d = QLinear(attention.output.dense, a)      # a float -> own input_scale; output Q
    x1 = LayerNorm_attn(deq(d) + deq(x))        # the add dequantizes both; output Q(., that LayerNorm's scale)
    i = gelu(deq(QLinear(intermediate.dense, x1)))   # input Q (LayerNorm's scale), output Q, gelu dequantizes
    o = QLinear(output.dense, i)                # i float -> own input_scale; output Q
    x = LayerNorm_out(deq(o) + deq(x1))         # output Q
last_hidden_state = deq(x)
pooler_output = tanh(deq(QLinear(pooler.dense, x[:, 0])))  # select keeps the codes: consumes the LayerNorm's scale
```

QLinear arithmetic (x: activation codes `xq`, scale `xs`; weights: codes `wq` [O, I], scale `ws` [O, 1], dtype):

- int8 weights, int8 input (W8A8): `acc = int32(xq.reshape(-1, I) @ wq.T)` (torch `_int_mm`, exact),
  `s = xs * ws` (dtype, one rounding), `y = dtype(float32(acc) * float32(s).T)`, reshaped, then `y = y + bias`
  (dtype).
- int8 weights, float8 input (W8Af8): `s = xs * ws` (dtype), `y = matmul(dtype(xq), (s * wq).T)` (the weight codes
  pre-multiplied by the combined scale, in dtype; a float matmul over the unscaled float8 values), `+ bias`.
- weight-only (float input `x`), int8 / float8 weights: float32 and float16: `y = matmul(x2d, (ws * wq).T)`
  (float8 codes upcast first); bfloat16 with int8 weights and I % 4 == 0: `torch._weight_int8pack_mm(x2d, wq,
  ws)` (a different kernel: float32 accumulation of x*w, times the scale, rounded to bfloat16 once; it matches
  `(x.float() @ wq.float().T * ws.float()).bfloat16()` except for accumulation order). `+ bias`.
- int4 / int2 weights: `W = (scale * u - shift).reshape(O, I)` in dtype (u the unpacked codes, per row or per group
  of G; `dqt = scale * u` then `dqt -= shift`), `y = matmul(deq(x) or x, W.T) + bias`; bfloat16 qint4 with G = 128:
  TinyGemm (`torch._weight_int4pack_mm_for_cpu(x2d, packed, 128, scale_and_zero)` with
  `zero = -shift + 8 * scale` in bfloat16, i.e. `w = (u - 8) * scale + zero` inside the kernel).
- then, reloaded: `Q(y, output_scale)`.
"""

README_F2_NEG = """
**int8 negation bug (reproduce it to match quanto bit for bit).** quanto's `neg` on an int8 activation negates the
codes in int8, so a code of -128 (possible whenever the calibrated scale is below the tensor's current absmax)
becomes -128 instead of +128 ~ 127: that element of `rotate_half(q)` / `rotate_half(k)` gets the wrong sign.
Counted in the emulation of the three sequences, and its effect (the emulation with a correct negation):

{rows}
The emulation reproduces quanto only with the wrapping negation. A C++ port that wants quanto's numbers must
negate int8 codes with wraparound before dequantizing (or compute `deq(-q)` with `-(-128) = -128`).
"""

README_F3_HEAD = """`Calibration(streamline=True)` registers a global forward hook `calibrate_output` that, for every module
that is *not* a QModule, calls `disable_output_quantization()` on each **direct child** QModule whose output was
never seen consumed by an op that keeps it quantized. That bookkeeping (`__torch_function__`) only runs when
`QTensor in types`, and with torch 2.15 a `TorchFunctionMode` receives an empty `types` (and `types` would hold the
subclass `ActivationQBytesTensor`, not `QTensor`), so nothing is ever recorded and **every** direct QModule child
loses its output hook when its parent's forward returns, in step 0. Traced removals (from `fixture.json`
`calibration.output_hook_removals`; later steps call it again on already removed hooks, a no-op):

"""

README_F3_ARITH = """
The calibration sequence that reproduces quanto (emulated and checked step by step in every activation
directory): all `input_scale`/`output_scale` start at 1.0 (dtype). Step 0 runs with every output hook installed,
so a module whose producer is a QModule sees a quantized input; the parent modules' hooks then remove all output
hooks, so steps 1.. run with float module outputs; the in-process model after calibration quantizes no output at
all. Per module and step:

- input (global pre-hook, before quanto's input hook): if the input is quantized, `input_scale = max(its scale)`;
  else `new = absmax(x) / qmax` (`torch.max(torch.abs(x))` exact, divided by the python number 127 or 448.0:
  computed in float32, one rounding to dtype), `input_scale = new if input_scale == 1.0 else
  0.9 * input_scale + new * (1.0 - 0.9)`. The momentum is always 0.9 for inputs (`calibrate_input`'s default
  argument; `Calibration(momentum=m)` is ignored there — code reading) and `Calibration.momentum` (0.9) for outputs.
- output (global forward hook, before quanto's output hook): the same EMA on the float output.
- the `1.0` sentinel: a scale exactly 1.0 is "never calibrated" and is replaced instead of averaged.

Arithmetic, checked on every recorded update: in float16/bfloat16 each torch op is computed in float32 and
rounded once to dtype: `a = dtype(0.9f * float(s))`, `b = dtype(float(new) * 0.1f)`, `s' = dtype(float(a) +
float(b))`, where 0.9f = float32(0.9) and 0.1f = float32(1.0 - 0.9): `1 - momentum` is computed by Python in
double (0.09999999999999998) and only then becomes the float32 0.1f (0x3dcccccd). Computing it in float32
(`1.0f - 0.9f` = 0.100000024f, 0x3dccccd0) or doing the EMA in double gives different scales (about 1 ulp) — the
table shows these rejected alternatives:

"""

README_F3_TAIL = """
Consequences: a module's `input_scale` in the file is an EMA whose first term came from a quantized input (adopted)
and later terms from float inputs (BERT), so it differs from the producer's `output_scale` that the reloaded model
actually uses. In the decoders no input is ever adopted, and the reloaded model differs from the in-process one
only through the output quantization (all outputs quantized vs none).
"""

README_F4 = """
- W8A8 on CPU always takes `torch._int_mm` for int8 x int8 (quanto's CPU `qbytes_mm`, torch >= 2.6), for every
  shape seen here (activations [1, T, I] reshaped to [T, I], T = 7..33, I and O not multiples of anything in
  particular: 64, 96, 136, 192, 256...). quanto's CUDA-only restriction (tokens > 16, multiples of 8) does not
  apply on CPU. The scale product `xs * ws` is in dtype; the int32 accumulator is converted to float32 and
  multiplied by the float32 value of that product, then rounded to dtype; the bias is added in dtype.
- W8Af8 never uses an integer path: float matmul of the float8 codes (upcast to dtype) with `(xs * ws) * wq`.
- int4/int2 never use an integer path (dequantize, float matmul); bfloat16 G=128 uses TinyGemm.
- weight-only int8 in bfloat16 uses `_weight_int8pack_mm` (I % 4 == 0), float16/float32 dequantize-then-matmul.
"""

README_F5 = """
- Decoders: `QuantizedModelForCausalLM.save_pretrained(dir)` writes {files} (plus what the tokenizer writes):
  transformers' `save_pretrained` of the wrapped model (safetensors, `__metadata__` `{{"format": "pt"}}`, tensors
  flattened by quanto: `weight._data` + `weight._scale` (8-bit), `weight._data._data` + `weight._scale` +
  `weight._shift` (int2/int4), `bias`, `input_scale`, `output_scale` for every QLinear, the latter two 0-dim in the
  model dtype and 1.0 when activations are not quantized), `quanto_qmap.json` and a model-card `README.md`.
  `generation_config.json` is the one transformers derives from config.json (bos/eos 0, `_from_model_config`).
- config.json changes (float -> quantized directory):

{changes}
  i.e. quantizing the `lm_head` of a tied model unties it: the file then holds the float
  `model.embed_tokens.weight` and a separate quantized `lm_head.weight._data`/`._scale` (+ scales) of the same
  matrix. Otherwise config.json is unchanged (a tied model with lm_head excluded has no `lm_head.*` tensor).
- transformers 5 writes `rope_parameters` (`rope_type`, `rope_theta`, `factor`, ...) instead of `rope_theta` /
  `rope_scaling`, and `dtype` instead of `torch_dtype`; a loader should accept both spellings.
- `QuantizedModelForCausalLM.from_pretrained(dir)`: reads quanto_qmap.json, `AutoConfig` + `from_config` under
  `accelerate.init_empty_weights()` (the model dtype comes from config.json `dtype`), `requantize` (replaces the
  listed modules, loads the state dict **non-strictly**: a missing tensor stays uninitialised — the generator
  checks that every file tensor arrived), then `tie_weights()` if `config.tie_word_embeddings` (so an excluded,
  tied lm_head is the float embedding matrix), `eval()`. Reloaded weights are re-optimised (`optimize()`): bfloat16
  qint4 with G=128 becomes TinyGemm again.
- BERT has no quanto wrapper: the files are `state_dict` + `quanto_qmap.json` + `config.json` exactly as the
  calls above write them.
- RoPE as transformers computes it (all float32): `inv = 1 / theta ** (arange(0, d, 2) / d)`; linear:
  `inv /= factor`; llama3: `wavelen = 2*pi / inv`, `inv_l = where(wavelen > old/low, inv / factor, inv)`,
  `smooth = (old / wavelen - low) / (high - low)`, `inv = where(!(wavelen < old/high) & !(wavelen > old/low),
  (1 - smooth) * inv_l / factor + smooth * inv_l, inv_l)`; then `freqs = pos * inv`, `emb = cat(freqs, freqs)`,
  `cos = emb.cos()`, `sin = emb.sin()`, cast to dtype (`FileModel.inv_freq`). RMSNorm:
  `w * dtype(float32(x) * rsqrt(mean(float32(x)^2) + eps))`.
"""

README_F6 = """
1. **quanto segfaults for bfloat16 weight-only int8** on CPU whenever `torch._weight_int8pack_mm` gets a weight (or
   activation) row that does not start on a 16-byte boundary: (a) when in_features % 16 != 0 (quanto checks only
   % 4), e.g. llama's down_proj (136) — not generated: {skipped}; (b) for *any* shape after reloading, because
   safetensors tensors sit at arbitrary offsets of the file (the generator copies the codes to aligned memory; a
   user of quanto just crashes, non-deterministically). A port must not copy this; it needs no special case.
2. **bfloat16 qint4 with G=128 is re-packed for TinyGemm at freeze and at load** (`TinyGemmWeightQBitsTensor`):
   `zero = -shift + 8 * scale` (bfloat16), and `save_pretrained` writes back `shift' = 8 * scale - zero`
   (bfloat16), which differs from `-min` when the group's values are far from zero (`linear_tinygemm/`:
   {tg_changed} of {tg_groups} groups). To write files identical to quanto's, apply that round trip to the shift in
   exactly that case (qint4, bfloat16 weights, 2-D, G = 128). With out_features % 16 != 0 the TinyGemm packing
   raises at freeze ("{tg_error}"), so quanto cannot quantize such a bfloat16 Linear to qint4 with G=128 at all.
3. The int8 negation wrap in `rotate_half` (Findings 2).
4. In-process != reloaded for every activation configuration (Findings 3): the calibrated model in memory
   quantizes no module output; the same model loaded from its files quantizes all of them, and the consumers'
   `input_scale`s are not the producers' `output_scale`s. The files define the reloaded semantics only.
5. Weight quantization (re-derived bit for bit for every directory, `rederive_weight`): 8-bit per output row,
   `s = amax(|W|, dim=1, keepdim) / qmax` (127 or 448.0, in dtype), codes `clamp(round(W / s), -128, 127)` or
   `e4m3fn(clamp(W / s, ±448))`; int2/int4 `MaxOptimizer` per row (in <= 128, or no G in 128/96/64/32 divides in)
   or per group of G consecutive elements of a row: `scale = (max - min) / (2^b - 1)`, `shift = -min`,
   `u = clamp(round((W + shift) / scale), 0, 2^b - 1)`, packed planar along dim 0 of the grouped [rows, G or I]
   matrix; all in dtype. A weight with one output row (nn.Linear(n, 1)) is a special case (see below).
6. `QuantizedModelForCausalLM.quantize` freezes immediately, so calibration runs on the frozen (quantized)
   weights — the same values the dynamic quantization of an unfrozen model would give.
7. The `tokenizers` WordPiece trainer is not deterministic (ties broken by hash-map order change even the token
   set between runs); the generator trains its own WordPiece vocabulary. The byte-level BPE trainer is
   deterministic with the fixed 256-byte initial alphabet.
8. quanto's `Calibration` momentum applies to outputs only (Findings 3); quanto writes a model card README.md
   into every quantized decoder directory; BertForMaskedLM's decoder weight is tied to the word embeddings and
   absent from the file (`cls.predictions.bias` is there).
"""

README_N1 = """A weight with a single output row makes quanto's optimizers fall back to `axis=None`:

- 8-bit (qint8, qfloat8): per-tensor, `weight._scale` is **0-dim** (`max(|W|) / qmax`), codes [1, n].
- qint2/qint4 (`MaxOptimizer` with axis None reduces over axis 0, i.e. over one element): `weight._scale` has
  shape **[1, n] and is all 0**, `weight._shift` [1, n] is exactly `-W`, the codes are `round(0 / 0)` = NaN cast to
  uint8, which is 0 on this x86 CPU (undefined in C: a port must write 0, not cast a NaN), packed [1, n]. It
  dequantizes exactly: `0 * 0 - (-W) = W`. A loader must accept these shapes ([1, n] scale/shift, not [O, 1]).

"""


if __name__ == "__main__":
    main()
