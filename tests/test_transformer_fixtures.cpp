// Helpers over tests/fixtures/transformers (transformer_fixtures.h); no tests of their own.
#include <cctype>
#include "tests/transformer_fixtures.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <fstream>

#include "host/safetensors.h"

namespace pq::test {

std::string fixture_test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string s = info.param;
  for (char& c : s) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return s;
}

std::filesystem::path transformer_fixtures() { return std::filesystem::path(PORTAQUANT_FIXTURES_DIR) / "transformers"; }

std::vector<std::string> transformer_fixture_dirs() {
  std::ifstream in(transformer_fixtures() / "index.json");
  if (!in) return {};
  const nlohmann::json index = nlohmann::json::parse(in);
  return index.at("directories").get<std::vector<std::string>>();
}

nlohmann::json fixture_json(const std::string& dir) {
  std::ifstream in(transformer_fixtures() / dir / "fixture.json");
  return nlohmann::json::parse(in);
}

std::vector<std::vector<int32_t>> fixture_sequences(const std::string& dir) {
  const SafetensorsFile f = SafetensorsFile::open(transformer_fixtures() / dir / "outputs.safetensors");
  const Tensor ids = f.load("input_ids"), mask = f.load("attention_mask");
  const std::vector<float> id = ids.to_float_vector(), m = mask.to_float_vector();
  std::vector<std::vector<int32_t>> out;
  for (int64_t b = 0; b < ids.size(0); ++b) {
    std::vector<int32_t> s;
    for (int64_t j = 0; j < ids.size(1); ++j) {
      const auto i = static_cast<size_t>(b * ids.size(1) + j);
      if (m[i] != 0.0f) s.push_back(static_cast<int32_t>(id[i]));
    }
    out.push_back(s);
  }
  return out;
}

Similarity similarity(const std::vector<float>& ours, const std::vector<float>& reference, int64_t row, double tie) {
  double err = 0, ref = 0, ab = 0, aa = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    const double a = ours[i], b = reference[i];
    err += (a - b) * (a - b);
    ref += b * b;
    ab += a * b;
    aa += a * a;
  }
  int64_t same = 0, counted = 0, rows = static_cast<int64_t>(ours.size()) / row;
  for (int64_t r = 0; r < rows; ++r) {
    auto first = ours.begin() + r * row, ref_first = reference.begin() + r * row;
    std::vector<float> sorted(ref_first, ref_first + row);
    std::partial_sort(sorted.begin(), sorted.begin() + std::min<int64_t>(2, row), sorted.end(), std::greater<>());
    if (row > 1 && sorted[0] - sorted[1] <= tie * std::fabs(sorted[0])) continue;
    ++counted;
    same += std::max_element(first, first + row) - first == std::max_element(ref_first, ref_first + row) - ref_first;
  }
  return {ref > 0 ? err / ref : err, aa > 0 && ref > 0 ? ab / std::sqrt(aa * ref) : 1.0,
          counted ? static_cast<double>(same) / static_cast<double>(counted) : 1.0,
          rows ? static_cast<double>(counted) / static_cast<double>(rows) : 1.0};
}

double tie_fraction(DType dtype) { return dtype == DType::F16 ? 1.0 / 256 : dtype == DType::BF16 ? 1.0 / 32 : 0.0; }

double quanto_cosine_tolerance(DType dtype) { return dtype == DType::F16 ? 1e-3 : dtype == DType::BF16 ? 1e-2 : 1e-5; }

}  // namespace pq::test
