#include "host/tokenizer/unicode.h"

#include <utf8proc.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "host/tokenizer/utf8.h"

namespace pq::tok::unicode {
namespace {

utf8proc_category_t category(char32_t c) { return utf8proc_category(utf8proc_int32_t(c)); }

bool in(utf8proc_category_t cat, utf8proc_category_t first, utf8proc_category_t last) {
  return cat >= first && cat <= last;
}

}  // namespace

bool is_whitespace(char32_t c) {
  if ((c >= 0x09 && c <= 0x0D) || c == 0x85) return true;
  return in(category(c), UTF8PROC_CATEGORY_ZS, UTF8PROC_CATEGORY_ZP);
}

bool is_numeric(char32_t c) {
  return in(category(c), UTF8PROC_CATEGORY_ND, UTF8PROC_CATEGORY_NO);
}

bool is_word_char(char32_t c) {
  if (c == 0x200C || c == 0x200D) return true;
  auto cat = category(c);
  return in(cat, UTF8PROC_CATEGORY_LU, UTF8PROC_CATEGORY_ND) || cat == UTF8PROC_CATEGORY_NL ||
         cat == UTF8PROC_CATEGORY_PC;
}

bool is_punctuation(char32_t c) {
  bool ascii_punctuation = (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) ||
                           (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
  return ascii_punctuation || in(category(c), UTF8PROC_CATEGORY_PC, UTF8PROC_CATEGORY_PO);
}

bool is_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  auto cat = category(c);
  return cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF || cat == UTF8PROC_CATEGORY_CO;
}

bool is_nonspacing_mark(char32_t c) { return category(c) == UTF8PROC_CATEGORY_MN; }

bool is_bert_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

void append_lowercase(std::string& out, char32_t c) {
  // utf8proc has the simple (one code point) mappings. The full mapping differs from them for
  // one character only: SpecialCasing.txt's unconditional entry U+0130 -> U+0069 U+0307.
  if (c == 0x130) {
    out += "i\xCC\x87";
    return;
  }
  utf8::append(out, char32_t(utf8proc_tolower(utf8proc_int32_t(c))));
}

std::string lowercase(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  utf8::for_each_char(s, [&](char32_t c, size_t, size_t) { append_lowercase(out, c); });
  return out;
}

std::string normalize(std::string_view s, NormalizationForm form) {
  if (s.empty()) return {};
  int options = UTF8PROC_STABLE;
  switch (form) {
    case NormalizationForm::NFC: options |= UTF8PROC_COMPOSE; break;
    case NormalizationForm::NFD: options |= UTF8PROC_DECOMPOSE; break;
    case NormalizationForm::NFKC: options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; break;
    case NormalizationForm::NFKD: options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; break;
  }
  utf8proc_uint8_t* result = nullptr;
  utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                    utf8proc_ssize_t(s.size()), &result, utf8proc_option_t(options));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(result, &std::free);
  if (n < 0) throw std::runtime_error(std::string("utf8proc: ") + utf8proc_errmsg(n));
  return std::string(reinterpret_cast<const char*>(result), size_t(n));
}

}  // namespace pq::tok::unicode
