// Regular expressions for normalizers, pre-tokenizers and decoders, run by PCRE2 in UTF + UCP
// mode. HF tokenizers compiles these patterns with Oniguruma (Ruby syntax); Regex translates
// the places where PCRE2 reads the same text differently (see regex.cpp), and find_all
// enumerates matches exactly as the onig crate's find_iter does, empty matches included.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pq::tok {

class Regex {
 public:
  enum class Dialect {
    Oniguruma,  // a pattern from a tokenizer.json
    Pcre2,      // a pattern written for PCRE2 (this code's own)
  };
  struct Match {
    size_t begin;
    size_t end;
  };

  // Throws std::invalid_argument with PCRE2's message and the offset in `pattern`.
  explicit Regex(std::string_view pattern, Dialect dialect = Dialect::Oniguruma);
  // Matches `text` verbatim (HF escapes a String pattern into a regex).
  static Regex literal(std::string_view text);

  // Non-overlapping matches, left to right; an empty match right where the previous match
  // ended is skipped. Precondition: `subject` is valid UTF-8.
  std::vector<Match> find_all(std::string_view subject) const;

 private:
  struct Compiled;
  std::shared_ptr<const Compiled> compiled_;
  Regex(std::string_view pattern, unsigned options);
};

// The PCRE2 spelling of an Oniguruma (Ruby syntax) pattern; exposed for tests.
std::string translate_oniguruma(std::string_view pattern);

}  // namespace pq::tok
