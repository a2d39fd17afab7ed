// UTF-8 byte-level helpers: walking code points, validation, and the lossy conversion that
// Rust's String::from_utf8_lossy does (HF tokenizers decodes byte-level tokens with it).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pq::tok::utf8 {

inline constexpr char32_t kReplacement = 0xFFFD;
inline constexpr std::string_view kReplacementUtf8 = "\xEF\xBF\xBD";

// The length of the valid sequence starting at s[i], or 0 when the bytes there do not start
// one (a stray continuation byte, an overlong form, a surrogate, past U+10FFFF, truncated).
size_t valid_sequence_length(std::string_view s, size_t i);

// The offset of the first byte that does not start a valid sequence; nullopt for valid text.
std::optional<size_t> first_invalid(std::string_view s);
inline bool is_valid(std::string_view s) { return !first_invalid(s).has_value(); }

// Decodes the code point at s[i] and moves i past it. Precondition: s is valid UTF-8.
char32_t next(std::string_view s, size_t& i);
// The byte length of the character whose lead byte is `lead` (valid text only).
size_t sequence_length(unsigned char lead);
size_t char_count(std::string_view s);

void append(std::string& out, char32_t cp);
std::string encode(char32_t cp);

// Each maximal ill-formed subsequence becomes one U+FFFD (the Unicode-recommended practice
// that Rust's from_utf8_lossy follows).
std::string lossy(std::string_view bytes);

// Calls fn(code_point, byte_offset, byte_length) for every character of valid text.
template <class Fn>
void for_each_char(std::string_view s, Fn&& fn) {
  size_t i = 0;
  while (i < s.size()) {
    size_t begin = i;
    char32_t cp = next(s, i);
    fn(cp, begin, i - begin);
  }
}

}  // namespace pq::tok::utf8
