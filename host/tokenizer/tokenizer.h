// Hugging Face tokenizers in C++: reads a tokenizer.json and encodes text to the same ids as
// the Python `tokenizers` library (0.23), and decodes ids back to text.
//
// The pipeline of encode(): added tokens are cut out of the text, the rest is normalised
// (Normalizer), cut into words (PreTokenizer), each word tokenized (Model), and the special
// tokens of the post-processor put around the whole (PostProcessor). decode() maps ids to
// token strings and hands them to the Decoder. Every stage is built from its member of the
// file by a factory that names the JSON key path of anything it refuses.
//
// Where this differs from Python on purpose or by necessity:
// - the file's "truncation" and "padding" are not applied (batching policies of the caller;
//   Python applies them in encode()); pairs of sequences are not encoded;
// - decode() throws std::out_of_range for an unknown id, where Python drops it;
// - BERT's punctuation / control / accent tests use current Unicode where HF has Unicode 8.0
//   tables (unicode.h); regex \w and single_word miss the Other_Alphabetic symbols ⓐ..ⓩ
//   (regex.cpp, unicode.h); Metaspace's "first" scheme sees piece starts (piece.h);
// - a Strip decoder with stop > 0 on an empty token gives "" where HF panics.
// As in Python, a "normalized" added token decodes as its normalised content, and added
// tokens are numbered as HF numbers them, whatever "id" the file gives.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace pq::tok {

class StreamDecoder;

class Tokenizer {
 public:
  // Throws FormatError "<file>: <json.key.path>: ..." for malformed JSON or any component or
  // option this implementation does not support (naming the supported ones), and
  // std::system_error when the file cannot be read.
  static Tokenizer from_file(const std::filesystem::path& tokenizer_json);
  static Tokenizer from_json(const nlohmann::json& j, const std::string& source);

  // Throws std::invalid_argument for text that is not valid UTF-8. Safe to call from several
  // threads at once.
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const;
  // Throws std::out_of_range for an id the tokenizer does not have (Python skips those).
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  // Model vocabulary plus added tokens: the largest id + 1.
  int64_t vocab_size() const;
  std::optional<int32_t> token_to_id(std::string_view token) const;
  // Throws std::out_of_range for an id the tokenizer does not have.
  std::string id_to_token(int32_t id) const;
  // An added token with "special": true.
  bool is_special(int32_t id) const;
  // The ids the post-processor puts before / after a single sequence when add_special_tokens
  // is true (BOS for Llama, [CLS] / [SEP] for BERT); empty for GPT-2 style tokenizers.
  std::vector<int32_t> special_prefix() const;
  std::vector<int32_t> special_suffix() const;

 private:
  friend class StreamDecoder;
  struct Impl;
  // The token strings of `ids` that decode() hands to the decoder (throws std::out_of_range
  // for an unknown id), and the text the decoder makes of them.
  std::vector<std::string> tokens_for_decoding(std::span<const int32_t> ids,
                                               bool skip_special_tokens) const;
  std::string decode_tokens(std::vector<std::string> tokens) const;
  // Whether decoded text ending with `last_token` may still change when tokens follow.
  bool decoding_unsettled(std::string_view last_token, std::string_view text) const;

  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;  // immutable once built, so copies share it
};

}  // namespace pq::tok
