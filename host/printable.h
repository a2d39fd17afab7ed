// Text from files (tensor names, JSON keys, error messages) shown on a terminal or in a log:
// control characters and invalid UTF-8 are escaped, so a name cannot clear the screen, move
// the cursor or forge an output line, and long text is cut so one line stays one line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pq {

inline constexpr size_t kMaxShownChars = 200;

// C0/C1 control characters and DEL become \n, \t, \xNN (or \u0085 ...); invalid UTF-8 bytes
// \xNN; a backslash stays one backslash. Text longer than `max_chars` bytes is cut (at a
// character boundary) and ends in "...".
std::string printable(std::string_view text, size_t max_chars = kMaxShownChars);

// printable() between single quotes: 'name'.
std::string quote(std::string_view text, size_t max_chars = kMaxShownChars);

}  // namespace pq
