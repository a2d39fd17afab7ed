#include "host/quanto_state_dict.h"

#include <nlohmann/json.hpp>

#include "host/checkpoint.h"
#include "host/quant/affine.h"
#include "host/quant/packing.h"
#include "host/quant/symmetric.h"

namespace pq {
namespace {

std::string describe(const Tensor& t) { return std::string(dtype_name(t.dtype())) + " " + shape_to_string(t.shape()); }

Tensor load_expected(const Checkpoint& checkpoint, const std::string& key, std::optional<DType> dtype, const Shape& shape) {
  if (!checkpoint.contains(key)) throw FormatError("tensor '" + key + "' is missing from the checkpoint");
  Tensor t = checkpoint.load(key);
  if ((dtype && t.dtype() != *dtype) || t.shape() != shape) {
    throw FormatError("tensor '" + key + "' is " + describe(t) + " but " +
                      (dtype ? std::string(dtype_name(*dtype)) + " " : std::string()) + shape_to_string(shape) +
                      " was expected");
  }
  return t;
}

}  // namespace

void append_quantized_weight(NamedTensors& out, const std::string& module, const QuantizedWeight& weight) {
  const std::string prefix = module + ".weight.";
  if (is_sub_byte(weight.qtype)) {
    out.emplace_back(prefix + "_data._data", weight.serialized_data());
    out.emplace_back(prefix + "_scale", weight.scale);
    out.emplace_back(prefix + "_shift", weight.shift);
  } else {
    out.emplace_back(prefix + "_data", weight.data);
    out.emplace_back(prefix + "_scale", weight.scale);
  }
}

void append_activation_scales(NamedTensors& out, const std::string& module, DType dtype, float input_scale,
                              float output_scale) {
  out.emplace_back(module + ".input_scale", Tensor::from_floats(dtype, {}, {input_scale}));
  out.emplace_back(module + ".output_scale", Tensor::from_floats(dtype, {}, {output_scale}));
}

QuantizedWeight load_quantized_weight(const Checkpoint& checkpoint, const std::string& module, QType qtype,
                                      const Shape& weight_shape, std::optional<int> group_size) {
  const std::string prefix = module + ".weight.";
  const Tensor scale_probe = load_expected(checkpoint, prefix + "_scale", std::nullopt, checkpoint.info(prefix + "_scale").shape);
  const DType float_dtype = scale_probe.dtype();
  QuantizedWeight q{qtype, float_dtype, weight_shape, std::nullopt, std::nullopt, {}, {}, {}};
  if (!is_sub_byte(qtype)) {
    q.axis = effective_symmetric_axis(weight_shape, 0);
    q.data = load_expected(checkpoint, prefix + "_data", qtype_info(qtype).storage, weight_shape);
    q.scale = load_expected(checkpoint, prefix + "_scale", float_dtype, symmetric_scale_shape(weight_shape, q.axis));
    return q;
  }
  q.axis = 0;
  q.group_size = group_size;
  const Shape grouped = group_weight(Tensor::zeros(DType::U8, weight_shape), group_size).shape();
  Shape packed = grouped;
  packed.front() = packed_rows(grouped.front(), q.bits());
  // One scale per group, or per element for a single group row (quanto reduces dim 0 then).
  Shape params(grouped.size(), 1);
  params.front() = grouped.front();
  if (grouped.front() == 1) params = grouped;
  q.data = unpack_codes(load_expected(checkpoint, prefix + "_data._data", DType::U8, packed), q.bits(), grouped.front());
  q.scale = load_expected(checkpoint, prefix + "_scale", float_dtype, params);
  q.shift = load_expected(checkpoint, prefix + "_shift", float_dtype, params);
  return q;
}

std::string weight_records_to_json(const WeightRecords& records) {
  nlohmann::ordered_json weights = nlohmann::ordered_json::object();
  for (const auto& [module, r] : records) {
    weights[module] = {{"qtype", qtype_name(r.qtype)},
                       {"shape", r.shape},
                       {"group_size", r.group_size ? nlohmann::ordered_json(*r.group_size) : nlohmann::ordered_json()},
                       {"optimizer", r.optimizer}};
  }
  return nlohmann::ordered_json{{"format_version", 1}, {"weights", weights}}.dump();
}

WeightRecords weight_records_from_metadata(const std::map<std::string, std::string>& metadata, const std::string& source) {
  WeightRecords records;
  const auto it = metadata.find(kPortaquantMetadataKey);
  if (it == metadata.end()) return records;
  try {
    const auto root = nlohmann::json::parse(it->second);
    for (const auto& [module, r] : root.at("weights").items()) {
      const auto qtype = parse_qtype(r.at("qtype").get<std::string>());
      std::optional<int> group;
      if (!r.at("group_size").is_null()) group = r.at("group_size").get<int>();
      records.emplace(module, WeightRecord{qtype, r.at("shape").get<Shape>(), group, r.value("optimizer", "")});
    }
  } catch (const std::exception& e) {
    throw FormatError(source + ": malformed __metadata__[\"portaquant\"]: " + e.what());
  }
  return records;
}

int64_t quantized_weight_numel(const Checkpoint& checkpoint, const std::string& module) {
  const std::string prefix = module + ".weight.";
  if (checkpoint.contains(prefix + "_data")) return shape_numel(checkpoint.info(prefix + "_data").shape);
  const Shape packed = checkpoint.info(prefix + "_data._data").shape;
  const Shape scale = checkpoint.info(prefix + "_scale").shape;
  if (packed.empty() || scale.empty()) throw FormatError("tensor '" + prefix + "_data._data' has no rows");
  return scale.front() * (shape_numel(packed) / std::max<int64_t>(packed.front(), 1));
}

}  // namespace pq
