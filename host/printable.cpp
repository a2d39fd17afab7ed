#include "host/printable.h"

#include <algorithm>
#include <cstdio>

#include "host/tokenizer/utf8.h"

namespace pq {
namespace {

void append_hex(std::string& out, unsigned value, const char* format) {
  char text[12];
  std::snprintf(text, sizeof text, format, value);
  out += text;
}

void append_escaped_byte(std::string& out, unsigned char c) {
  switch (c) {
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default: append_hex(out, c, "\\x%02x");
  }
}

}  // namespace

std::string printable(std::string_view text, size_t max_chars) {
  std::string out;
  out.reserve(std::min(text.size(), max_chars) + 8);
  for (size_t i = 0; i < text.size();) {
    if (out.size() >= max_chars) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t length = tok::utf8::valid_sequence_length(text, i);
    if (length == 0 || c < 0x20 || c == 0x7f) {
      append_escaped_byte(out, c);
      ++i;
      continue;
    }
    // U+0080..U+009F (C1 controls, CSI among them) are two bytes: C2 80..C2 9F.
    if (length == 2 && c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0) {
      append_hex(out, static_cast<unsigned char>(text[i + 1]), "\\u%04x");
      i += 2;
      continue;
    }
    out.append(text.substr(i, length));
    i += length;
  }
  return out;
}

std::string quote(std::string_view text, size_t max_chars) { return "'" + printable(text, max_chars) + "'"; }

}  // namespace pq
