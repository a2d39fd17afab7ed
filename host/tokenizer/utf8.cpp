#include "host/tokenizer/utf8.h"

namespace pq::tok::utf8 {
namespace {

bool continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// How many bytes of the sequence starting at s[i] are acceptable so far (Unicode Table 3-7,
// "well-formed UTF-8 byte sequences"), and how many the complete sequence needs.
struct Prefix {
  size_t accepted;
  size_t needed;
};

Prefix well_formed_prefix(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char lead = byte(0);
  if (lead < 0x80) return {1, 1};
  size_t needed;
  unsigned char lo = 0x80, hi = 0xBF;  // the range allowed for the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    needed = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    needed = 3;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    needed = 4;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
  } else {
    return {0, 1};
  }
  size_t accepted = 1;
  while (accepted < needed && i + accepted < s.size()) {
    unsigned char b = byte(accepted);
    bool ok = accepted == 1 ? (b >= lo && b <= hi) : continuation(b);
    if (!ok) break;
    ++accepted;
  }
  return {accepted, needed};
}

}  // namespace

size_t valid_sequence_length(std::string_view s, size_t i) {
  Prefix p = well_formed_prefix(s, i);
  return p.accepted == p.needed ? p.needed : 0;
}

std::optional<size_t> first_invalid(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t n = valid_sequence_length(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::nullopt;
}

size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

char32_t next(std::string_view s, size_t& i) {
  auto lead = static_cast<unsigned char>(s[i]);
  size_t n = sequence_length(lead);
  char32_t cp = n == 1 ? lead : n == 2 ? (lead & 0x1F) : n == 3 ? (lead & 0x0F) : (lead & 0x07);
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += n;
  return cp;
}

size_t char_count(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += !continuation(static_cast<unsigned char>(c));
  return n;
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

std::string encode(char32_t cp) {
  std::string out;
  append(out, cp);
  return out;
}

std::string lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    Prefix p = well_formed_prefix(bytes, i);
    if (p.accepted == p.needed) {
      out.append(bytes.substr(i, p.needed));
      i += p.needed;
    } else {
      out += kReplacementUtf8;
      i += p.accepted == 0 ? 1 : p.accepted;
    }
  }
  return out;
}

}  // namespace pq::tok::utf8
