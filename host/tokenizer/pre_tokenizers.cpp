// The pre-tokenizers of HF tokenizers (tokenizers/src/pre_tokenizers).
#include <vector>

#include "host/tokenizer/byte_level.h"
#include "host/tokenizer/component_factory.h"
#include "host/tokenizer/metaspace.h"
#include "host/tokenizer/pattern.h"
#include "host/tokenizer/pre_tokenizer.h"
#include "host/tokenizer/split.h"
#include "host/tokenizer/unicode.h"
#include "host/tokenizer/utf8.h"

namespace pq::tok {
namespace {

// GPT-2's pattern (openai/gpt-2 encoder.py), which ByteLevel uses when use_regex is true.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

template <class Predicate>
void split_on_chars(Pieces& pieces, Predicate is_match, SplitBehavior behavior) {
  split_pieces(pieces, [&](const std::string& text) {
    return apply_behavior(spans_of_chars(text, is_match), behavior);
  });
}

void split_on_regex(Pieces& pieces, const Regex& regex, SplitBehavior behavior, bool inverted) {
  split_pieces(pieces, [&](const std::string& text) {
    std::vector<Span> spans = spans_of_matches(regex.find_all(text), text.size());
    if (inverted) invert(spans);
    return apply_behavior(spans, behavior);
  });
}

class ByteLevel final : public PreTokenizer {
 public:
  explicit ByteLevel(const JsonNode& node)
      : add_prefix_space_(node.bool_or("add_prefix_space", true)),
        use_regex_(node.bool_or("use_regex", true)) {
    if (use_regex_) regex_ = std::make_unique<Regex>(kGpt2Pattern);
  }

  void pre_tokenize(Pieces& pieces) const override {
    if (add_prefix_space_)
      transform_pieces(pieces, [](Piece& p) {
        if (p.text.empty() || p.text[0] != ' ') p.text.insert(0, 1, ' ');
      });
    if (regex_) split_on_regex(pieces, *regex_, SplitBehavior::Isolated, false);
    transform_pieces(pieces, [](Piece& p) { p.text = byte_level::encode_bytes(p.text); });
  }

 private:
  bool add_prefix_space_, use_regex_;
  std::unique_ptr<Regex> regex_;
};

class Split final : public PreTokenizer {
 public:
  explicit Split(const JsonNode& node)
      : pattern_(make_pattern(node.at("pattern"))),
        behavior_(parse_split_behavior(node.at("behavior"))),
        invert_(node.bool_or("invert", false)) {}

  void pre_tokenize(Pieces& pieces) const override {
    split_on_regex(pieces, pattern_, behavior_, invert_);
  }

 private:
  Regex pattern_;
  SplitBehavior behavior_;
  bool invert_;
};

class Digits final : public PreTokenizer {
 public:
  explicit Digits(const JsonNode& node) : individual_(node.bool_or("individual_digits", false)) {}
  void pre_tokenize(Pieces& pieces) const override {
    split_on_chars(pieces, unicode::is_numeric,
                   individual_ ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
  }

 private:
  bool individual_;
};

class Metaspace final : public PreTokenizer {
 public:
  explicit Metaspace(const JsonNode& node) : options_(MetaspaceOptions::from_json(node)) {}

  void pre_tokenize(Pieces& pieces) const override {
    transform_pieces(pieces, [&](Piece& p) { p.text = options_.encode(p.text, p.at_start); });
    if (options_.split)
      split_on_chars(pieces, [&](char32_t c) { return c == options_.replacement; },
                     SplitBehavior::MergedWithNext);
  }

 private:
  MetaspaceOptions options_;
};

class BertPreTokenizer final : public PreTokenizer {
 public:
  void pre_tokenize(Pieces& pieces) const override {
    split_on_chars(pieces, unicode::is_whitespace, SplitBehavior::Removed);
    split_on_chars(pieces, unicode::is_punctuation, SplitBehavior::Isolated);
  }
};

// HF's Whitespace is the Rust regex \w+|[^\w\s]+ with the rest removed: runs of word
// characters and runs of other visible characters, whitespace dropped.
class Whitespace final : public PreTokenizer {
 public:
  void pre_tokenize(Pieces& pieces) const override {
    split_pieces(pieces, [](const std::string& text) {
      enum Kind { kSpace, kWord, kOther };
      std::vector<Cut> cuts;
      Kind run = kSpace;
      utf8::for_each_char(text, [&](char32_t c, size_t offset, size_t length) {
        Kind kind = unicode::is_whitespace(c) ? kSpace : unicode::is_word_char(c) ? kWord : kOther;
        if (kind != kSpace && kind == run) cuts.back().end = offset + length;
        else if (kind != kSpace) cuts.push_back({offset, offset + length});
        run = kind;
      });
      return cuts;
    });
  }
};

class WhitespaceSplit final : public PreTokenizer {
 public:
  void pre_tokenize(Pieces& pieces) const override {
    split_on_chars(pieces, unicode::is_whitespace, SplitBehavior::Removed);
  }
};

class Punctuation final : public PreTokenizer {
 public:
  explicit Punctuation(const JsonNode& node)
      : behavior_(node.has("behavior") ? parse_split_behavior(node.at("behavior"))
                                       : SplitBehavior::Isolated) {}
  void pre_tokenize(Pieces& pieces) const override {
    split_on_chars(pieces, unicode::is_punctuation, behavior_);
  }

 private:
  SplitBehavior behavior_;
};

class CharDelimiterSplit final : public PreTokenizer {
 public:
  explicit CharDelimiterSplit(const JsonNode& node) : delimiter_(node.at("delimiter").as_char()) {}
  void pre_tokenize(Pieces& pieces) const override {
    split_on_chars(pieces, [&](char32_t c) { return c == delimiter_; }, SplitBehavior::Removed);
  }

 private:
  char32_t delimiter_;
};

class Sequence final : public PreTokenizer {
 public:
  explicit Sequence(const JsonNode& node)
      : stages_(build_list<PreTokenizer>(node, "pretokenizers", make_pre_tokenizer)) {}
  void pre_tokenize(Pieces& pieces) const override {
    for (const auto& stage : stages_) stage->pre_tokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> stages_;
};

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const JsonNode& node) {
  return build_component<PreTokenizer>(node, "pre-tokenizer", {
      {"ByteLevel", builder_of<PreTokenizer, ByteLevel>()},
      {"Split", builder_of<PreTokenizer, Split>()},
      {"Digits", builder_of<PreTokenizer, Digits>()},
      {"Metaspace", builder_of<PreTokenizer, Metaspace>()},
      {"BertPreTokenizer", builder_of<PreTokenizer, BertPreTokenizer>()},
      {"Whitespace", builder_of<PreTokenizer, Whitespace>()},
      {"WhitespaceSplit", builder_of<PreTokenizer, WhitespaceSplit>()},
      {"Punctuation", builder_of<PreTokenizer, Punctuation>()},
      {"CharDelimiterSplit", builder_of<PreTokenizer, CharDelimiterSplit>()},
      {"Sequence", builder_of<PreTokenizer, Sequence>()},
  });
}

}  // namespace pq::tok
