// CLI11 validators for the options whose values are names (qtypes, optimizers): a wrong value is
// bad usage (exit code 2) with a message that lists the spellings the option takes.
#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "host/qtype.h"

namespace pq::cli {

// The CLI spells qtypes without the "q" (int4, float8_e5m2), as optimum-cli does; quanto's names
// (qint4) work too. "none" only where `allow_none`.
CLI::Validator qtype_spelling(bool allow_none, bool only_8bit);
std::optional<QType> parse_qtype_option(const std::string& value);  // after qtype_spelling: never throws

// One of `names`, listed in the message otherwise.
CLI::Validator one_of(const std::vector<std::string>& names);

}  // namespace pq::cli
