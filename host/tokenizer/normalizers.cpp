// The normalizers of HF tokenizers (tokenizers/src/normalizers), character for character.
#include <vector>

#include "host/tokenizer/component_factory.h"
#include "host/tokenizer/normalizer.h"
#include "host/tokenizer/pattern.h"
#include "host/tokenizer/unicode.h"
#include "host/tokenizer/utf8.h"

namespace pq::tok {
namespace {

// Maps every character through fn(c, out), which appends what the character becomes.
template <class Fn>
std::string map_chars(const std::string& text, Fn&& fn) {
  std::string out;
  out.reserve(text.size());
  utf8::for_each_char(text, [&](char32_t c, size_t, size_t) { fn(c, out); });
  return out;
}

std::string strip_nonspacing_marks(const std::string& text) {
  return map_chars(text, [](char32_t c, std::string& out) {
    if (!unicode::is_nonspacing_mark(c)) utf8::append(out, c);
  });
}

class BertNormalizer final : public Normalizer {
 public:
  explicit BertNormalizer(const JsonNode& node)
      : clean_text_(node.bool_or("clean_text", true)),
        handle_chinese_chars_(node.bool_or("handle_chinese_chars", true)),
        lowercase_(node.bool_or("lowercase", true)),
        // null means "strip accents when lowercasing", as in the original BERT.
        strip_accents_(node.bool_or("strip_accents", lowercase_)) {}

  std::string normalize(std::string text) const override {
    if (clean_text_) text = clean(text);
    if (handle_chinese_chars_) text = space_chinese_chars(text);
    if (strip_accents_)
      text = strip_nonspacing_marks(unicode::normalize(text, unicode::NormalizationForm::NFD));
    if (lowercase_) text = unicode::lowercase(text);
    return text;
  }

 private:
  bool clean_text_, handle_chinese_chars_, lowercase_, strip_accents_;

  // Drops NUL, U+FFFD and control characters, and turns whitespace into a plain space.
  static std::string clean(const std::string& text) {
    return map_chars(text, [](char32_t c, std::string& out) {
      if (c == 0 || c == utf8::kReplacement || unicode::is_control(c)) return;
      if (unicode::is_whitespace(c)) out += ' ';
      else utf8::append(out, c);
    });
  }

  static std::string space_chinese_chars(const std::string& text) {
    return map_chars(text, [](char32_t c, std::string& out) {
      bool spaced = unicode::is_bert_chinese_char(c);
      if (spaced) out += ' ';
      utf8::append(out, c);
      if (spaced) out += ' ';
    });
  }
};

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(unicode::NormalizationForm form) : form_(form) {}
  std::string normalize(std::string text) const override { return unicode::normalize(text, form_); }

 private:
  unicode::NormalizationForm form_;
};

class Lowercase final : public Normalizer {
 public:
  std::string normalize(std::string text) const override { return unicode::lowercase(text); }
};

// Removes nonspacing marks only; it does not decompose first (pair it with NFD/NFKD).
class StripAccents final : public Normalizer {
 public:
  std::string normalize(std::string text) const override { return strip_nonspacing_marks(text); }
};

class Strip final : public Normalizer {
 public:
  explicit Strip(const JsonNode& node)
      : left_(node.bool_or("strip_left", true)), right_(node.bool_or("strip_right", true)) {}

  std::string normalize(std::string text) const override {
    size_t begin = 0, end = text.size();
    if (left_) {
      while (begin < end) {
        size_t i = begin;
        if (!unicode::is_whitespace(utf8::next(text, i))) break;
        begin = i;
      }
    }
    if (right_) {
      while (end > begin) {
        size_t lead = end - 1;
        while ((static_cast<unsigned char>(text[lead]) & 0xC0) == 0x80) --lead;
        size_t i = lead;
        if (!unicode::is_whitespace(utf8::next(text, i))) break;
        end = lead;
      }
    }
    return text.substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

class Prepend final : public Normalizer {
 public:
  explicit Prepend(const JsonNode& node) : prefix_(node.at("prepend").as_string()) {}
  std::string normalize(std::string text) const override {
    return text.empty() ? text : prefix_ + text;
  }

 private:
  std::string prefix_;
};

class Replace final : public Normalizer {
 public:
  explicit Replace(const JsonNode& node)
      : pattern_(make_pattern(node.at("pattern"))), content_(node.at("content").as_string()) {}
  std::string normalize(std::string text) const override {
    return replace_matches(pattern_, text, content_);
  }

 private:
  Regex pattern_;
  std::string content_;
};

class Sequence final : public Normalizer {
 public:
  explicit Sequence(const JsonNode& node)
      : stages_(build_list<Normalizer>(node, "normalizers", make_normalizer)) {}
  std::string normalize(std::string text) const override {
    for (const auto& stage : stages_) text = stage->normalize(std::move(text));
    return text;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> stages_;
};

}  // namespace

std::unique_ptr<Normalizer> make_normalizer(const JsonNode& node) {
  using Form = unicode::NormalizationForm;
  auto form = [](Form f) {
    return [f](const JsonNode&) -> std::unique_ptr<Normalizer> { return std::make_unique<UnicodeNormalizer>(f); };
  };
  return build_component<Normalizer>(node, "normalizer", {
      {"BertNormalizer", builder_of<Normalizer, BertNormalizer>()},
      {"NFC", form(Form::NFC)},
      {"NFD", form(Form::NFD)},
      {"NFKC", form(Form::NFKC)},
      {"NFKD", form(Form::NFKD)},
      {"Lowercase", builder_of<Normalizer, Lowercase>()},
      {"StripAccents", builder_of<Normalizer, StripAccents>()},
      {"Strip", builder_of<Normalizer, Strip>()},
      {"Prepend", builder_of<Normalizer, Prepend>()},
      {"Replace", builder_of<Normalizer, Replace>()},
      {"Sequence", builder_of<Normalizer, Sequence>()},
  });
}

}  // namespace pq::tok
