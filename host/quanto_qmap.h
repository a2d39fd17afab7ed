// quanto_qmap.json: which module was quantized to which qtypes, as optimum-quanto's
// quantization_map() writes it: {"<module>": {"weights": "qint4", "activations": "none"}}.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "host/qtype.h"

namespace pq {

inline constexpr const char* kQuantoQmapFileName = "quanto_qmap.json";

struct ModuleQuantization {
  std::optional<QType> weights;      // nullopt = "none"
  std::optional<QType> activations;  // nullopt = "none"; only 8-bit qtypes are valid
  bool operator==(const ModuleQuantization&) const = default;
};

using QuantizationMap = std::map<std::string, ModuleQuantization>;

// Parses the JSON text; `source` names the file in messages. Throws FormatError for malformed
// JSON, unknown qtype names, or sub-byte activations.
QuantizationMap parse_qmap(const std::string& json_text, const std::string& source);
QuantizationMap read_qmap(const std::filesystem::path& path);
// Four-space indentation and canonical qtype names, as quanto's json.dump(qmap, f, indent=4).
std::string qmap_to_json(const QuantizationMap& qmap);
void write_qmap(const std::filesystem::path& path, const QuantizationMap& qmap);  // atomic

}  // namespace pq
