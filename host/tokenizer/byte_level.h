// GPT-2's reversible map between bytes and printable characters (bytes_to_unicode in
// openai/gpt-2 encoder.py): byte-level BPE vocabularies are written in these characters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pq::tok::byte_level {

// The character byte b stands for, as UTF-8.
const std::string& char_of_byte(uint8_t b);
// The byte a character stands for; nullopt for characters outside the map.
std::optional<uint8_t> byte_of_char(char32_t c);

// Every byte of `text` replaced by its character.
std::string encode_bytes(std::string_view text);

}  // namespace pq::tok::byte_level
