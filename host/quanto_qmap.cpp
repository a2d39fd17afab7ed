#include "host/quanto_qmap.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "host/atomic_file.h"
#include "host/errors.h"

namespace pq {
namespace {

std::optional<QType> parse_entry_qtype(const nlohmann::json& entry, const char* field, const std::string& module,
                                       const std::string& source) {
  if (!entry.contains(field)) return std::nullopt;
  const auto& value = entry.at(field);
  if (!value.is_string()) throw FormatError(source + ": module '" + module + "': \"" + field + "\" must be a string");
  const std::string name = value.get<std::string>();
  if (name == "none") return std::nullopt;
  const auto qtype = qtype_from_name(name);
  if (!qtype) throw FormatError(source + ": module '" + module + "': unknown " + field + " qtype '" + name + "'");
  return qtype;
}

}  // namespace

QuantizationMap parse_qmap(const std::string& json_text, const std::string& source) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::parse_error& e) {
    throw FormatError(source + ": invalid JSON: " + e.what());
  }
  if (!root.is_object()) throw FormatError(source + ": expected a JSON object of modules");
  QuantizationMap qmap;
  for (const auto& [module, entry] : root.items()) {
    if (!entry.is_object()) throw FormatError(source + ": module '" + module + "': expected an object");
    ModuleQuantization q{parse_entry_qtype(entry, "weights", module, source),
                         parse_entry_qtype(entry, "activations", module, source)};
    if (q.activations && qtype_info(*q.activations).bits != 8) {
      throw FormatError(source + ": module '" + module + "': activations must be an 8-bit qtype, not " +
                        std::string(qtype_name(*q.activations)));
    }
    qmap.emplace(module, q);
  }
  return qmap;
}

QuantizationMap read_qmap(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::system_error(errno, std::generic_category(), "cannot open " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return parse_qmap(text.str(), path.string());
}

std::string qmap_to_json(const QuantizationMap& qmap) {
  nlohmann::ordered_json root = nlohmann::ordered_json::object();
  auto name = [](const std::optional<QType>& q) { return q ? std::string(qtype_name(*q)) : std::string("none"); };
  for (const auto& [module, q] : qmap) {
    root[module] = {{"weights", name(q.weights)}, {"activations", name(q.activations)}};
  }
  return root.dump(4);
}

void write_qmap(const std::filesystem::path& path, const QuantizationMap& qmap) {
  write_file_atomically(path, qmap_to_json(qmap));
}

}  // namespace pq
