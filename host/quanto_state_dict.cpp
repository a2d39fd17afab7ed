#include "host/quanto_state_dict.h"

#include <limits>

#include <nlohmann/json.hpp>

#include "host/checkpoint.h"
#include "host/json_fields.h"
#include "host/printable.h"
#include "host/quant/affine.h"
#include "host/quant/packing.h"
#include "host/quant/symmetric.h"

namespace pq {
namespace {

std::string describe(DType dtype, const Shape& shape) { return std::string(dtype_name(dtype)) + " " + shape_to_string(shape); }

// group_weight()'s shape, without allocating the weight (the shape comes from a config).
Shape grouped_shape(const Shape& weight_shape, std::optional<int> group_size) {
  if (!group_size) return weight_shape;
  const int64_t numel = shape_numel(weight_shape);
  if (*group_size <= 0 || numel % *group_size != 0) {
    throw FormatError("group size " + std::to_string(*group_size) + " does not divide the " + std::to_string(numel) +
                      " elements of a weight of shape " + shape_to_string(weight_shape));
  }
  return {numel / *group_size, *group_size};
}

const TensorInfo& stored_info(const Checkpoint& checkpoint, const std::string& key) {
  if (!checkpoint.contains(key)) throw FormatError("tensor " + quote(key) + " is missing from the checkpoint");
  return checkpoint.info(key);
}

// Checked against the header before any byte is read.
Tensor load_expected(const Checkpoint& checkpoint, const std::string& key, std::optional<DType> dtype, const Shape& shape) {
  const TensorInfo& info = stored_info(checkpoint, key);
  if ((dtype && info.dtype != *dtype) || info.shape != shape) {
    throw FormatError("tensor " + quote(key) + " is " + describe(info.dtype, info.shape) + " but " +
                      (dtype ? std::string(dtype_name(*dtype)) + " " : std::string()) + shape_to_string(shape) +
                      " was expected");
  }
  return checkpoint.load(key);
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
  const TensorInfo& scale_info = stored_info(checkpoint, prefix + "_scale");
  const DType float_dtype = scale_info.dtype;
  if (float_dtype != DType::F32 && float_dtype != DType::F16 && float_dtype != DType::BF16) {
    throw FormatError("tensor " + quote(prefix + "_scale") + " is " + describe(float_dtype, scale_info.shape) +
                      ": a scale is float32, float16 or bfloat16 (the weight's dtype)");
  }
  QuantizedWeight q{qtype, float_dtype, weight_shape, std::nullopt, std::nullopt, {}, {}, {}};
  if (!is_sub_byte(qtype)) {
    q.axis = effective_symmetric_axis(weight_shape, 0);
    q.data = load_expected(checkpoint, prefix + "_data", qtype_info(qtype).storage, weight_shape);
    q.scale = load_expected(checkpoint, prefix + "_scale", float_dtype, symmetric_scale_shape(weight_shape, q.axis));
    return q;
  }
  q.axis = 0;
  q.group_size = group_size;
  const Shape grouped = grouped_shape(weight_shape, group_size);
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

namespace {

constexpr size_t kMaxRecordRank = 8;
constexpr int64_t kMaxRecordDim = int64_t{1} << 31;
constexpr int64_t kMaxRecordElements = int64_t{1} << 40;

Shape record_shape(const JsonFields& r) {
  const Shape shape = r.integers("shape", 1, kMaxRecordDim);
  if (shape.empty() || shape.size() > kMaxRecordRank) {
    r.fail("shape", "expected 1 to " + std::to_string(kMaxRecordRank) + " dimensions, got " + std::to_string(shape.size()));
  }
  int64_t numel = 1;
  for (int64_t d : shape) {
    if (__builtin_mul_overflow(numel, d, &numel) || numel > kMaxRecordElements) r.fail("shape", "has more than 2^40 elements");
  }
  return shape;
}

WeightRecord parse_record(const JsonFields& r) {
  const std::string qtype_text = r.string("qtype");
  const std::optional<QType> qtype = qtype_from_name(qtype_text);
  if (!qtype) r.fail("qtype", "unknown qtype '" + qtype_text + "'");
  WeightRecord record{*qtype, record_shape(r), std::nullopt, r.string("optimizer", "")};
  if (r.has("group_size")) {
    if (!is_sub_byte(*qtype)) r.fail("group_size", "an 8-bit qtype has no groups");
    record.group_size = static_cast<int>(r.integer("group_size", 1, std::numeric_limits<int>::max()));
  } else {
    r.accept({"group_size"});
  }
  try {
    resolve_group_size(record.shape, record.qtype, record.group_size);
    if (!record.optimizer.empty()) parse_optimizer(record.optimizer);
  } catch (const std::invalid_argument& e) {
    r.fail(record.optimizer.empty() ? "group_size" : "optimizer", e.what());
  }
  r.reject_unconsumed("qtype, shape, group_size, optimizer");
  return record;
}

}  // namespace

WeightRecords weight_records_from_metadata(const std::map<std::string, std::string>& metadata, const std::string& source) {
  WeightRecords records;
  const auto it = metadata.find(kPortaquantMetadataKey);
  if (it == metadata.end()) return records;
  const std::string where = source + ": __metadata__[\"" + kPortaquantMetadataKey + "\"]";
  const nlohmann::json root = parse_json_text(it->second, where);
  const JsonFields f(root, where);
  f.integer("format_version", 1, 1);
  const JsonFields weights = f.object("weights");
  for (const auto& [module, value] : weights.members()) records.emplace(module, parse_record(weights.member_object(module, *value)));
  f.reject_unconsumed("format_version, weights");
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
