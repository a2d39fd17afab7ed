#include "host/tokenizer/byte_level.h"

#include <array>

#include "host/tokenizer/utf8.h"

namespace pq::tok::byte_level {
namespace {

// Printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the other 68
// bytes get the code points from U+0100 upwards, in byte order.
bool stands_for_itself(unsigned b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

constexpr char32_t kCodePointsUsed = 0x100 + 68;

struct Tables {
  std::array<std::string, 256> utf8{};
  std::array<int, kCodePointsUsed> byte{};  // -1 for code points that stand for no byte
  Tables() {
    byte.fill(-1);
    char32_t next_extra = 0x100;
    for (unsigned b = 0; b < 256; ++b) {
      char32_t c = stands_for_itself(b) ? char32_t(b) : next_extra++;
      utf8[b] = utf8::encode(c);
      byte[c] = int(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

const std::string& char_of_byte(uint8_t b) { return tables().utf8[b]; }

std::optional<uint8_t> byte_of_char(char32_t c) {
  if (c >= kCodePointsUsed || tables().byte[c] < 0) return std::nullopt;
  return uint8_t(tables().byte[c]);
}

std::string encode_bytes(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 2);
  for (char c : text) out += char_of_byte(static_cast<uint8_t>(c));
  return out;
}

}  // namespace pq::tok::byte_level
