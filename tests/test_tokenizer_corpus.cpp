// The C++ tokenizer against Python tokenizers 0.23.3 on the whole corpus: the same ids with and
// without special tokens, the same decoded text with and without skipping special tokens.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "tests/test_tokenizer_support.h"

namespace pq::test {
namespace {

// Collects mismatches so that one test reports all of them (the first few in detail).
class Mismatches {
 public:
  void add(const std::string& what) {
    if (count_++ < kShown) details_ << "\n  " << what;
  }
  ::testing::AssertionResult result(size_t checked) const {
    if (count_ == 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << count_ << " mismatches in " << checked << " checks"
                                         << details_.str();
  }

 private:
  static constexpr size_t kShown = 12;
  size_t count_ = 0;
  std::ostringstream details_;
};

std::string entry_label(const ExpectedEntry& e) {
  std::string text = tokenizer_corpus().at(e.index);
  return "entry " + std::to_string(e.index) + " \"" + escaped(text.substr(0, 50)) +
         (text.size() > 50 ? "...\"" : "\"");
}

::testing::AssertionResult matches_corpus(const tok::Tokenizer& t, const Expected& expected) {
  Mismatches m;
  size_t checks = 0;
  for (const ExpectedEntry& e : expected.entries) {
    const std::string& text = tokenizer_corpus().at(e.index);
    auto ids = t.encode(text);
    ++checks;
    if (ids != e.ids) m.add(entry_label(e) + ": encode: " + id_diff(e.ids, ids));
    if (e.plain) {
      auto plain = t.encode(text, false);
      ++checks;
      if (plain != *e.plain) m.add(entry_label(e) + ": encode without special tokens: " + id_diff(*e.plain, plain));
    }
    std::string decoded = t.decode(e.ids), skipped = t.decode(e.ids, true);
    checks += 2;
    if (decoded != e.text) m.add(entry_label(e) + ": decode: " + text_diff(e.text, decoded));
    if (skipped != e.skip) m.add(entry_label(e) + ": decode skipping special tokens: " + text_diff(e.skip, skipped));
  }
  for (size_t k = 0; k < expected.decodes.size(); ++k) {
    const ExpectedDecode& d = expected.decodes[k];
    std::string decoded = t.decode(d.ids), skipped = t.decode(d.ids, true);
    checks += 2;
    if (decoded != d.text) m.add("decode case " + std::to_string(k) + ": " + text_diff(d.text, decoded));
    if (skipped != d.skip) m.add("decode case " + std::to_string(k) + " skipping: " + text_diff(d.skip, skipped));
  }
  return m.result(checks);
}

::testing::AssertionResult matches_facts(const tok::Tokenizer& t, const nlohmann::json& facts) {
  Mismatches m;
  size_t checks = 5;
  if (t.vocab_size() != facts["vocab_size"].get<int64_t>())
    m.add("vocab_size " + std::to_string(t.vocab_size()) + ", expected " + facts["vocab_size"].dump());
  if (t.special_prefix() != facts["special_prefix"].get<std::vector<int32_t>>())
    m.add("special_prefix: " + id_diff(facts["special_prefix"].get<std::vector<int32_t>>(), t.special_prefix()));
  if (t.special_suffix() != facts["special_suffix"].get<std::vector<int32_t>>())
    m.add("special_suffix: " + id_diff(facts["special_suffix"].get<std::vector<int32_t>>(), t.special_suffix()));
  std::vector<int32_t> special;
  for (int32_t id = 0; id < int32_t(t.vocab_size()); ++id)
    if (t.is_special(id)) special.push_back(id);
  if (special != facts["special_ids"].get<std::vector<int32_t>>())
    m.add("special ids: " + id_diff(facts["special_ids"].get<std::vector<int32_t>>(), special));
  for (const auto& [id_text, token] : facts["id_to_token"].items()) {
    int32_t id = std::stoi(id_text);
    ++checks;
    if (t.id_to_token(id) != token.get<std::string>())
      m.add("id_to_token(" + id_text + ") = \"" + escaped(t.id_to_token(id)) + "\", expected " + token.dump());
  }
  for (const auto& [token, id] : facts["token_to_id"].items()) {
    ++checks;
    auto got = t.token_to_id(token);
    bool same = id.is_null() ? !got.has_value() : got.has_value() && *got == id.get<int32_t>();
    if (!same) m.add("token_to_id(\"" + escaped(token) + "\") is not " + id.dump());
  }
  return m.result(checks);
}

class TokenizerCorpus : public ::testing::TestWithParam<std::string> {};

TEST_P(TokenizerCorpus, MatchesPythonTokenizers) {
  const Expected& expected = expected_outputs(GetParam());
  tok::Tokenizer t = load_fixture_tokenizer(GetParam());
  EXPECT_TRUE(matches_facts(t, expected.facts));
  EXPECT_TRUE(matches_corpus(t, expected));
}

INSTANTIATE_TEST_SUITE_P(Tokenizer, TokenizerCorpus, ::testing::ValuesIn(fixture_tokenizer_names()),
                         [](const auto& info) { return param_name(info.param); });

TEST(TokenizerCorpusReal, SmolLM2MatchesPythonTokenizers) {
  if (!std::filesystem::exists(kSmolLM2Json))
    GTEST_SKIP() << kSmolLM2Json << " is not here (the real SmolLM2 tokenizer is not in git)";
  const Expected& expected = expected_outputs("smollm2");
  tok::Tokenizer t = load_smollm2();
  EXPECT_TRUE(matches_facts(t, expected.facts));
  EXPECT_TRUE(matches_corpus(t, expected));
}

TEST(TokenizerCorpusReal, FixturesCoverTheFamilies) {
  // The corpus and the tokenizers the brief asks for are all there.
  EXPECT_GE(tokenizer_corpus().size(), 2000u);
  auto names = fixture_tokenizer_names();
  for (const char* family : {"smollm2-style", "minilm", "gpt2-style", "llama3-style", "qwen2-style",
                             "llama2-legacy", "llama2-metaspace", "bert-cased"})
    EXPECT_NE(std::find(names.begin(), names.end(), family), names.end()) << family;
  for (const auto& name : names)
    EXPECT_EQ(expected_outputs(name).entries.size(),
              (tokenizer_corpus().size() + expected_outputs(name).facts["every"].get<size_t>() - 1) /
                  expected_outputs(name).facts["every"].get<size_t>())
        << name;
}

}  // namespace
}  // namespace pq::test
