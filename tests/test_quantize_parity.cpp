// Bit-exact parity with optimum-quanto: codes, packed bytes, scales, shifts and dequantized
// weights from tests/fixtures/weights_<dtype>.safetensors (written by tests/make_fixtures.py).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "host/quant/affine.h"
#include "host/quant/packing.h"
#include "host/quant/quantized_weight.h"
#include "host/safetensors.h"
#include "tests/test_support.h"

namespace pq {
namespace {

const char* const kDtypes[] = {"float32", "float16", "bfloat16"};
const char* const kShapes[] = {"w5x64", "w5x128", "w5x129", "w5x192", "w5x256", "w5x320", "w3x4096"};
const QType kByteQTypes[] = {QType::QInt8, QType::QFloat8_E4M3FN, QType::QFloat8_E4M3FNUZ, QType::QFloat8_E5M2};
const QType kBitQTypes[] = {QType::QInt4, QType::QInt2};

const SafetensorsFile& weights_file(const std::string& dtype) {
  static std::map<std::string, SafetensorsFile> files;
  auto it = files.find(dtype);
  if (it == files.end()) it = files.emplace(dtype, SafetensorsFile::open(test::fixture("weights_" + dtype + ".safetensors"))).first;
  return it->second;
}

double mean_abs_error(const Tensor& reference, const Tensor& approximation) {
  const std::vector<float> a = reference.to_float_vector();
  const std::vector<float> b = approximation.to_float_vector();
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += std::fabs(static_cast<double>(a[i]) - b[i]);
  return sum / static_cast<double>(a.size());
}

class QuantoParity : public ::testing::TestWithParam<const char*> {
 protected:
  const SafetensorsFile& file() const { return weights_file(GetParam()); }
  Tensor load(const std::string& name) const { return file().load(name); }
  // quanto's HQQ result, dequantized by our (bit-exact, see above) dequantizer.
    QuantizedWeight quanto_hqq(const QuantizedWeight& like, const std::string& key) const {
    QuantizedWeight theirs = like;
    theirs.scale = load(key + ".hqq._scale");
    theirs.shift = load(key + ".hqq._shift");
    theirs.data = unpack_codes(load(key + ".hqq._data._data"), like.bits(), theirs.scale.size(0));
    return theirs;
  }


  void expect_symmetric(const std::string& key, const QuantizedWeight& q, bool with_dequantized) const {
    SCOPED_TRACE(key);
    EXPECT_TRUE(test::same_bits(q.serialized_data(), load(key + "._data")));
    EXPECT_TRUE(test::same_bits(q.scale, load(key + "._scale")));
    if (with_dequantized) {
      EXPECT_TRUE(test::same_bits(dequantize(q), load(key + ".dequantized")));
    }
  }

  void expect_affine(const std::string& key, const QuantizedWeight& q) const {
    SCOPED_TRACE(key);
    EXPECT_TRUE(test::same_bits(q.serialized_data(), load(key + "._data._data")));
    EXPECT_TRUE(test::same_bits(q.scale, load(key + "._scale")));
    EXPECT_TRUE(test::same_bits(q.shift, load(key + "._shift")));
    EXPECT_TRUE(test::same_bits(dequantize(q), load(key + ".dequantized")));
  }
};

TEST_P(QuantoParity, SymmetricPerRowMatchesBitForBit) {
  for (const char* shape : kShapes) {
    const Tensor w = load(shape);
    for (QType qtype : kByteQTypes) {
      expect_symmetric(std::string(shape) + "." + std::string(qtype_name(qtype)) + ".absmax", quantize_weight(w, qtype), true);
    }
  }
}

TEST_P(QuantoParity, SymmetricPerColumnAndPerTensorMatchBitForBit) {
  const Tensor w = load("w5x320");
  expect_symmetric("w5x320.qint8.absmax.axis-1", quantize_weight(w, QType::QInt8, {.axis = -1}), true);
  expect_symmetric("w5x320.qint8.absmax.per_tensor", quantize_weight(w, QType::QInt8, {.axis = std::nullopt}), false);
  expect_symmetric("w5x320.qfloat8_e4m3fn.absmax.per_tensor",
                   quantize_weight(w, QType::QFloat8_E4M3FN, {.axis = std::nullopt}), false);
}

TEST_P(QuantoParity, GroupSizeRuleMatchesQuanto) {
  const auto sizes = nlohmann::json::parse(file().metadata().at("group_sizes"));
  for (const char* shape : kShapes) {
    const Tensor w = load(shape);
    const auto& expected = sizes.at(shape);
    const std::optional<int> ours = resolve_group_size(w.shape(), QType::QInt4, std::nullopt);
    if (expected.is_null()) {
      EXPECT_FALSE(ours.has_value()) << shape;
    } else {
      EXPECT_EQ(ours, expected.get<int>()) << shape;
    }
  }
}

TEST_P(QuantoParity, AffineMaxMatchesBitForBit) {
  for (const char* shape : kShapes) {
    const Tensor w = load(shape);
    for (QType qtype : kBitQTypes) {
      expect_affine(std::string(shape) + "." + std::string(qtype_name(qtype)) + ".max", quantize_weight(w, qtype));
    }
  }
}

TEST_P(QuantoParity, AffineExplicitGroupSizeMatchesBitForBit) {
  const Tensor w = load("w5x320");
  expect_affine("w5x320.qint4.max.g32", quantize_weight(w, QType::QInt4, {.group_size = 32}));
  expect_affine("w5x320.qint2.max.g160", quantize_weight(w, QType::QInt2, {.group_size = 160}));
}

// The largest float32 ulp distance between two tensors' elements.
int64_t max_ulps(const Tensor& a, const Tensor& b) {
  const std::vector<float> x = a.to_float_vector(), y = b.to_float_vector();
  int64_t worst = 0;
  for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, test::float32_ulps(x[i], y[i]));
  return worst;
}

// Our hqq is quanto's HqqOptimizer (groups in lockstep, one stop for the whole tensor, errors
// compared in the dtype): f16/bf16 files are quanto's bit for bit; in float32 the codes are
// quanto's and the shifts differ only in the last bits of torch's float32 mean (its summation
// order is not ours).
TEST_P(QuantoParity, HqqIsQuantosHqq) {
  const bool float32 = std::string(GetParam()) == "float32";
  for (const char* shape : kShapes) {
    const Tensor w = load(shape);
    for (QType qtype : kBitQTypes) {
      const std::string key = std::string(shape) + "." + std::string(qtype_name(qtype));
      SCOPED_TRACE(key);
      const QuantizedWeight ours = quantize_weight(w, qtype, {.optimizer = Optimizer::Hqq});
      const QuantizedWeight theirs = quanto_hqq(ours, key);
      EXPECT_TRUE(test::same_bits(ours.scale, theirs.scale)) << "HQQ never changes the scale";
      EXPECT_TRUE(test::same_bits(ours.data, theirs.data)) << "codes";
      if (float32) {
        const int64_t ulps = max_ulps(ours.shift.to(DType::F32), theirs.shift.to(DType::F32));
        std::printf("  %-18s float32 hqq: codes identical to quanto's, shifts within %lld ulps\n", key.c_str(), static_cast<long long>(ulps));
        EXPECT_LE(ulps, 8);
      } else {
        EXPECT_TRUE(test::same_bits(ours.shift, theirs.shift)) << "shifts";
      }
    }
  }
}

// hqq-per-group: each group keeps its own best shift, so no group ends worse than max left it.
TEST_P(QuantoParity, HqqPerGroupErrorIsAtMostQuantosAndTheMaxOptimizers) {
  for (const char* shape : kShapes) {
    const Tensor w = load(shape);
    for (QType qtype : kBitQTypes) {
      const std::string key = std::string(shape) + "." + std::string(qtype_name(qtype));
      SCOPED_TRACE(key);
      const QuantizedWeight ours = quantize_weight(w, qtype, {.optimizer = Optimizer::HqqPerGroup});
      const double our_error = mean_abs_error(w, dequantize(ours));
      const double quanto_error = mean_abs_error(w, dequantize(quanto_hqq(ours, key)));
      const double max_error = mean_abs_error(w, dequantize(quantize_weight(w, qtype)));
      EXPECT_LE(our_error, quanto_error * 1.01);
      EXPECT_LE(our_error, max_error);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllFloatDtypes, QuantoParity, ::testing::ValuesIn(kDtypes),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace pq
