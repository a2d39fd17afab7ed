// The transformers + optimum-quanto fixtures of tests/fixtures/transformers (written by
// tests/make_transformer_fixtures.py): their directory list and reference outputs, and the
// similarity measures the transformer tests assert on.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "host/tensor.h"

namespace pq::test {

std::filesystem::path transformer_fixtures();
// "llama/float32/w8a8", ... as index.json lists them.
std::vector<std::string> transformer_fixture_dirs();
nlohmann::json fixture_json(const std::string& dir);  // the directory's fixture.json
// A fixture directory as a gtest parameter name: "llama/float32/w8a8" -> "llama_float32_w8a8".
std::string fixture_test_name(const ::testing::TestParamInfo<std::string>& info);

// The decoder test sequences (input_ids rows cut at their attention_mask).
std::vector<std::vector<int32_t>> fixture_sequences(const std::string& dir);

struct Similarity {
  double nmse = 0;
  double cosine = 1;
  // Fraction of rows (last dim) with the same argmax, over the rows whose reference top-2 margin
  // exceeds `tie` · |top1| (a closer pair is a tie at the dtype's resolution), and how many of
  // all rows that was.
  double argmax_agreement = 1;
  double decidable = 1;
};
// ours and reference: same number of elements, rows of `row` elements.
Similarity similarity(const std::vector<float>& ours, const std::vector<float>& reference, int64_t row, double tie = 0);

// The relative top-2 margin below which two float16/bfloat16 logits are a tie: a few ulps.
double tie_fraction(DType dtype);

// quanto's tolerance on 1 - cosine (tests/helpers.py assert_similar): finfo resolution + rtol.
double quanto_cosine_tolerance(DType dtype);

}  // namespace pq::test
