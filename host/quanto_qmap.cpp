#include "host/quanto_qmap.h"

#include <nlohmann/json.hpp>

#include "host/atomic_file.h"
#include "host/errors.h"
#include "host/json_fields.h"
#include "host/regular_file.h"

namespace pq {
namespace {

std::string known_qtype_names() {
  std::string names;
  for (QType q : all_qtypes()) names += (names.empty() ? "" : ", ") + std::string(qtype_name(q));
  return names;
}

// quanto's quantization_map() entry: {"weights": "<qtype>" | "none", "activations": ...};
// its requantize() reads both keys.
std::optional<QType> entry_qtype(const JsonFields& entry, const char* field) {
  if (!entry.has(field)) entry.fail(field, "missing (optimum-quanto writes \"weights\" and \"activations\", \"none\" when unquantized)");
  const std::string name = entry.string(field);
  if (name == "none") return std::nullopt;
  const auto qtype = qtype_from_name(name);
  if (!qtype) entry.fail(field, "unknown qtype '" + name + "' (known: " + known_qtype_names() + ", none)");
  return qtype;
}

}  // namespace

QuantizationMap parse_qmap(const std::string& json_text, const std::string& source) {
  const nlohmann::json root = parse_json_text(json_text, source);
  const JsonFields modules(root, source);
  QuantizationMap qmap;
  for (const auto& [module, value] : modules.members()) {
    const JsonFields entry = modules.member_object(module, *value);
    const ModuleQuantization q{entry_qtype(entry, "weights"), entry_qtype(entry, "activations")};
    if (q.activations && qtype_info(*q.activations).bits != 8) {
      entry.fail("activations", "must be an 8-bit qtype, not " + std::string(qtype_name(*q.activations)));
    }
    qmap.emplace(module, q);
  }
  return qmap;
}

QuantizationMap read_qmap(const std::filesystem::path& path) {
  return parse_qmap(read_regular_file(path, kMaxJsonFileBytes), path.string());
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
