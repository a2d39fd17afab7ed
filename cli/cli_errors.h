// The command line's error contract: every failure is one line on stderr,
//   portaquant: error: <what went wrong, naming the file / tensor / module / option>
// with exit code 2 for bad usage (an unknown option, a value out of range, options that do not
// go together) and 1 for everything else (bad input files, I/O, devices).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace pq::cli {

inline constexpr int kExitBadInput = 1;
inline constexpr int kExitBadUsage = 2;

// A command line that cannot be right whatever the files hold.
struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// "portaquant: error: " + `message` on one line: control characters escaped (a tensor name
// cannot clear the screen or start a forged line), long messages cut.
std::string error_line(std::string_view message);

}  // namespace pq::cli
