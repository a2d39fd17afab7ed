#include "host/tokenizer/tokenizer.h"

#include <stdexcept>
#include <system_error>

#include <nlohmann/json.hpp>

#include "host/errors.h"
#include "host/json_fields.h"
#include "host/tokenizer/added_tokens.h"
#include "host/tokenizer/decoder.h"
#include "host/tokenizer/json_node.h"
#include "host/tokenizer/model.h"
#include "host/tokenizer/normalizer.h"
#include "host/tokenizer/post_processor.h"
#include "host/tokenizer/pre_tokenizer.h"
#include "host/tokenizer/utf8.h"

namespace pq::tok {

struct Tokenizer::Impl {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<Model> model;
  std::unique_ptr<AddedVocabulary> added;
  SpecialWrap wrap;
  std::unique_ptr<Decoder> decoder;

  const std::string* token_of(int32_t id) const {
    const std::string* t = added->id_to_token(id);
    return t ? t : model->id_to_token(id);
  }
};

namespace {

std::vector<AddedToken> read_added_tokens(const JsonNode& root) {
  std::vector<AddedToken> tokens;
  auto list = root.find("added_tokens");
  if (!list) return tokens;
  for (size_t i = 0; i < list->items(); ++i) {
    JsonNode entry = list->at(i);
    entry.at("id").as_id();  // checked, but numbering follows HF (see AddedVocabulary)
    tokens.push_back(AddedToken::from_json(entry));
  }
  return tokens;
}

}  // namespace

Tokenizer Tokenizer::from_json(const nlohmann::json& j, const std::string& source) {
  JsonNode root(j, "", source);
  if (!j.is_object()) root.fail(std::string("expected an object, found ") + j.type_name());
  auto impl = std::make_shared<Impl>();
  if (auto n = root.find("normalizer")) impl->normalizer = make_normalizer(*n);
  if (auto p = root.find("pre_tokenizer")) impl->pre_tokenizer = make_pre_tokenizer(*p);
  impl->model = make_model(root.at("model"));
  impl->added = std::make_unique<AddedVocabulary>(read_added_tokens(root), *impl->model,
                                                  impl->normalizer.get());
  if (auto p = root.find("post_processor")) {
    const Impl& built = *impl;
    auto processor = make_post_processor(*p, [&](int32_t id) { return built.token_of(id) != nullptr; });
    impl->wrap = processor->single();
  }
  if (auto d = root.find("decoder")) impl->decoder = make_decoder(*d);
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_file(const std::filesystem::path& tokenizer_json) {
  // Bounded size (the largest tokenizers are tens of MiB) and nesting; a FIFO or a device in
  // its place is refused without blocking.
  constexpr size_t kMaxTokenizerBytes = size_t{256} << 20;
  return from_json(read_json_file(tokenizer_json.string(), kMaxTokenizerBytes), tokenizer_json.string());
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  if (auto bad = utf8::first_invalid(text))
    throw std::invalid_argument("encode: the text is not valid UTF-8 (byte " +
                                std::to_string(*bad) + ")");
  Pieces pieces = impl_->added->extract_and_normalize(text, impl_->normalizer.get());
  if (impl_->pre_tokenizer) impl_->pre_tokenizer->pre_tokenize(pieces);
  std::vector<int32_t> ids;
  if (add_special_tokens) ids = impl_->wrap.prefix;
  for (const Piece& piece : pieces) {
    if (piece.is_added_token()) ids.push_back(piece.added_token);
    else impl_->model->tokenize(piece.text, ids);
  }
  if (add_special_tokens) ids.insert(ids.end(), impl_->wrap.suffix.begin(), impl_->wrap.suffix.end());
  return ids;
}

std::vector<std::string> Tokenizer::tokens_for_decoding(std::span<const int32_t> ids,
                                                        bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    const std::string* token = impl_->token_of(id);
    if (!token) throw std::out_of_range("decode: no token has id " + std::to_string(id));
    if (skip_special_tokens && impl_->added->is_special(*token)) continue;
    tokens.push_back(*token);
  }
  return tokens;
}

std::string Tokenizer::decode_tokens(std::vector<std::string> tokens) const {
  std::string text;
  if (!impl_->decoder) {  // HF joins the tokens with spaces
    for (size_t i = 0; i < tokens.size(); ++i) text += (i ? " " : "") + tokens[i];
    return text;
  }
  for (const std::string& part : impl_->decoder->decode_chain(std::move(tokens))) text += part;
  return text;
}

bool Tokenizer::decoding_unsettled(std::string_view last_token, std::string_view text) const {
  return impl_->decoder && impl_->decoder->unsettled(last_token, text);
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  return decode_tokens(tokens_for_decoding(ids, skip_special_tokens));
}

int64_t Tokenizer::vocab_size() const {
  return int64_t(std::max(impl_->model->max_id(), impl_->added->max_id())) + 1;
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (auto id = impl_->added->token_to_id(token)) return id;
  return impl_->model->token_to_id(token);
}

std::string Tokenizer::id_to_token(int32_t id) const {
  const std::string* token = impl_->token_of(id);
  if (!token) throw std::out_of_range("id_to_token: no token has id " + std::to_string(id));
  return *token;
}

bool Tokenizer::is_special(int32_t id) const { return impl_->added->is_special_id(id); }

std::vector<int32_t> Tokenizer::special_prefix() const { return impl_->wrap.prefix; }
std::vector<int32_t> Tokenizer::special_suffix() const { return impl_->wrap.suffix; }

}  // namespace pq::tok
