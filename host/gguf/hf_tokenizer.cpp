#include "host/gguf/hf_tokenizer.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <tuple>
#include <vector>

namespace pq::gguf {
namespace {

using ordered_json = nlohmann::ordered_json;

constexpr int64_t kControlToken = 3;      // llama.cpp's LLAMA_TOKEN_TYPE_CONTROL
constexpr int64_t kUserDefinedToken = 4;  // LLAMA_TOKEN_TYPE_USER_DEFINED

void append_utf8(std::string& out, uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

// GPT-2's bytes_to_unicode(): printable bytes stand for themselves, the other 68 for U+0100....
std::array<uint32_t, 256> byte_level_alphabet() {
  std::array<uint32_t, 256> alphabet{};
  uint32_t next = 256;
  for (uint32_t byte = 0; byte < 256; ++byte) {
    const bool printable = (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
    alphabet[byte] = printable ? byte : next++;
  }
  return alphabet;
}

// The code points of a string the reader has checked to be valid UTF-8.
std::vector<uint32_t> code_points(const std::string& text) {
  std::vector<uint32_t> codes;
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    uint32_t code = length == 1 ? lead : lead & (0x7F >> length);
    for (size_t k = 1; k < length; ++k) code = (code << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    codes.push_back(code);
    i += length;
  }
  return codes;
}

class ByteLevelSpelling {
 public:
  ByteLevelSpelling() : alphabet_(byte_level_alphabet()), members_(alphabet_.begin(), alphabet_.end()) {}

  bool spelled(const std::string& token) const {
    const std::vector<uint32_t> codes = code_points(token);
    return std::all_of(codes.begin(), codes.end(), [&](uint32_t code) { return members_.contains(code); });
  }
  // A token already in the byte alphabet stays; any other is spelled from its UTF-8 bytes.
  std::string respell(const std::string& token) const {
    if (spelled(token)) return token;
    std::string out;
    for (unsigned char byte : token) append_utf8(out, alphabet_[byte]);
    return out;
  }

 private:
  std::array<uint32_t, 256> alphabet_;
  std::set<uint32_t> members_;
};

// transformers' GGUF_PRE_TOKENIZER_SPLITS: the split regex each tokenizer.ggml.pre was trained with.
constexpr const char* kLlama3Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen35Split =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kTekkenSplit =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kGpt4oSplit =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

const std::map<std::string, const char*>& pre_tokenizer_splits() {
  static const std::map<std::string, const char*> splits = {
      {"llama3", kLlama3Split},     {"llama-v3", kLlama3Split}, {"llama-bpe", kLlama3Split}, {"falcon3", kLlama3Split},
      {"falcon-h1", kLlama3Split},  {"pixtral", kLlama3Split},  {"midm-2.0", kLlama3Split},  {"lfm2", kLlama3Split},
      {"jina-v5-nano", kLlama3Split}, {"dbrx", kLlama3Split},   {"smaug-bpe", kLlama3Split}, {"tekken", kTekkenSplit},
      {"qwen2", kQwen2Split},       {"deepseek-r1-qwen", kQwen2Split}, {"kormo", kQwen2Split}, {"f2llmv2", kQwen2Split},
      {"megrez", kQwen2Split},      {"qwen35", kQwen35Split},   {"gpt-4o", kGpt4oSplit},     {"llama4", kGpt4oSplit},
      {"kanana2", kGpt4oSplit},     {"talkie", kGpt4oSplit},    {"minimax-m2", kGpt4oSplit},
  };
  return splits;
}

ordered_json byte_level_pre_tokenizer(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

ordered_json pre_tokenizer_for(const std::optional<std::string>& pre) {
  const auto it = pre ? pre_tokenizer_splits().find(*pre) : pre_tokenizer_splits().end();
  if (it == pre_tokenizer_splits().end()) return byte_level_pre_tokenizer(true);  // GPT-2's own regex
  ordered_json split = {{"type", "Split"}, {"pattern", {{"Regex", it->second}}}, {"behavior", "Isolated"}, {"invert", false}};
  return {{"type", "Sequence"}, {"pretokenizers", ordered_json::array({split, byte_level_pre_tokenizer(false)})}};
}

struct SpecialToken {
  std::string content;
  int64_t id;
};

ordered_json template_piece(const std::string& kind, const std::string& id, int type_id) {
  return {{kind, {{"id", id}, {"type_id", type_id}}}};
}

// transformers' update_post_processor(): "[bos:0] $A:0 [eos:0]" and "... [bos:1] $B:1 [eos:1]".
ordered_json post_processor(const std::optional<SpecialToken>& bos, const std::optional<SpecialToken>& eos) {
  ordered_json single = ordered_json::array();
  ordered_json pair = ordered_json::array();
  for (int sequence = 0; sequence < 2; ++sequence) {
    ordered_json& pieces = sequence == 0 ? single : pair;
    for (int part = 0; part <= sequence; ++part) {
      if (bos) pieces.push_back(template_piece("SpecialToken", bos->content, part));
      pieces.push_back(template_piece("Sequence", part == 0 ? "A" : "B", part));
      if (eos) pieces.push_back(template_piece("SpecialToken", eos->content, part));
    }
  }
  std::map<std::string, int64_t> specials;
  if (bos) specials.emplace(bos->content, bos->id);
  if (eos) specials.emplace(eos->content, eos->id);
  ordered_json special_tokens = ordered_json::object();
  for (const auto& [content, id] : specials) {
    special_tokens[content] = {{"id", content}, {"ids", {id}}, {"tokens", {content}}};
  }
  return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", special_tokens}};
}

ordered_json added_token(int64_t id, const std::string& content, bool special) {
  return {{"id", id},         {"content", content},  {"single_word", false}, {"lstrip", false},
          {"rstrip", false},  {"normalized", false}, {"special", special}};
}

struct Vocabulary {
  std::vector<std::pair<std::string, int64_t>> by_id;  // entries sorted by id
  std::map<std::string, int64_t> ids;                   // a token spelled twice keeps its last id, as in a Python dict
};

template <class Spell>
Vocabulary make_vocabulary(const std::vector<std::string>& tokens, Spell spell) {
  Vocabulary vocabulary;
  for (size_t i = 0; i < tokens.size(); ++i) vocabulary.ids[spell(tokens[i])] = static_cast<int64_t>(i);
  for (const auto& [token, id] : vocabulary.ids) vocabulary.by_id.emplace_back(token, id);
  std::sort(vocabulary.by_id.begin(), vocabulary.by_id.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  return vocabulary;
}

using MergePairs = std::vector<std::pair<std::string, std::string>>;

MergePairs merges_from_file(const GgufFile& file, const std::vector<std::string>& merges) {
  MergePairs pairs;
  for (size_t i = 0; i < merges.size(); ++i) {
    const size_t space = merges[i].find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == merges[i].size() ||
        merges[i].find(' ', space + 1) != std::string::npos) {
      file.fail_key("tokenizer.ggml.merges", "merge " + std::to_string(i) + " '" + merges[i] + "' is not two tokens separated by one space");
    }
    pairs.emplace_back(merges[i].substr(0, space), merges[i].substr(space + 1));
  }
  return pairs;
}

// The merges a SentencePiece vocabulary implies when the file lists none (transformers'
// generate_merges with the scores): every split of a token into two tokens of the vocabulary,
// best score first, then by the pieces' lengths; ties keep the vocabulary's order.
MergePairs merges_from_scores(const GgufFile& file, const std::vector<std::string>& tokens, const Vocabulary& vocabulary) {
  const std::optional<std::vector<double>> scores = file.get_float_array("tokenizer.ggml.scores");
  if (!scores) file.fail_key("tokenizer.ggml.scores", "is missing (needed to recover merges when tokenizer.ggml.merges is absent)");
  if (scores->size() != tokens.size()) {
    file.fail_key("tokenizer.ggml.scores", std::to_string(scores->size()) + " scores for " + std::to_string(tokens.size()) + " tokens");
  }
  std::vector<std::string> order;  // dict(zip(tokens, scores)): first position, last score
  std::map<std::string, double> score_of;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (score_of.insert_or_assign(tokens[i], (*scores)[i]).second) order.push_back(tokens[i]);
  }
  struct Candidate {
    std::string left, right;
    double score;
    size_t left_length, right_length;  // in code points
  };
  std::vector<Candidate> candidates;
  for (const std::string& merged : order) {
    const std::vector<uint32_t> codes = code_points(merged);
    std::vector<Candidate> local;
    size_t offset = 0;
    for (size_t index = 1; index < codes.size(); ++index) {
      std::string one;
      append_utf8(one, codes[index - 1]);
      offset += one.size();
      std::string left = merged.substr(0, offset);
      std::string right = merged.substr(offset);
      if (vocabulary.ids.contains(left) && vocabulary.ids.contains(right)) {
        local.push_back({std::move(left), std::move(right), score_of[merged], index, codes.size() - index});
      }
    }
    std::stable_sort(local.begin(), local.end(), [&](const Candidate& a, const Candidate& b) {
      return std::pair(vocabulary.ids.at(a.left), vocabulary.ids.at(a.right)) < std::pair(vocabulary.ids.at(b.left), vocabulary.ids.at(b.right));
    });
    candidates.insert(candidates.end(), local.begin(), local.end());
  }
  std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return std::tuple(a.score, a.left_length, a.right_length) > std::tuple(b.score, b.left_length, b.right_length);
  });
  MergePairs pairs;
  for (Candidate& candidate : candidates) pairs.emplace_back(std::move(candidate.left), std::move(candidate.right));
  return pairs;
}

ordered_json bpe_model(const Vocabulary& vocabulary, const MergePairs& merges, bool byte_level) {
  ordered_json vocab = ordered_json::object();
  for (const auto& [token, id] : vocabulary.by_id) vocab[token] = id;
  ordered_json merge_pairs = ordered_json::array();
  for (const auto& [left, right] : merges) merge_pairs.push_back({left, right});
  const ordered_json affix = byte_level ? ordered_json("") : ordered_json(nullptr);
  return {{"type", "BPE"},
          {"dropout", nullptr},
          {"unk_token", nullptr},
          {"continuing_subword_prefix", affix},
          {"end_of_word_suffix", affix},
          {"fuse_unk", !byte_level},
          {"byte_fallback", !byte_level},
          {"ignore_merges", false},
          {"vocab", vocab},
          {"merges", merge_pairs}};
}

// Control tokens become special added tokens (in a byte-level vocabulary only those spelled in
// its alphabet: transformers' add_gguf_special_tokens), and so do the bos/eos/unk/pad tokens the
// config names; user-defined tokens found in the vocabulary become plain added tokens.
ordered_json added_tokens(const std::vector<std::string>& tokens, const std::vector<int64_t>& token_types,
                          const Vocabulary& vocabulary, const std::optional<ByteLevelSpelling>& byte_level,
                          const std::map<std::string, std::string>& special_text) {
  std::map<int64_t, ordered_json> by_id;
  const auto add = [&](const std::string& token, bool special) {
    const auto it = vocabulary.ids.find(token);
    if (it != vocabulary.ids.end()) by_id.try_emplace(it->second, added_token(it->second, token, special));
  };
  for (size_t i = 0; i < token_types.size(); ++i) {
    if (token_types[i] == kControlToken && (!byte_level || byte_level->spelled(tokens[i]))) add(tokens[i], true);
  }
  for (const auto& [name, text] : special_text) add(text, true);
  for (size_t i = 0; i < token_types.size(); ++i) {
    if (token_types[i] == kUserDefinedToken) add(tokens[i], false);
  }
  ordered_json list = ordered_json::array();
  for (auto& [id, token] : by_id) list.push_back(std::move(token));
  return list;
}

std::optional<std::string> special_token_text(const GgufFile& file, const std::vector<std::string>& tokens, const char* key) {
  const std::optional<uint64_t> id = file.get_uint(key);
  if (!id) return std::nullopt;
  if (*id >= tokens.size()) {
    file.fail_key(key, "token id " + std::to_string(*id) + " is outside the " + std::to_string(tokens.size()) + " tokens");
  }
  return tokens[*id];
}

std::optional<SpecialToken> template_token(bool wanted, const std::optional<std::string>& content, const Vocabulary& vocabulary) {
  if (!wanted || !content || !vocabulary.ids.contains(*content)) return std::nullopt;
  return SpecialToken{*content, vocabulary.ids.at(*content)};
}

ordered_json metaspace_pre_tokenizer() {
  return {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "first"}, {"split", false}};
}

// LlamaTokenizer's: "\u2581" back to spaces, byte tokens to bytes, then the prepended space off.
ordered_json sentencepiece_decoder() {
  return {{"type", "Sequence"},
          {"decoders",
           {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
            {{"type", "ByteFallback"}},
            {{"type", "Fuse"}},
            {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
}

ordered_json byte_level_decoder() {
  return {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
}

// tokenizer.ggml.model "gpt2" (byte-level BPE) or "llama" (SentencePiece BPE with byte fallback).
HfTokenizerFiles bpe_tokenizer(const GgufFile& file, bool byte_level) {
  const std::vector<std::string>* tokens = file.get_string_array("tokenizer.ggml.tokens");
  if (tokens == nullptr || tokens->empty()) file.fail_key("tokenizer.ggml.tokens", "is missing or empty");
  const std::vector<std::string>* merges = file.get_string_array("tokenizer.ggml.merges");
  if (merges == nullptr && byte_level) file.fail_key("tokenizer.ggml.merges", "is missing (a gpt2 tokenizer needs its merges)");
  const std::vector<int64_t> token_types = file.get_int_array("tokenizer.ggml.token_type").value_or(std::vector<int64_t>{});
  if (!token_types.empty() && token_types.size() != tokens->size()) {
    file.fail_key("tokenizer.ggml.token_type", std::to_string(token_types.size()) + " types for " +
                                                   std::to_string(tokens->size()) + " tokens");
  }
  std::optional<ByteLevelSpelling> spelling;
  if (byte_level) spelling.emplace();
  const Vocabulary vocabulary = byte_level ? make_vocabulary(*tokens, [&](const std::string& t) { return spelling->respell(t); })
                                           : make_vocabulary(*tokens, [](const std::string& t) { return t; });
  const MergePairs merge_pairs = merges != nullptr ? merges_from_file(file, *merges) : merges_from_scores(file, *tokens, vocabulary);

  const std::map<std::string, const char*> special_keys = {{"bos_token", "tokenizer.ggml.bos_token_id"},
                                                           {"eos_token", "tokenizer.ggml.eos_token_id"},
                                                           {"pad_token", "tokenizer.ggml.padding_token_id"},
                                                           {"unk_token", "tokenizer.ggml.unknown_token_id"}};
  std::map<std::string, std::string> special_text;
  for (const auto& [name, key] : special_keys) {
    if (auto text = special_token_text(file, *tokens, key)) special_text[name] = *text;
  }
  const auto text_of = [&](const std::string& name) -> std::optional<std::string> {
    const auto it = special_text.find(name);
    return it == special_text.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  // llama.cpp adds BOS to a SentencePiece vocabulary that does not say otherwise.
  const bool add_bos = file.get_bool("tokenizer.ggml.add_bos_token").value_or(!byte_level) && text_of("bos_token");
  const bool add_eos = file.get_bool("tokenizer.ggml.add_eos_token").value_or(false) && text_of("eos_token");
  const std::optional<std::string> pre = file.get_string("tokenizer.ggml.pre");
  const bool has_split = pre && pre_tokenizer_splits().contains(*pre);

  HfTokenizerFiles files;
  files.tokenizer = {{"version", "1.0"},
                     {"truncation", nullptr},
                     {"padding", nullptr},
                     {"added_tokens", added_tokens(*tokens, token_types, vocabulary, spelling, special_text)},
                     {"normalizer", nullptr},
                     {"pre_tokenizer", byte_level || has_split ? pre_tokenizer_for(pre) : metaspace_pre_tokenizer()},
                     {"post_processor", post_processor(template_token(add_bos, text_of("bos_token"), vocabulary),
                                                       template_token(add_eos, text_of("eos_token"), vocabulary))},
                     {"decoder", byte_level ? byte_level_decoder() : sentencepiece_decoder()},
                     {"model", bpe_model(vocabulary, merge_pairs, byte_level)}};

  ordered_json& config = files.tokenizer_config;
  config["add_bos_token"] = add_bos;
  config["add_eos_token"] = add_eos;
  if (auto text = text_of("bos_token")) config["bos_token"] = *text;
  config["clean_up_tokenization_spaces"] = false;
  if (auto text = text_of("eos_token")) config["eos_token"] = *text;
  if (auto text = text_of("pad_token")) config["pad_token"] = *text;
  config["tokenizer_class"] = "PreTrainedTokenizerFast";
  if (auto text = text_of("unk_token")) config["unk_token"] = *text;
  return files;
}

}  // namespace

std::optional<HfTokenizerFiles> hf_tokenizer_files(const GgufFile& file) {
  const std::optional<std::string> model = file.get_string("tokenizer.ggml.model");
  if (!model) return std::nullopt;
  if (*model != "gpt2" && *model != "llama") {
    file.fail_key("tokenizer.ggml.model", "tokenizer model '" + *model + "' is not supported (gpt2 and llama are)");
  }
  HfTokenizerFiles files = bpe_tokenizer(file, *model == "gpt2");
  files.chat_template = file.get_string("tokenizer.chat_template");
  if (files.chat_template) files.tokenizer_config["chat_template"] = *files.chat_template;
  return files;
}

}  // namespace pq::gguf
