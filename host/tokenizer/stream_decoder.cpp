#include "host/tokenizer/stream_decoder.h"

#include "host/tokenizer/utf8.h"

namespace pq::tok {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && text.compare(0, prefix.size(), prefix) == 0;
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

StreamDecoder::StreamDecoder(const Tokenizer& t, bool skip_special_tokens)
    : tokenizer_(t), skip_special_tokens_(skip_special_tokens) {}

std::string StreamDecoder::push(int32_t id) {
  std::vector<std::string> token = tokenizer_.tokens_for_decoding({&id, 1}, skip_special_tokens_);
  if (token.empty()) return {};  // skipped: decode() ignores it as well
  window_.push_back(std::move(token.front()));
  std::string text = tokenizer_.decode_tokens(window_);
  if (text.size() <= context_text_.size() || !starts_with(text, context_text_) ||
      ends_with(text, utf8::kReplacementUtf8) ||
      tokenizer_.decoding_unsettled(window_.back(), text))
    return {};
  std::string fresh = text.substr(context_text_.size());
  // The new context is what was just emitted, unless it decodes to nothing on its own (a
  // lone space a Strip removes): then the old context stays in front of it.
  std::vector<std::string> emitted(window_.begin() + std::ptrdiff_t(context_end_), window_.end());
  std::string emitted_text = tokenizer_.decode_tokens(emitted);
  if (!emitted_text.empty()) {
    window_ = std::move(emitted);
    context_text_ = std::move(emitted_text);
  } else {
    context_text_ = std::move(text);
  }
  context_end_ = window_.size();
  return fresh;
}

std::string StreamDecoder::flush() {
  std::string text = tokenizer_.decode_tokens(window_);
  size_t common = 0;
  while (common < text.size() && common < context_text_.size() && text[common] == context_text_[common])
    ++common;
  while (common > 0 && common < text.size() && (static_cast<unsigned char>(text[common]) & 0xC0) == 0x80)
    --common;  // never start inside a character
  window_.clear();
  context_end_ = 0;
  context_text_.clear();
  return text.substr(common);
}

}  // namespace pq::tok
