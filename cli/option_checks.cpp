#include "cli/option_checks.h"

namespace pq::cli {
namespace {

std::string cli_spelling(QType q) { return std::string(qtype_name(q)).substr(1); }

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const auto& n : names) text += (text.empty() ? "" : ", ") + n;
  return text;
}

}  // namespace

std::optional<QType> parse_qtype_option(const std::string& value) {
  if (value == "none") return std::nullopt;
  return qtype_from_name(value.starts_with("q") ? value : "q" + value);
}

CLI::Validator qtype_spelling(bool allow_none, bool only_8bit) {
  std::vector<std::string> names;
  for (QType q : all_qtypes()) {
    if (!only_8bit || qtype_info(q).bits == 8) names.push_back(cli_spelling(q));
  }
  names.insert(names.begin() + (only_8bit ? 1 : 3), "float8");  // after int8: the usual alias
  if (allow_none) names.insert(names.begin(), "none");
  const std::string listed = joined(names);
  return CLI::Validator(
      [=](std::string& value) -> std::string {
        if (allow_none && value == "none") return "";
        const std::optional<QType> q = qtype_from_name(value.starts_with("q") ? value : "q" + value);
        if (q && (!only_8bit || qtype_info(*q).bits == 8)) return "";
        return "'" + value + "' is not one of " + listed + " (optimum-quanto's names, qint4 ..., work too)";
      },
      "QTYPE");
}

CLI::Validator one_of(const std::vector<std::string>& names) {
  const std::string listed = joined(names);
  return CLI::Validator(
      [=](std::string& value) -> std::string {
        for (const auto& n : names) {
          if (value == n) return "";
        }
        return "'" + value + "' is not one of " + listed;
      },
      "NAME");
}

}  // namespace pq::cli
