// StreamDecoder: pushing the ids of every corpus entry (and of random id sequences) one at a
// time gives back exactly what Python's decode() gives for all of them, in pieces that are
// each valid UTF-8.
#include <gtest/gtest.h>

#include <cstdio>

#include "host/tokenizer/byte_level.h"
#include "host/tokenizer/stream_decoder.h"
#include "tests/test_tokenizer_support.h"

namespace pq::test {
namespace {

// Independent of the tokenizer's own UTF-8 code: each byte sequence as Unicode Table 3-7
// (well-formed UTF-8 byte sequences) lists them.
bool well_formed_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto b = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
    auto in = [](unsigned v, unsigned lo, unsigned hi) { return v >= lo && v <= hi; };
    unsigned c0 = b(0);
    size_t n = 0;
    if (c0 <= 0x7F) n = 1;
    else if (in(c0, 0xC2, 0xDF) && in(b(1), 0x80, 0xBF)) n = 2;
    else if (c0 == 0xE0 && in(b(1), 0xA0, 0xBF) && in(b(2), 0x80, 0xBF)) n = 3;
    else if ((in(c0, 0xE1, 0xEC) || in(c0, 0xEE, 0xEF)) && in(b(1), 0x80, 0xBF) && in(b(2), 0x80, 0xBF)) n = 3;
    else if (c0 == 0xED && in(b(1), 0x80, 0x9F) && in(b(2), 0x80, 0xBF)) n = 3;
    else if (c0 == 0xF0 && in(b(1), 0x90, 0xBF) && in(b(2), 0x80, 0xBF) && in(b(3), 0x80, 0xBF)) n = 4;
    else if (in(c0, 0xF1, 0xF3) && in(b(1), 0x80, 0xBF) && in(b(2), 0x80, 0xBF) && in(b(3), 0x80, 0xBF)) n = 4;
    else if (c0 == 0xF4 && in(b(1), 0x80, 0x8F) && in(b(2), 0x80, 0xBF) && in(b(3), 0x80, 0xBF)) n = 4;
    if (n == 0 || i + n > s.size()) return false;
    i += n;
  }
  return true;
}

struct Streamed {
  std::string text;
  std::string bad_piece;  // the first piece that is not valid UTF-8
};

Streamed stream(const tok::Tokenizer& t, const std::vector<int32_t>& ids, bool skip) {
  tok::StreamDecoder decoder(t, skip);
  Streamed out;
  auto take = [&](const std::string& piece) {
    if (out.bad_piece.empty() && !well_formed_utf8(piece)) out.bad_piece = piece;
    out.text += piece;
  };
  for (int32_t id : ids) take(decoder.push(id));
  take(decoder.flush());
  return out;
}

::testing::AssertionResult streams_like_decode(const tok::Tokenizer& t, const Expected& expected) {
  size_t failures = 0, checks = 0;
  std::string details;
  auto check = [&](const std::string& label, const std::vector<int32_t>& ids, bool skip,
                   const std::string& want) {
    ++checks;
    Streamed got = stream(t, ids, skip);
    std::string problem;
    if (!got.bad_piece.empty()) problem = "returned invalid UTF-8 \"" + escaped(got.bad_piece) + "\"";
    else if (got.text != want) problem = text_diff(want, got.text);
    if (problem.empty()) return;
    if (failures++ < 10) details += "\n  " + label + (skip ? " (skipping special tokens): " : ": ") + problem;
  };
  for (const ExpectedEntry& e : expected.entries) {
    check("entry " + std::to_string(e.index), e.ids, true, e.skip);
    check("entry " + std::to_string(e.index), e.ids, false, e.text);
  }
  for (size_t k = 0; k < expected.decodes.size(); ++k) {
    check("decode case " + std::to_string(k), expected.decodes[k].ids, true, expected.decodes[k].skip);
    check("decode case " + std::to_string(k), expected.decodes[k].ids, false, expected.decodes[k].text);
  }
  if (failures == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << failures << " of " << checks << " streams differ from decode()" << details;
}

class TokenizerStream : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerStream, ReconstructsDecodeOfTheCorpus) {
  EXPECT_TRUE(streams_like_decode(load_fixture_tokenizer(GetParam()), expected_outputs(GetParam())));
}

INSTANTIATE_TEST_SUITE_P(Tokenizer, TokenizerStream, ::testing::ValuesIn(fixture_tokenizer_names()),
                         [](const auto& info) { return param_name(info.param); });

TEST(TokenizerStreamReal, SmolLM2ReconstructsDecodeOfTheCorpus) {
  if (!std::filesystem::exists(kSmolLM2Json))
    GTEST_SKIP() << kSmolLM2Json << " is not here (the real SmolLM2 tokenizer is not in git)";
  EXPECT_TRUE(streams_like_decode(load_smollm2(), expected_outputs("smollm2")));
}

TEST(TokenizerStreamUnits, HoldsBackIncompleteCharacters) {
  // "€" is E2 82 AC: three byte-fallback tokens in llama2-legacy, three byte-level tokens in
  // gpt2-style.
  const uint8_t euro[] = {0xE2, 0x82, 0xAC};
  for (const char* name : {"llama2-legacy", "gpt2-style"}) {
    tok::Tokenizer t = load_fixture_tokenizer(name);
    bool byte_fallback = std::string(name) == "llama2-legacy";
    std::vector<int32_t> ids;
    for (uint8_t b : euro) {
      char fallback[8];
      std::snprintf(fallback, sizeof fallback, "<0x%02X>", b);
      auto id = t.token_to_id(byte_fallback ? std::string(fallback) : tok::byte_level::char_of_byte(b));
      ASSERT_TRUE(id) << name;
      ids.push_back(*id);
    }
    tok::StreamDecoder decoder(t);
    EXPECT_EQ(decoder.push(ids[0]), "") << name;
    EXPECT_EQ(decoder.push(ids[1]), "") << name;
    // A byte-fallback run waits for the next token, since a later byte could still make the
    // whole run invalid (and decode() would then show one U+FFFD per byte).
    EXPECT_EQ(decoder.push(ids[2]), byte_fallback ? "" : "€") << name;
    EXPECT_EQ(decoder.flush(), byte_fallback ? "€" : "") << name;
    EXPECT_EQ(decoder.flush(), "") << name;
  }
}

TEST(TokenizerStreamUnits, RejectsUnknownIds) {
  tok::Tokenizer t = load_fixture_tokenizer("gpt2-style");
  tok::StreamDecoder decoder(t);
  EXPECT_THROW(decoder.push(int32_t(t.vocab_size())), std::out_of_range);
  EXPECT_THROW(decoder.push(-1), std::out_of_range);
}

}  // namespace
}  // namespace pq::test
