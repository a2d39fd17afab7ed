// Shared by the JSON-format fuzz targets: the bytes as text, and the one rule every target
// enforces — an input is accepted or refused with pq::FormatError (or, where the target says
// so, std::invalid_argument from a check that depends on more than the file); anything else
// (a crash, a sanitizer report, another exception) is a bug.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace pq::fuzz {

inline std::string text_of(const uint8_t* data, size_t size) { return std::string(reinterpret_cast<const char*>(data), size); }

inline void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace pq::fuzz
