#include "cli/cli_errors.h"

#include "host/printable.h"

namespace pq::cli {

namespace {
constexpr size_t kMaxErrorChars = 2000;
}

std::string error_line(std::string_view message) { return "portaquant: error: " + printable(message, kMaxErrorChars) + "\n"; }

}  // namespace pq::cli
