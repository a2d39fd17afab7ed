// The decoders of HF tokenizers (tokenizers/src/decoders), string for string.
#include <optional>

#include "host/tokenizer/byte_level.h"
#include "host/tokenizer/component_factory.h"
#include "host/tokenizer/decoder.h"
#include "host/tokenizer/metaspace.h"
#include "host/tokenizer/pattern.h"
#include "host/tokenizer/utf8.h"

namespace pq::tok {
namespace {

std::string join(const std::vector<std::string>& tokens) {
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

// All tokens' bytes (a token with a character outside the byte map counts as its own UTF-8),
// then one lossy UTF-8 conversion of the whole.
class ByteLevel final : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string bytes;
    for (const std::string& token : tokens) {
      size_t mark = bytes.size();
      bool mapped = true;
      utf8::for_each_char(token, [&](char32_t c, size_t, size_t) {
        if (!mapped) return;
        auto b = byte_level::byte_of_char(c);
        if (b) bytes += char(*b);
        else mapped = false;
      });
      if (!mapped) bytes.replace(mark, std::string::npos, token);
    }
    return {utf8::lossy(bytes)};
  }
};

class WordPiece final : public Decoder {
 public:
  explicit WordPiece(const JsonNode& node)
      : prefix_(node.string_or("prefix", "##")), cleanup_(node.bool_or("cleanup", true)) {}

  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        if (t.compare(0, prefix_.size(), prefix_) == 0) t.erase(0, prefix_.size());
        else t.insert(0, 1, ' ');
      }
      if (cleanup_) t = cleanup(t);
    }
    return tokens;
  }

 private:
  std::string prefix_;
  bool cleanup_;

  static void replace_all(std::string& s, std::string_view from, std::string_view to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
      s.replace(at, from.size(), to);
  }
  // HF's wordpiece cleanup: undo the spaces BERT's tokenization put before punctuation and
  // English contractions.
  static std::string cleanup(std::string s) {
    static const std::pair<std::string_view, std::string_view> kRules[] = {
        {" .", "."},     {" ?", "?"},     {" !", "!"},          {" ,", ","},
        {" ' ", "'"},    {" n't", "n't"}, {" 'm", "'m"},        {" do not", " don't"},
        {" 's", "'s"},   {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& [from, to] : kRules) replace_all(s, from, to);
    return s;
  }
};

class Metaspace final : public Decoder {
 public:
  explicit Metaspace(const JsonNode& node) : options_(MetaspaceOptions::from_json(node)) {}

  // Every replacement character becomes a space, except in the first token, where HF drops
  // them (all of them, not only a leading one) unless the scheme is "never".
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      bool drop = i == 0 && options_.prepend_scheme != PrependScheme::Never;
      std::string out;
      utf8::for_each_char(tokens[i], [&](char32_t c, size_t, size_t) {
        if (c != options_.replacement) utf8::append(out, c);
        else if (!drop) out += ' ';
      });
      tokens[i] = std::move(out);
    }
    return tokens;
  }

 private:
  MetaspaceOptions options_;
};

// "<0x41>"-style tokens: the byte they name ("<0x" two hex digits ">", as u8::from_str_radix
// reads them, so "+F" passes too).
std::optional<uint8_t> byte_token(std::string_view t) {
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return std::nullopt;
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  int hi = t[3] == '+' ? 0 : digit(t[3]), lo = digit(t[4]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return uint8_t(hi * 16 + lo);
}

// Runs of byte tokens become their UTF-8 text, or one U+FFFD per byte when the run is not
// valid UTF-8.
class ByteFallback final : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::vector<std::string> out;
    std::string run;
    size_t run_length = 0;
    auto flush = [&] {
      if (run_length == 0) return;
      if (utf8::is_valid(run)) out.push_back(run);
      else
        for (size_t k = 0; k < run_length; ++k) out.emplace_back(utf8::kReplacementUtf8);
      run.clear();
      run_length = 0;
    };
    for (std::string& t : tokens) {
      if (auto b = byte_token(t)) {
        run += char(*b);
        ++run_length;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    return out;
  }

  bool unsettled(std::string_view last_token, std::string_view) const override {
    return byte_token(last_token).has_value();
  }
};

class Fuse final : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    return {join(tokens)};
  }
};

// Removes up to `start` leading and `stop` trailing `content` characters of every token.
class Strip final : public Decoder {
 public:
  explicit Strip(const JsonNode& node)
      : content_(node.at("content").as_char()),
        start_(size_t(node.int_or("start", 0))),
        stop_(size_t(node.int_or("stop", 0))) {
    if (node.int_or("start", 0) < 0 || node.int_or("stop", 0) < 0)
      node.fail("start and stop must not be negative");
  }

  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::string& t : tokens) {
      std::u32string chars;
      utf8::for_each_char(t, [&](char32_t c, size_t, size_t) { chars += c; });
      size_t begin = 0, end = chars.size();
      while (begin < start_ && begin < end && chars[begin] == content_) ++begin;
      while (chars.size() - end < stop_ && end > begin && chars[end - 1] == content_) --end;
      std::string out;
      for (size_t k = begin; k < end; ++k) utf8::append(out, chars[k]);
      t = std::move(out);
    }
    return tokens;
  }

  bool unsettled(std::string_view, std::string_view text) const override {
    if (stop_ == 0 || text.empty()) return false;
    size_t lead = text.size() - 1;
    while (lead > 0 && (static_cast<unsigned char>(text[lead]) & 0xC0) == 0x80) --lead;
    size_t i = lead;
    return utf8::next(text, i) == content_;
  }

 private:
  char32_t content_;
  size_t start_, stop_;
};

class Replace final : public Decoder {
 public:
  explicit Replace(const JsonNode& node)
      : pattern_(make_pattern(node.at("pattern"))), content_(node.at("content").as_string()) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::string& t : tokens) t = replace_matches(pattern_, t, content_);
    return tokens;
  }

 private:
  Regex pattern_;
  std::string content_;
};

// Every suffix (end_of_word_suffix, "</w>") becomes a space, or nothing in the last token.
class BpeDecoder final : public Decoder {
 public:
  explicit BpeDecoder(const JsonNode& node)
      : suffix_(Regex::literal(node.string_or("suffix", "</w>"))) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i)
      tokens[i] = replace_matches(suffix_, tokens[i], i + 1 == tokens.size() ? "" : " ");
    return tokens;
  }

 private:
  Regex suffix_;
};

class Sequence final : public Decoder {
 public:
  explicit Sequence(const JsonNode& node)
      : stages_(build_list<Decoder>(node, "decoders", make_decoder)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (const auto& stage : stages_) tokens = stage->decode_chain(std::move(tokens));
    return tokens;
  }
  bool unsettled(std::string_view last_token, std::string_view text) const override {
    for (const auto& stage : stages_)
      if (stage->unsettled(last_token, text)) return true;
    return false;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> stages_;
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const JsonNode& node) {
  return build_component<Decoder>(node, "decoder", {
      {"ByteLevel", builder_of<Decoder, ByteLevel>()},
      {"WordPiece", builder_of<Decoder, WordPiece>()},
      {"Metaspace", builder_of<Decoder, Metaspace>()},
      {"ByteFallback", builder_of<Decoder, ByteFallback>()},
      {"Fuse", builder_of<Decoder, Fuse>()},
      {"Strip", builder_of<Decoder, Strip>()},
      {"Replace", builder_of<Decoder, Replace>()},
      {"BPEDecoder", builder_of<Decoder, BpeDecoder>()},
      {"Sequence", builder_of<Decoder, Sequence>()},
  });
}

}  // namespace pq::tok
