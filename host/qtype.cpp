#include "host/qtype.h"

#include <array>
#include <stdexcept>
#include <string>

namespace pq {
namespace {

constexpr std::array<QTypeInfo, 6> kQTypes = {{
    {QType::QInt2, "qint2", 2, false, DType::I8, -2.0f, 1.0f},
    {QType::QInt4, "qint4", 4, false, DType::I8, -8.0f, 7.0f},
    {QType::QInt8, "qint8", 8, false, DType::I8, -128.0f, 127.0f},
    {QType::QFloat8_E4M3FN, "qfloat8_e4m3fn", 8, true, DType::F8_E4M3FN, -448.0f, 448.0f},
    {QType::QFloat8_E4M3FNUZ, "qfloat8_e4m3fnuz", 8, true, DType::F8_E4M3FNUZ, -240.0f, 240.0f},
    {QType::QFloat8_E5M2, "qfloat8_e5m2", 8, true, DType::F8_E5M2, -57344.0f, 57344.0f},
}};

}  // namespace

const QTypeInfo& qtype_info(QType qtype) { return kQTypes.at(static_cast<size_t>(qtype)); }

std::optional<QType> qtype_from_name(std::string_view name) {
  if (name == "qfloat8") return QType::QFloat8_E4M3FN;
  for (const auto& info : kQTypes) {
    if (info.name == name) return info.qtype;
  }
  return std::nullopt;
}

QType parse_qtype(std::string_view name) {
  if (auto q = qtype_from_name(name)) return *q;
  std::string valid;
  for (const auto& info : kQTypes) valid += std::string(info.name) + ", ";
  throw std::invalid_argument("unknown qtype '" + std::string(name) + "' (valid: " + valid + "qfloat8)");
}

std::vector<QType> all_qtypes() {
  std::vector<QType> out;
  for (const auto& info : kQTypes) out.push_back(info.qtype);
  return out;
}

}  // namespace pq
