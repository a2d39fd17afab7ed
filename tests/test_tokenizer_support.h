// Shared helpers of the tokenizer tests: the fixtures of tests/fixtures/tokenizers/ (written by
// tests/make_tokenizer_fixtures.py from Python tokenizers' output) and readable diffs.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/tokenizer/tokenizer.h"

namespace pq::test {

// The real SmolLM2 tokenizer.json (not in git); its expected outputs are committed.
inline const std::filesystem::path kSmolLM2Json = "/work/models/smollm2-hf/tokenizer.json";

std::filesystem::path tokenizer_fixtures();
const std::vector<std::string>& tokenizer_corpus();
// Every fixture tokenizer with a tokenizer.json or overrides.json (the real SmolLM2 excluded).
std::vector<std::string> fixture_tokenizer_names();
// A fixture tokenizer: its tokenizer.json, or its overrides.json applied to its base's.
tok::Tokenizer load_fixture_tokenizer(const std::string& name);
tok::Tokenizer load_smollm2();

// One corpus entry as Python encoded and decoded it.
struct ExpectedEntry {
  size_t index;
  std::vector<int32_t> ids;                    // encode(text)
  std::optional<std::vector<int32_t>> plain;   // encode(text, add_special_tokens=False)
  std::string text;                            // decode(ids)
  std::string skip;                            // decode(ids, skip_special_tokens=True)
};
// Random ids as Python decoded them.
struct ExpectedDecode {
  std::vector<int32_t> ids;
  std::string text;
  std::string skip;
};
struct Expected {
  nlohmann::json facts;  // vocab_size, special_prefix, special_suffix, special_ids, id_to_token
  std::vector<ExpectedEntry> entries;
  std::vector<ExpectedDecode> decodes;
};
const Expected& expected_outputs(const std::string& name);

// Text with control characters, invalid bytes and non-ASCII whitespace spelled out.
std::string escaped(std::string_view text);
// Where two id lists part, with a few ids of context.
std::string id_diff(const std::vector<int32_t>& expected, const std::vector<int32_t>& actual);
// Where two strings part, escaped, with context.
std::string text_diff(std::string_view expected, std::string_view actual);

// gtest parameter names may hold only letters, digits and '_'.
std::string param_name(const std::string& tokenizer_name);

}  // namespace pq::test
