// The error contract of the tokenizer: a file it cannot use is refused with a FormatError that
// names the file and the JSON key path (and, for an unsupported component, the supported ones);
// bad ids are std::out_of_range, text that is not UTF-8 std::invalid_argument.
#include <gtest/gtest.h>

#include <fstream>
#include <system_error>

#include "host/errors.h"
#include "host/tokenizer/stream_decoder.h"
#include "tests/test_support.h"
#include "tests/test_tokenizer_support.h"

namespace pq::test {
namespace {

// A small valid tokenizer: WordLevel over a few words, split on whitespace.
nlohmann::json minimal() {
  return nlohmann::json::parse(R"({
    "version": "1.0", "added_tokens": [{"id": 0, "content": "<unk>", "special": true,
                                        "normalized": false}],
    "normalizer": null, "pre_tokenizer": {"type": "WhitespaceSplit"},
    "post_processor": null, "decoder": null,
    "model": {"type": "WordLevel", "unk_token": "<unk>", "vocab": {"<unk>": 0, "a": 1, "b": 2}}})");
}

nlohmann::json bpe() {
  return nlohmann::json::parse(R"({
    "added_tokens": [], "normalizer": null, "pre_tokenizer": null, "decoder": null,
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}})");
}

// from_json refuses `j` with a FormatError whose message holds every one of `parts`.
void expect_refused(const nlohmann::json& j, std::initializer_list<std::string> parts) {
  try {
    tok::Tokenizer::from_json(j, "tok.json");
    ADD_FAILURE() << "accepted: " << j.dump();
  } catch (const FormatError& e) {
    std::string message = e.what();
    for (const std::string& part : parts)
      EXPECT_NE(message.find(part), std::string::npos) << "\"" << part << "\" not in: " << message;
  }
}

TEST(TokenizerErrors, TheMinimalFileLoads) {
  tok::Tokenizer t = tok::Tokenizer::from_json(minimal(), "tok.json");
  EXPECT_EQ(t.encode("a b c"), (std::vector<int32_t>{1, 2, 0}));
  EXPECT_EQ(t.decode(std::vector<int32_t>{1, 2}), "a b");  // no decoder: joined with spaces
  EXPECT_EQ(tok::Tokenizer::from_json(bpe(), "tok.json").encode("ab a"), (std::vector<int32_t>{2, 0}));
}

TEST(TokenizerErrors, UnsupportedComponentsAreNamedWithTheSupportedOnes) {
  auto j = minimal();
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "NFC"}}, {{"type", "Precompiled"}}}}};
  expect_refused(j, {"tok.json: normalizer.normalizers[1].type", "'Precompiled'", "supported: BertNormalizer"});
  j = minimal();
  j["pre_tokenizer"] = {{"type", "UnicodeScripts"}};
  expect_refused(j, {"tok.json: pre_tokenizer.type", "'UnicodeScripts'", "supported: ByteLevel"});
  j = minimal();
  j["model"]["type"] = "Unigram";
  expect_refused(j, {"tok.json: model.type", "'Unigram'", "supported: BPE, WordPiece, WordLevel"});
  j = minimal();
  j["decoder"] = {{"type", "CTC"}};
  expect_refused(j, {"tok.json: decoder.type", "'CTC'", "supported: ByteLevel"});
  j = minimal();
  j["post_processor"] = {{"type", "Foo"}};
  expect_refused(j, {"tok.json: post_processor.type", "'Foo'", "supported: TemplateProcessing"});
  j = bpe();
  j["model"]["dropout"] = 0.1;
  expect_refused(j, {"tok.json: model.dropout", "only null"});
}

TEST(TokenizerErrors, MalformedMembersAreNamedByTheirKeyPath) {
  auto j = minimal();
  j["model"]["vocab"]["c"] = "three";
  expect_refused(j, {"model.vocab[\"c\"]", "expected an integer"});
  j = minimal();
  j["model"]["vocab"]["c"] = 2;
  expect_refused(j, {"model.vocab", "id 2 is given to both"});
  j = minimal();
  j["model"]["vocab"]["c"] = -4;
  expect_refused(j, {"model.vocab[\"c\"]", "outside [0, 2^31)"});
  j = minimal();
  j["model"]["unk_token"] = "<oov>";
  expect_refused(j, {"model.unk_token", "\"<oov>\" is not in the vocabulary"});
  j = minimal();
  j["model"].erase("vocab");
  expect_refused(j, {"tok.json: model", "missing required member 'vocab'"});
  j = bpe();
  j["model"]["merges"].push_back("a c");
  expect_refused(j, {"model.merges[1]", "\"c\" is not in the vocabulary"});
  j = bpe();
  j["model"]["merges"].push_back("ab");
  expect_refused(j, {"model.merges[1]", "needs a space"});
  j = bpe();
  j["model"]["merges"].push_back("b a");
  expect_refused(j, {"model.merges[1]", "\"ba\" is not in the vocabulary"});
  j = minimal();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(a"}}}, {"behavior", "Isolated"}};
  expect_refused(j, {"pre_tokenizer.pattern.Regex", "missing closing parenthesis"});
  j["pre_tokenizer"]["pattern"] = {{"Regex", "a"}};
  j["pre_tokenizer"]["behavior"] = "Sideways";
  expect_refused(j, {"pre_tokenizer.behavior", "'Sideways'", "MergedWithNext"});
  j = minimal();
  j["normalizer"] = {{"type", "Prepend"}};
  expect_refused(j, {"normalizer", "missing required member 'prepend'"});
  j = minimal();
  j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "ab"}};
  expect_refused(j, {"pre_tokenizer.replacement", "a single character"});
  j = minimal();
  j["added_tokens"][0]["id"] = "zero";
  expect_refused(j, {"added_tokens[0].id", "expected an integer"});
  j = minimal();
  j["added_tokens"][0].erase("content");
  expect_refused(j, {"added_tokens[0]", "'content'"});
}

TEST(TokenizerErrors, PostProcessorsMayOnlyNameKnownTokens) {
  auto j = minimal();
  j["post_processor"] = nlohmann::json::parse(R"({"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
      "special_tokens": {}})");
  expect_refused(j, {"post_processor.single[0].SpecialToken.id", "'<s>' is not in special_tokens"});
  j["post_processor"]["special_tokens"] = nlohmann::json::parse(R"({"<s>": {"id": "<s>", "ids": [7], "tokens": ["<s>"]}})");
  expect_refused(j, {"post_processor.special_tokens[\"<s>\"].ids[0]", "id 7 is not in the vocabulary"});
  j["post_processor"]["special_tokens"]["<s>"]["ids"] = {1};
  j["post_processor"]["single"][1]["Sequence"]["id"] = "B";
  expect_refused(j, {"post_processor.single[1].Sequence.id", "unexpected sequence 'B'"});
  j = minimal();
  j["post_processor"] = {{"type", "BertProcessing"}, {"sep", {"[SEP]", 9}}, {"cls", {"[CLS]", 1}}};
  expect_refused(j, {"post_processor.sep[1]", "id 9 is not in the vocabulary"});
}

TEST(TokenizerErrors, FilesThatAreNotJsonNameTheFile) {
  TempDir dir;
  auto path = dir.path() / "tokenizer.json";
  std::ofstream(path) << "{\"model\": {\"type\": \"BPE\",";
  try {
    tok::Tokenizer::from_file(path);
    ADD_FAILURE() << "accepted truncated JSON";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string() + ": malformed JSON"), std::string::npos) << e.what();
  }
  std::ofstream(path) << "[1, 2]";
  EXPECT_THROW(tok::Tokenizer::from_file(path), FormatError);
  EXPECT_THROW(tok::Tokenizer::from_file(dir.path() / "missing.json"), std::system_error);
}

TEST(TokenizerErrors, UnknownIdsAreOutOfRange) {
  tok::Tokenizer t = load_fixture_tokenizer("gpt2-style");
  int32_t past_end = int32_t(t.vocab_size());
  EXPECT_THROW(t.id_to_token(-1), std::out_of_range);
  EXPECT_THROW(t.id_to_token(past_end), std::out_of_range);
  EXPECT_THROW(t.decode(std::vector<int32_t>{0, past_end}), std::out_of_range);
  EXPECT_THROW(t.decode(std::vector<int32_t>{-7}, true), std::out_of_range);
  EXPECT_FALSE(t.is_special(past_end));
  EXPECT_FALSE(t.token_to_id("no such token").has_value());
}

TEST(TokenizerErrors, TextThatIsNotUtf8IsRefused) {
  tok::Tokenizer t = load_fixture_tokenizer("gpt2-style");
  for (std::string bad : {std::string("a\x80"), std::string("\xC0\xAF"), std::string("\xED\xA0\x80"),
                          std::string("ok \xE2\x82"), std::string("\xF4\x90\x80\x80"), std::string("\xFF")})
    EXPECT_THROW(t.encode(bad), std::invalid_argument) << escaped(bad);
  EXPECT_NO_THROW(t.encode(std::string("nul \0 inside", 12)));
}

}  // namespace
}  // namespace pq::test
