#include "host/tokenizer/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdexcept>

#include "host/tokenizer/utf8.h"

namespace pq::tok {
namespace {

// Oniguruma's \w is Alphabetic | Mark | Decimal_Number | Connector_Punctuation, plus the
// superscripts and fractions ² ³ ¹ ¼ ½ ¾ that its Latin-1 ctype table counts as word
// characters; PCRE2 10.42 (UCP) has Letter | Number | '_'. Alphabetic is spelled Letter |
// Letter_Number, which misses the Other_Alphabetic symbols ⓐ..ⓩ and 🄰..🅉.
constexpr std::string_view kWordClass =
    "\\p{L}\\p{M}\\p{Nd}\\p{Nl}\\p{Pc}\\x{B2}\\x{B3}\\x{B9}\\x{BC}-\\x{BE}";
// Oniguruma's \s is the White_Space property: the separators and U+0009..U+000D, U+0085.
// PCRE2's (UCP) lacks U+0085 and has U+180E, a space before Unicode 6.3.
constexpr std::string_view kSpaceClass = "\\t\\n\\x0B\\f\\r\\x{85}\\p{Z}";
// Ruby syntax: \h is a hexadecimal digit (PCRE2: horizontal space).
constexpr std::string_view kHexClass = "0-9a-fA-F";

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof buffer);
  return reinterpret_cast<const char*>(buffer);
}

// The class body for an escape whose meaning differs, or empty when it means the same.
std::string_view class_of_escape(char e) {
  switch (e) {
    case 's': case 'S': return kSpaceClass;
    case 'w': case 'W': return kWordClass;
    case 'h': case 'H': return kHexClass;
    default: return {};
  }
}

// "(?imx-imx)" or "(?imx-imx:" starting at p[i]: Ruby's m is PCRE2's s (dot matches newline).
size_t flag_group_length(std::string_view p, size_t i) {
  if (p.substr(i, 2) != "(?") return 0;
  size_t j = i + 2;
  while (j < p.size() && (p[j] == 'i' || p[j] == 'm' || p[j] == 'x' || p[j] == '-')) ++j;
  if (j == i + 2 || j >= p.size() || (p[j] != ')' && p[j] != ':')) return 0;
  return j + 1 - i;
}

// \b and \B by the word class above (PCRE2's use its own \w).
std::string word_boundary(bool at_boundary) {
  std::string w = "[" + std::string(kWordClass) + "]";
  return at_boundary ? "(?:(?<=" + w + ")(?!" + w + ")|(?<!" + w + ")(?=" + w + "))"
                     : "(?:(?<=" + w + ")(?=" + w + ")|(?<!" + w + ")(?!" + w + "))";
}

}  // namespace

std::string translate_oniguruma(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 16);
  bool in_class = false;
  size_t class_begin = 0;  // offset in p just after the class's '[' (and '^')
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      char e = p[i + 1];
      std::string_view body = class_of_escape(e);
      bool negated = e == 'S' || e == 'W' || e == 'H';
      if (!in_class && (e == 'b' || e == 'B')) {
        out += word_boundary(e == 'b');
      } else if (body.empty() || (in_class && negated)) {
        // Same meaning, or a negated class inside a class, which PCRE2 cannot spell as a
        // union; the difference that remains there is U+0085 and marks.
        out += c;
        out += e;
      } else if (in_class) {
        out += body;
      } else {
        out += negated ? "[^" : "[";
        out += body;
        out += ']';
      }
      ++i;
      continue;
    }
    if (in_class) {
      if (c == '[' && p.substr(i, 2) == "[:") {
        size_t close = p.find(":]", i + 2);
        if (close == std::string_view::npos) throw std::invalid_argument("unterminated POSIX class");
        out += p.substr(i, close + 2 - i);
        i = close + 1;
        continue;
      }
      if (c == '[') throw std::invalid_argument("nested character classes are not supported");
      if (c == '&' && p.substr(i, 2) == "&&")
        throw std::invalid_argument("character class intersection (&&) is not supported");
      if (c == ']' && i != class_begin) in_class = false;
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      class_begin = i + 1;
      continue;
    }
    if (size_t n = flag_group_length(p, i)) {
      for (char f : p.substr(i, n)) out += f == 'm' ? 's' : f;
      i += n - 1;
      continue;
    }
    out += c;
  }
  return out;
}

struct Regex::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

Regex::Regex(std::string_view pattern, Dialect dialect)
    : Regex(dialect == Dialect::Oniguruma ? translate_oniguruma(pattern) : std::string(pattern),
            // Ruby syntax: ^ and $ match at every line.
            dialect == Dialect::Oniguruma ? PCRE2_MULTILINE : 0u) {}

Regex Regex::literal(std::string_view text) { return Regex(text, PCRE2_LITERAL); }

Regex::Regex(std::string_view pattern, unsigned options) {
  pcre2_compile_context* context = pcre2_compile_context_create(nullptr);
  pcre2_set_newline(context, PCRE2_NEWLINE_LF);
  int error = 0;
  PCRE2_SIZE offset = 0;
  // PCRE2_LITERAL refuses PCRE2_UCP, which a literal does not need.
  if (!(options & PCRE2_LITERAL)) options |= PCRE2_UCP;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   options | PCRE2_UTF, &error, &offset, context);
  pcre2_compile_context_free(context);
  if (!code)
    throw std::invalid_argument("regex /" + std::string(pattern) + "/: " + pcre2_message(error) +
                                " at offset " + std::to_string(offset));
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // when JIT is unavailable, the interpreter runs
  auto compiled = std::make_shared<Compiled>();
  compiled->code = code;
  compiled_ = std::move(compiled);
}

namespace {

// Per-thread matching state: pcre2 match data is not shareable, and long runs of one class
// (a 100 KB line of spaces) need more JIT stack than the 32 KiB default.
struct MatchScratch {
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, nullptr);
  pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
  MatchScratch() { pcre2_jit_stack_assign(context, nullptr, stack); }
  ~MatchScratch() {
    pcre2_match_data_free(data);
    pcre2_jit_stack_free(stack);
    pcre2_match_context_free(context);
  }
};

}  // namespace

std::vector<Regex::Match> Regex::find_all(std::string_view subject) const {
  thread_local MatchScratch scratch;
  std::vector<Match> matches;
  auto text = reinterpret_cast<PCRE2_SPTR>(subject.data());
  size_t search_from = 0;
  bool matched_before = false;
  size_t previous_end = 0;
  while (search_from <= subject.size()) {
    int rc = pcre2_match(compiled_->code, text, subject.size(), search_from, PCRE2_NO_UTF_CHECK,
                         scratch.data, scratch.context);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) throw std::runtime_error("regex match failed: " + pcre2_message(rc));
    PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(scratch.data);
    size_t begin = ovector[0], end = ovector[1];
    if (begin == end && matched_before && previous_end == end) {
      search_from += search_from < subject.size()
                         ? utf8::sequence_length(static_cast<unsigned char>(subject[search_from]))
                         : 1;
      continue;
    }
    matches.push_back({begin, end});
    search_from = end;
    previous_end = end;
    matched_before = true;
  }
  return matches;
}

}  // namespace pq::tok
