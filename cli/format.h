// Small text helpers for the command-line output.
#pragma once

#include <cstdint>
#include <string>

namespace pq::cli {

std::string with_thousands(uint64_t value);  // 1234567 -> "1,234,567"

}  // namespace pq::cli
