#!/usr/bin/env python3
"""Writes tests/fixtures/gguf: small GGUF files and what gguf-py and transformers make of them.

- dequant_types.gguf: tensors of every ggml type portaquant dequantizes (random blocks with valid
  f16 scales, plus data quantized by gguf.quants where it can quantize), and
  dequant_types_expected.safetensors: gguf.quants.dequantize of each, float32.
- tiny_llama.gguf (3 layers, GQA, untied lm_head, "llama-bpe" pre-tokenizer, BOS added, chat
  template) and tiny_llama_tied.gguf (1 layer, tied embeddings, default byte-level
  pre-tokenizer, linear rope scaling): random weights laid out as llama.cpp's converter lays them
  out (q/k rows permuted), quantized with several types; a small byte-level BPE vocabulary trained
  on the Apache-2.0 text. For each, <name>_expected.safetensors is transformers'
  `AutoModelForCausalLM.from_pretrained(dir, gguf_file=..., dtype=float32).state_dict()`,
  <name>_config.json its config, <name>_tokenizer.json what transformers' GGUF tokenizer saves,
  and <name>_tokens.json the ids it gives a few texts.

Deterministic: re-running it reproduces the committed files byte for byte.
Needs: numpy, gguf 0.19, safetensors, torch, transformers 5.24, tokenizers.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

import gguf
from gguf import GGMLQuantizationType as T
from safetensors.numpy import save_file

OUT = Path(__file__).resolve().parent / "fixtures" / "gguf"
LICENSE_TEXT = Path("/usr/share/common-licenses/Apache-2.0")

# byte offsets of the f16 scale fields inside one block of each type
SCALE_OFFSETS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}
QUANTIZABLE = [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]


def finite_halves(rng, count):
    """f16 bit patterns: mostly ordinary scales, with zeros, -0 and subnormals mixed in."""
    values = rng.uniform(-2.0, 2.0, count).astype(np.float32) * np.float32(10.0) ** rng.integers(-4, 1, count)
    bits = values.astype(np.float16).view(np.uint16)
    special = rng.integers(0, 8, count)
    bits = np.where(special == 0, rng.integers(1, 0x400, count).astype(np.uint16), bits)  # subnormal
    bits = np.where(special == 1, np.uint16(0x8000), bits)  # -0
    bits = np.where(special == 2, np.uint16(0), bits)
    return bits.astype(np.uint16)


def random_blocks(rng, qtype, rows, cols):
    block_elems, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, (rows * cols // block_elems, block_bytes), dtype=np.uint8)
    for offset in SCALE_OFFSETS[qtype]:
        blocks[:, offset:offset + 2] = finite_halves(rng, blocks.shape[0]).view(np.uint8).reshape(-1, 2)
    return blocks.reshape(rows, cols // block_elems * block_bytes)


def add_raw(writer, expected, name, qtype, raw):
    """Adds bytes of `qtype` and records gguf-py's dequantization of them."""
    writer.add_tensor(name, raw, raw_dtype=qtype)
    expected[name] = np.ascontiguousarray(gguf.quants.dequantize(raw, qtype), dtype=np.float32)


def write_gguf(writer):
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def make_dequant_types(rng):
    path = OUT / "dequant_types.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    expected = {}
    data = rng.standard_normal((3, 512)).astype(np.float32)
    add_raw(writer, expected, "F32.values", T.F32, data)
    half_bits = rng.integers(0, 0x10000, (3, 64), dtype=np.uint16)
    half_bits = np.where((half_bits & 0x7C00) == 0x7C00, half_bits & 0x83FF, half_bits).astype(np.uint16)  # no inf/nan
    add_raw(writer, expected, "F16.bits", T.F16, half_bits.view(np.float16))
    bf16_bits = rng.integers(0, 0x10000, (3, 64), dtype=np.uint16)
    bf16_bits = np.where((bf16_bits & 0x7F80) == 0x7F80, bf16_bits & 0x807F, bf16_bits).astype(np.uint16)
    writer.add_tensor("BF16.bits", bf16_bits.view(np.uint8).reshape(3, 128), raw_dtype=T.BF16)
    expected["BF16.bits"] = gguf.quants.dequantize(bf16_bits.view(np.uint8).reshape(3, 128), T.BF16)
    add_raw(writer, expected, "BF16.quantized", T.BF16, gguf.quants.quantize(data[:, :64], T.BF16))
    add_raw(writer, expected, "F16.quantized", T.F16, gguf.quants.quantize(data[:, :64], T.F16))
    for qtype in SCALE_OFFSETS:
        block_elems = gguf.GGML_QUANT_SIZES[qtype][0]
        add_raw(writer, expected, f"{qtype.name}.random", qtype, random_blocks(rng, qtype, 3, 2 * block_elems))
        if qtype in QUANTIZABLE:
            add_raw(writer, expected, f"{qtype.name}.quantized", qtype, gguf.quants.quantize(data[:, :128], qtype))
    # three dims, to pin the dims order (ggml stores fastest-moving first)
    cube = rng.standard_normal((2, 3, 64)).astype(np.float32)
    add_raw(writer, expected, "Q8_0.cube", T.Q8_0, gguf.quants.quantize(cube, T.Q8_0))
    write_gguf(writer)
    save_file(expected, str(OUT / "dequant_types_expected.safetensors"))


# ---------------------------------------------------------------- tiny llama models

def train_vocabulary():
    """A 400-token byte-level BPE (tokenizers' trainer is deterministic on one input)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=400, show_progress=False, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tokenizer.train_from_iterator([LICENSE_TEXT.read_text()], trainer=trainer)
    model = json.loads(tokenizer.to_str())["model"]
    tokens = [None] * len(model["vocab"])
    for token, index in model["vocab"].items():
        tokens[index] = token
    merges = [" ".join(pair) for pair in model["merges"]]
    return tokens, merges


def permute_like_llama_cpp(weights, n_head):
    """convert_hf_to_gguf.py's LlamaModel.permute."""
    rows = weights.shape[0]
    return weights.reshape(n_head, 2, rows // n_head // 2, *weights.shape[1:]).swapaxes(1, 2).reshape(weights.shape)


def quantized(rng, shape, qtype, scale=0.05):
    values = (rng.standard_normal(shape) * scale).astype(np.float32)
    return values if qtype == T.F32 else gguf.quants.quantize(values, qtype)


def train_sentencepiece():
    """A 500-piece SentencePiece BPE with byte fallback, as llama.cpp stores one: tokens, scores, types."""
    import io

    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(LICENSE_TEXT.read_text().splitlines()), model_writer=model,
                                   vocab_size=500, model_type="bpe", byte_fallback=True, character_coverage=1.0,
                                   num_threads=1, minloglevel=2, user_defined_symbols=["<think>"])
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    scores = [sp.get_score(i) for i in range(sp.get_piece_size())]

    def token_type(i):
        if sp.is_unknown(i):
            return gguf.TokenType.UNKNOWN
        if sp.is_control(i):
            return gguf.TokenType.CONTROL
        if sp.is_byte(i):
            return gguf.TokenType.BYTE
        return gguf.TokenType.USER_DEFINED if pieces[i] == "<think>" else gguf.TokenType.NORMAL

    return pieces, scores, [token_type(i) for i in range(len(pieces))]


def add_byte_level_tokenizer(writer, tokens, merges, pre):
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    token_types = [gguf.TokenType.NORMAL] * len(tokens)
    for special in range(3):
        token_types[special] = gguf.TokenType.CONTROL
    token_types[-2] = gguf.TokenType.CONTROL       # "<|im sep|>": not in the byte alphabet
    token_types[-1] = gguf.TokenType.USER_DEFINED  # "<think>"
    writer.add_token_types(token_types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_pad_token_id(2)


def add_sentencepiece_tokenizer(writer, tokens, scores, token_types):
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(token_types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)


def make_tiny_llama(rng, name, layers, tied, add_bos, rope_scaling, tokens, add_tokenizer, arch="llama"):
    """A random llama (or qwen2: q/k/v biases, rows not permuted, as llama.cpp writes each)."""
    hidden, heads, kv_heads, ffn = 64, 4, 2, 128
    head_dim = hidden // heads
    vocab = len(tokens)
    permute = permute_like_llama_cpp if arch == "llama" else (lambda weights, n_head: weights)
    writer = gguf.GGUFWriter(str(OUT / f"{name}.gguf"), arch)
    writer.add_name(f"{name} test model")
    writer.add_context_length(256)
    writer.add_embedding_length(hidden)
    writer.add_block_count(layers)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_freq_base(10000.0 if tied else 500000.0)
    writer.add_layer_norm_rms_eps(1e-5 if tied else 1e-6)
    writer.add_rope_dimension_count(head_dim)
    writer.add_vocab_size(vocab)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_1)
    if rope_scaling:
        writer.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
        writer.add_rope_scaling_factor(4.0)
    add_tokenizer(writer)
    if add_bos is not None:
        writer.add_add_bos_token(add_bos)
    if not tied:
        writer.add_chat_template("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}")

    writer.add_tensor("token_embd.weight", quantized(rng, (vocab, hidden), T.Q8_0), raw_dtype=T.Q8_0)
    types = [T.Q4_1, T.Q4_0, T.Q5_0, T.Q5_1, T.Q8_0, T.F16]
    for layer in range(layers):
        def typed(i):
            return types[(layer + i) % len(types)]

        def add(tensor_name, values, qtype):
            data = values if qtype == T.F32 else gguf.quants.quantize(values, qtype)
            writer.add_tensor(f"blk.{layer}.{tensor_name}.weight", data, raw_dtype=qtype)

        def normal(shape, scale=0.05):
            return (rng.standard_normal(shape) * scale).astype(np.float32)

        add("attn_norm", (1 + normal((hidden,), 0.1)), T.F32)
        add("attn_q", permute(normal((heads * head_dim, hidden)), heads), typed(0))
        add("attn_k", permute(normal((kv_heads * head_dim, hidden)), kv_heads), typed(1))
        if arch == "qwen2":
            for leaf, rows in [("attn_q", heads * head_dim), ("attn_k", kv_heads * head_dim), ("attn_v", kv_heads * head_dim)]:
                writer.add_tensor(f"blk.{layer}.{leaf}.bias", normal((rows,)))
        add("attn_v", normal((kv_heads * head_dim, hidden)), typed(2))
        add("attn_output", normal((hidden, heads * head_dim)), typed(3))
        add("ffn_norm", (1 + normal((hidden,), 0.1)), T.F32)
        add("ffn_gate", normal((ffn, hidden)), typed(4))
        add("ffn_up", normal((ffn, hidden)), typed(5))
        add("ffn_down", normal((hidden, ffn)), typed(0))
    writer.add_tensor("output_norm.weight", (1 + rng.standard_normal(hidden) * 0.1).astype(np.float32))
    if not tied:
        writer.add_tensor("output.weight", quantized(rng, (vocab, hidden), T.Q4_1), raw_dtype=T.Q4_1)
    write_gguf(writer)
    record_transformers_view(name)


SAMPLE_TEXTS = [
    "Licensed under the Apache License, Version 2.0 (the \"License\");",
    "  you may not use this file except in compliance with the License.\n\n",
    "<|im_start|>user\nWhat's 12345 + 678?<|im_end|>\n<think>ok</think>",
    "Ünïcödé — ümlauts, 日本語, emoji 🤖 and tabs\tand\r\nCRLF.",
    "",
]


def record_transformers_view(name):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    with tempfile.TemporaryDirectory() as scratch:
        shutil.copy(OUT / f"{name}.gguf", scratch)
        gguf_file = f"{name}.gguf"
        model = AutoModelForCausalLM.from_pretrained(scratch, gguf_file=gguf_file, dtype=torch.float32)
        state = {key: value.contiguous().numpy() for key, value in model.state_dict().items()}
        if model.config.tie_word_embeddings:
            state.pop("lm_head.weight", None)  # the tied copy; the checkpoint stores it once
        save_file(state, str(OUT / f"{name}_expected.safetensors"))
        config = AutoConfig.from_pretrained(scratch, gguf_file=gguf_file).to_dict()
        for volatile in ("transformers_version", "_name_or_path"):
            config.pop(volatile, None)
        (OUT / f"{name}_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")

        tokenizer = AutoTokenizer.from_pretrained(scratch, gguf_file=gguf_file)
        saved = Path(scratch) / "saved"
        tokenizer.save_pretrained(saved)
        shutil.copy(saved / "tokenizer.json", OUT / f"{name}_tokenizer.json")
        ids = [tokenizer(text)["input_ids"] for text in SAMPLE_TEXTS]
        (OUT / f"{name}_tokens.json").write_text(json.dumps({"texts": SAMPLE_TEXTS, "ids": ids}, ensure_ascii=False) + "\n")


# ---------------------------------------------------------------- fuzz seeds

CORPUS = Path(__file__).resolve().parent / "fuzz" / "corpus_gguf"


def make_fuzz_corpus(rng):
    """Tiny valid files for tests/fuzz/fuzz_gguf: metadata of every value type, one small tensor
    of every dequantizable type, and a micro llama with a byte-level tokenizer."""
    CORPUS.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(CORPUS / "metadata_types.gguf"), "llama")
    writer.add_uint8("a.u8", 7)
    writer.add_int8("a.i8", -7)
    writer.add_uint16("a.u16", 700)
    writer.add_int16("a.i16", -700)
    writer.add_uint32("a.u32", 70000)
    writer.add_int32("a.i32", -70000)
    writer.add_float32("a.f32", 0.5)
    writer.add_uint64("a.u64", 1 << 40)
    writer.add_int64("a.i64", -(1 << 40))
    writer.add_float64("a.f64", 0.25)
    writer.add_bool("a.bool", True)
    writer.add_string("a.string", "héllo")
    writer.add_array("a.strings", ["x", "yz", ""])
    writer.add_array("a.ints", [1, -2, 3])
    writer.add_array("a.floats", [0.5, 1.5])
    writer.add_custom_alignment(64)
    write_gguf(writer)

    writer = gguf.GGUFWriter(str(CORPUS / "one_tensor_per_type.gguf"), "llama")
    writer.add_tensor("f32", rng.standard_normal((2, 3)).astype(np.float32))
    writer.add_tensor("f16", rng.standard_normal((4,)).astype(np.float16))
    for qtype in SCALE_OFFSETS:
        writer.add_tensor(qtype.name, random_blocks(rng, qtype, 1, gguf.GGML_QUANT_SIZES[qtype][0]), raw_dtype=qtype)
    write_gguf(writer)

    writer = gguf.GGUFWriter(str(CORPUS / "sentencepiece_tokenizer.gguf"), "llama")
    add_sentencepiece_tokenizer(writer, ["<unk>", "<s>", "</s>", "<0x41>", "\u2581", "a", "b", "ab", "\u2581ab"],
                                [0.0, 0.0, 0.0, 0.0, -1.0, -2.0, -3.0, -4.0, -5.0],
                                [2, 3, 3, 6, 1, 1, 1, 1, 1])
    write_gguf(writer)

    hidden, ffn, vocab = 32, 32, 6
    writer = gguf.GGUFWriter(str(CORPUS / "micro_llama.gguf"), "llama")
    writer.add_context_length(16)
    writer.add_embedding_length(hidden)
    writer.add_block_count(1)
    writer.add_feed_forward_length(ffn)
    writer.add_head_count(2)
    writer.add_head_count_kv(1)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(16)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(["<s>", "a", "b", "ab", "Ġ", "Ġab"])
    writer.add_token_types([gguf.TokenType.CONTROL] + [gguf.TokenType.NORMAL] * 5)
    writer.add_token_merges(["a b", "Ġ ab"])
    writer.add_bos_token_id(0)
    writer.add_add_bos_token(True)
    writer.add_tensor("token_embd.weight", random_blocks(rng, T.Q4_0, vocab, hidden), raw_dtype=T.Q4_0)
    for leaf, rows, cols in [("attn_q", 32, hidden), ("attn_k", 16, hidden), ("attn_v", 16, hidden), ("attn_output", hidden, 32),
                             ("ffn_gate", ffn, hidden), ("ffn_up", ffn, hidden), ("ffn_down", hidden, ffn)]:
        writer.add_tensor(f"blk.0.{leaf}.weight", random_blocks(rng, T.Q4_0, rows, cols), raw_dtype=T.Q4_0)
    for norm in ["blk.0.attn_norm.weight", "blk.0.ffn_norm.weight", "output_norm.weight"]:
        writer.add_tensor(norm, np.ones(hidden, dtype=np.float32))
    write_gguf(writer)


def main():
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    OUT.mkdir(parents=True, exist_ok=True)
    make_dequant_types(np.random.default_rng(20240601))
    make_fuzz_corpus(np.random.default_rng(99))
    tokens, merges = train_vocabulary()
    tokens = tokens + ["<|im sep|>", "<think>"]
    make_tiny_llama(np.random.default_rng(7), "tiny_llama", layers=3, tied=False, add_bos=True, rope_scaling=False,
                    tokens=tokens, add_tokenizer=lambda w: add_byte_level_tokenizer(w, tokens, merges, "llama-bpe"))
    make_tiny_llama(np.random.default_rng(8), "tiny_llama_tied", layers=1, tied=True, add_bos=False, rope_scaling=True,
                    tokens=tokens, add_tokenizer=lambda w: add_byte_level_tokenizer(w, tokens, merges, "smollm"))
    make_tiny_llama(np.random.default_rng(10), "tiny_qwen2", layers=2, tied=False, add_bos=False, rope_scaling=False,
                    tokens=tokens, add_tokenizer=lambda w: add_byte_level_tokenizer(w, tokens, merges, "qwen2"), arch="qwen2")
    pieces, scores, types = train_sentencepiece()
    make_tiny_llama(np.random.default_rng(9), "tiny_llama_spm", layers=1, tied=True, add_bos=None, rope_scaling=False,
                    tokens=pieces, add_tokenizer=lambda w: add_sentencepiece_tokenizer(w, pieces, scores, types))
    for path in sorted(OUT.iterdir()):
        print(f"{path.stat().st_size:>9,d}  {path.relative_to(OUT.parent.parent.parent)}")


if __name__ == "__main__":
    main()
