// optimum-quanto's quantized types: names, bit widths, storage dtype and limits.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "host/dtype.h"

namespace pq {

enum class QType : uint8_t { QInt2, QInt4, QInt8, QFloat8_E4M3FN, QFloat8_E4M3FNUZ, QFloat8_E5M2 };

struct QTypeInfo {
  QType qtype;
  std::string_view name;  // canonical, as serialized ("qfloat8_e4m3fn")
  int bits;
  bool is_floating_point;
  DType storage;          // int8 for the integer types (sub-byte ones are packed into uint8)
  float qmin;
  float qmax;
};

const QTypeInfo& qtype_info(QType qtype);
inline std::string_view qtype_name(QType qtype) { return qtype_info(qtype).name; }

// Accepts the canonical names and the alias "qfloat8" (= qfloat8_e4m3fn).
std::optional<QType> qtype_from_name(std::string_view name);
// Like qtype_from_name, but throws an error listing the valid names.
QType parse_qtype(std::string_view name);
std::vector<QType> all_qtypes();

// Sub-byte types use group-wise affine quantization with planar packing.
inline bool is_sub_byte(QType qtype) { return qtype_info(qtype).bits < 8; }

}  // namespace pq
