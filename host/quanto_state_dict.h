// The state-dict layout of a frozen optimum-quanto module, and our self-describing metadata.
//   8-bit:     <m>.weight._data (int8/float8, weight shape), <m>.weight._scale
//   2/4-bit:   <m>.weight._data._data (planar-packed uint8), <m>.weight._scale, <m>.weight._shift
//   always:    <m>.bias (never quantized), <m>.input_scale, <m>.output_scale (0-dim, weight dtype)
// quanto stores no metadata and recomputes group sizes from the module shapes; we also record
// qtype, shape and group size of every weight under __metadata__["portaquant"] (a JSON
// string, which quanto ignores), so our files can be read without the architecture.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "host/quant/quantized_weight.h"
#include "host/safetensors.h"

namespace pq {

class Checkpoint;

inline constexpr const char* kPortaquantMetadataKey = "portaquant";

// Appends the tensors quanto writes for `module`'s quantized weight.
void append_quantized_weight(NamedTensors& out, const std::string& module, const QuantizedWeight& weight);
// Appends <module>.input_scale and <module>.output_scale as 0-dim tensors.
void append_activation_scales(NamedTensors& out, const std::string& module, DType dtype, float input_scale = 1.0f,
                              float output_scale = 1.0f);

// The weight of `module` as stored in `checkpoint`, given its qtype and float shape (from the
// architecture or our metadata). Throws FormatError naming the tensor on missing keys or
// shapes/dtypes that do not fit.
QuantizedWeight load_quantized_weight(const Checkpoint& checkpoint, const std::string& module, QType qtype,
                                      const Shape& weight_shape, std::optional<int> group_size);

// What we record per quantized weight in the metadata.
struct WeightRecord {
  QType qtype;
  Shape shape;
  std::optional<int> group_size;
  std::string optimizer;
};
using WeightRecords = std::map<std::string, WeightRecord>;  // by module name

std::string weight_records_to_json(const WeightRecords& records);
// Empty when the metadata has no portaquant entry; FormatError when it is malformed.
WeightRecords weight_records_from_metadata(const std::map<std::string, std::string>& metadata, const std::string& source);

// Number of weight elements a stored quantized weight stands for, from the stored tensors
// alone (scale rows × elements per packed row for 2/4-bit; numel of _data for 8-bit).
int64_t quantized_weight_numel(const Checkpoint& checkpoint, const std::string& module);

}  // namespace pq
