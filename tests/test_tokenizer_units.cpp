// Hand-derived cases for the pieces under the tokenizer: lossy UTF-8 (Unicode's recommended
// practice), the Oniguruma semantics the regex translation keeps, GPT-2's byte map, and
// encode() from several threads.
#include <gtest/gtest.h>

#include <thread>

#include "host/tokenizer/byte_level.h"
#include "host/tokenizer/regex.h"
#include "host/tokenizer/utf8.h"
#include "tests/test_tokenizer_support.h"

namespace pq::test {
namespace {

using tok::Regex;

std::vector<std::pair<size_t, size_t>> spans(const Regex& r, std::string_view text) {
  std::vector<std::pair<size_t, size_t>> out;
  for (const auto& m : r.find_all(text)) out.emplace_back(m.begin, m.end);
  return out;
}

bool matches_whole(std::string_view pattern, std::string_view text) {
  auto found = spans(Regex(pattern), text);
  return found.size() == 1 && found[0] == std::make_pair(size_t(0), text.size());
}

TEST(TokenizerUnits, LossyUtf8ReplacesEachMaximalIllFormedSubsequence) {
  // The example of the Unicode Standard, section 3.9 (U+FFFD substitution of maximal
  // subparts): 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64.
  const std::string r(tok::utf8::kReplacementUtf8);
  EXPECT_EQ(tok::utf8::lossy("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"),
            "a" + r + r + r + "b" + r + "c" + r + r + "d");
  EXPECT_EQ(tok::utf8::lossy("\xC0\xAF"), r + r);           // overlong: no valid prefix
  EXPECT_EQ(tok::utf8::lossy("\xED\xA0\x80"), r + r + r);   // a surrogate
  EXPECT_EQ(tok::utf8::lossy("\xE2\x82"), r);               // truncated at the end
  EXPECT_EQ(tok::utf8::lossy("\xE2\x82\xAC"), "\xE2\x82\xAC");
  EXPECT_EQ(tok::utf8::first_invalid("ab\xF4\x90\x80\x80"), 2u);  // past U+10FFFF
  EXPECT_FALSE(tok::utf8::first_invalid("\xF4\x8F\xBF\xBF"));
}

TEST(TokenizerUnits, RegexKeepsOnigurumaClasses) {
  // \s is White_Space: U+0085 yes, U+180E (a format character since Unicode 6.3) no.
  EXPECT_TRUE(matches_whole(R"(\s)", "\xC2\x85"));
  EXPECT_FALSE(matches_whole(R"(\s)", "\xE1\xA0\x8E"));
  EXPECT_TRUE(matches_whole(R"([^\S])", " "));
  // \w: marks and letter numbers yes, Latin-1 superscripts yes, other numbers (①) no.
  EXPECT_TRUE(matches_whole(R"(\w+)", "e\xCC\x81\xE2\x85\xAB\xC2\xB2_"));
  EXPECT_FALSE(matches_whole(R"(\w)", "\xE2\x91\xA0"));
  EXPECT_TRUE(matches_whole(R"(\W)", "\xE2\x91\xA0"));
  // \b by that \w: no boundary between a letter and a combining mark.
  EXPECT_EQ(spans(Regex(R"(\b)"), "e\xCC\x81 x").size(), 4u);  // 0, 3, 4, 5
  // Ruby: \h is a hex digit, (?m) lets the dot match a newline, ^ and $ match at lines.
  EXPECT_TRUE(matches_whole(R"(\h+)", "09afAF"));
  EXPECT_FALSE(matches_whole(R"(\h)", " "));
  EXPECT_TRUE(matches_whole(R"((?m)a.b)", "a\nb"));
  EXPECT_FALSE(matches_whole(R"(a.b)", "a\nb"));
  EXPECT_EQ(spans(Regex("b$"), "ab\nab"), (std::vector<std::pair<size_t, size_t>>{{1, 2}, {4, 5}}));
  // Caseless matching folds ſ to s and the Kelvin sign to k, as Oniguruma does.
  EXPECT_TRUE(matches_whole(R"((?i:'s))", "'\xC5\xBF"));
  EXPECT_TRUE(matches_whole(R"((?i:k))", "\xE2\x84\xAA"));
  EXPECT_THROW(Regex("[a[b]]"), std::invalid_argument);  // nested classes mean something else
  EXPECT_TRUE(matches_whole(R"([[:alpha:]]+)", "ab"));
}

TEST(TokenizerUnits, RegexFindsEmptyMatchesAsTheOnigCrate) {
  // An empty match right after the previous match is skipped; elsewhere it counts.
  EXPECT_EQ(spans(Regex("x*"), "abxxc"),
            (std::vector<std::pair<size_t, size_t>>{{0, 0}, {1, 1}, {2, 4}, {5, 5}}));
  EXPECT_EQ(spans(Regex("(?=b)"), "abab"), (std::vector<std::pair<size_t, size_t>>{{1, 1}, {3, 3}}));
  EXPECT_EQ(spans(Regex::literal("a.b"), "a.b axb"), (std::vector<std::pair<size_t, size_t>>{{0, 3}}));
}

TEST(TokenizerUnits, ByteLevelMapIsGpt2s) {
  // bytes_to_unicode(): printable Latin-1 stays, the other bytes count up from U+0100.
  EXPECT_EQ(tok::byte_level::char_of_byte('A'), "A");
  EXPECT_EQ(tok::byte_level::char_of_byte(0x00), "\xC4\x80");  // Ā
  EXPECT_EQ(tok::byte_level::char_of_byte(' '), "\xC4\xA0");   // Ġ = U+0100 + 32
  EXPECT_EQ(tok::byte_level::char_of_byte('\n'), "\xC4\x8A");  // Ċ
  EXPECT_EQ(tok::byte_level::char_of_byte(0xAD), "\xC5\x83");  // Ń = U+0100 + 67, the last
  for (int b = 0; b < 256; ++b) {
    std::string c = tok::byte_level::char_of_byte(uint8_t(b));
    size_t i = 0;
    EXPECT_EQ(tok::byte_level::byte_of_char(tok::utf8::next(c, i)), uint8_t(b));
  }
  EXPECT_FALSE(tok::byte_level::byte_of_char(0x20));
  EXPECT_FALSE(tok::byte_level::byte_of_char(0x144));
}

TEST(TokenizerUnits, EncodesFromSeveralThreadsAtOnce) {
  const std::string name = "llama3-style";
  const tok::Tokenizer t = load_fixture_tokenizer(name);
  const Expected& expected = expected_outputs(name);
  std::vector<size_t> wrong(4, 0);
  std::vector<std::thread> threads;
  for (size_t k = 0; k < wrong.size(); ++k) {
    threads.emplace_back([&, k] {
      // Each thread walks the corpus from another starting point, so the word cache is
      // read and filled concurrently.
      size_t n = expected.entries.size();
      for (size_t step = 0; step < n; ++step) {
        const ExpectedEntry& e = expected.entries[(step + k * n / wrong.size()) % n];
        wrong[k] += t.encode(tokenizer_corpus()[e.index]) != e.ids;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(wrong, std::vector<size_t>(wrong.size(), 0));
}

}  // namespace
}  // namespace pq::test
