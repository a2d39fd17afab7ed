#include "tests/test_tokenizer_support.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

namespace pq::test {
namespace {

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return nlohmann::json::parse(in);
}

std::vector<int32_t> ids_of(const nlohmann::json& j) { return j.get<std::vector<int32_t>>(); }

Expected read_expected(const std::string& name) {
  std::ifstream in(tokenizer_fixtures() / name / "expected.jsonl", std::ios::binary);
  if (!in) throw std::runtime_error("no expected.jsonl for " + name);
  Expected e;
  std::string line;
  std::getline(in, line);
  e.facts = nlohmann::json::parse(line);
  const auto& corpus = tokenizer_corpus();
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("decode")) {
      e.decodes.push_back({ids_of(j["decode"]), j["text"].get<std::string>(),
                           j["skip"].get<std::string>()});
      continue;
    }
    ExpectedEntry entry;
    entry.index = j["i"].get<size_t>();
    entry.ids = ids_of(j["ids"]);
    if (j.contains("plain")) entry.plain = ids_of(j["plain"]);
    // Left out when equal: skip to the corpus entry, text to skip; [before, after] for
    // text = before + skip + after.
    entry.skip = j.contains("skip") ? j["skip"].get<std::string>() : corpus.at(entry.index);
    if (!j.contains("text")) entry.text = entry.skip;
    else if (j["text"].is_array()) entry.text = j["text"][0].get<std::string>() + entry.skip + j["text"][1].get<std::string>();
    else entry.text = j["text"].get<std::string>();
    e.entries.push_back(std::move(entry));
  }
  return e;
}

}  // namespace

std::filesystem::path tokenizer_fixtures() {
  return std::filesystem::path(PORTAQUANT_FIXTURES_DIR) / "tokenizers";
}

const std::vector<std::string>& tokenizer_corpus() {
  static const auto corpus = read_json(tokenizer_fixtures() / "corpus.json").get<std::vector<std::string>>();
  return corpus;
}

std::vector<std::string> fixture_tokenizer_names() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(tokenizer_fixtures())) {
    if (std::filesystem::exists(entry.path() / "tokenizer.json") ||
        std::filesystem::exists(entry.path() / "overrides.json"))
      names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

tok::Tokenizer load_fixture_tokenizer(const std::string& name) {
  auto dir = tokenizer_fixtures() / name;
  if (std::filesystem::exists(dir / "tokenizer.json")) return tok::Tokenizer::from_file(dir / "tokenizer.json");
  // The base's tokenizer.json with members replaced, as make_tokenizer_fixtures.py composes it.
  auto overrides = read_json(dir / "overrides.json");
  auto config = read_json(tokenizer_fixtures() / overrides["base"].get<std::string>() / "tokenizer.json");
  for (const auto& [key, value] : overrides["set"].items()) {
    if (key.rfind("model.", 0) == 0) config["model"][key.substr(6)] = value;
    else if (key == "added_tokens+") for (const auto& t : value) config["added_tokens"].push_back(t);
    else config[key] = value;
  }
  return tok::Tokenizer::from_json(config, (dir / "overrides.json").string());
}

tok::Tokenizer load_smollm2() { return tok::Tokenizer::from_file(kSmolLM2Json); }

const Expected& expected_outputs(const std::string& name) {
  static std::mutex mutex;
  static std::map<std::string, Expected> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, read_expected(name)).first;
  return it->second;
}

std::string escaped(std::string_view text) {
  std::string out;
  char buffer[16];
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c == '\\') out += "\\\\";
    else if (c < 0x20 || c == 0x7F) {
      std::snprintf(buffer, sizeof buffer, "\\x%02X", c);
      out += buffer;
    } else {
      out += char(c);
    }
  }
  return out;
}

std::string id_diff(const std::vector<int32_t>& expected, const std::vector<int32_t>& actual) {
  size_t at = 0;
  while (at < expected.size() && at < actual.size() && expected[at] == actual[at]) ++at;
  auto window = [&](const std::vector<int32_t>& ids) {
    std::ostringstream s;
    size_t begin = at >= 3 ? at - 3 : 0, end = std::min(ids.size(), at + 6);
    s << (begin > 0 ? "[... " : "[");
    for (size_t k = begin; k < end; ++k) s << (k > begin ? " " : "") << (k == at ? "*" : "") << ids[k];
    s << (end < ids.size() ? " ...]" : "]");
    return s.str();
  };
  std::ostringstream s;
  s << "ids differ at position " << at << " (lengths " << expected.size() << " vs " << actual.size()
    << "): expected " << window(expected) << ", got " << window(actual);
  return s.str();
}

std::string text_diff(std::string_view expected, std::string_view actual) {
  size_t at = 0;
  while (at < expected.size() && at < actual.size() && expected[at] == actual[at]) ++at;
  size_t begin = at >= 20 ? at - 20 : 0;
  std::ostringstream s;
  s << "texts differ at byte " << at << ": expected \"" << escaped(expected.substr(begin, 60))
    << "\", got \"" << escaped(actual.substr(begin, 60)) << "\"";
  return s.str();
}

std::string param_name(const std::string& tokenizer_name) {
  std::string out = tokenizer_name;
  for (char& c : out)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return out;
}

}  // namespace pq::test
