// Validated reading of JSON objects from files (config.json, generation_config.json, ...):
// every value is type- and range-checked before use, and every error names the file and the
// key path ("config.json: rope_scaling.factor: expected a number > 0, got \"2\"").
// The keys an object reader has consumed are tracked, so callers can report the ones nobody
// understood instead of ignoring them silently.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace pq {

class JsonFields {
 public:
  // `object` must outlive the reader; FormatError unless it is a JSON object.
  JsonFields(const nlohmann::json& object, std::string source, std::string path = "");

  // Present and not null.
  bool has(const std::string& key) const;
  // Present, maybe null (null may mean something else than a missing key, as in Mistral's
  // sliding_window).
  bool present(const std::string& key) const;
  const nlohmann::json& raw(const std::string& key) const;  // marks the key consumed; throws when absent

  int64_t integer(const std::string& key, int64_t lo, int64_t hi) const;
  int64_t integer(const std::string& key, int64_t lo, int64_t hi, int64_t fallback) const;
  std::optional<int64_t> optional_integer(const std::string& key, int64_t lo, int64_t hi) const;
  // Numbers must be finite; integers are accepted where a number is expected.
  double number(const std::string& key, double lo, double hi) const;
  double number(const std::string& key, double lo, double hi, double fallback) const;
  std::string string(const std::string& key) const;
  std::string string(const std::string& key, const std::string& fallback) const;
  bool boolean(const std::string& key, bool fallback) const;
  // One integer or an array of integers (e.g. eos_token_id), each in [lo, hi].
  std::vector<int64_t> integers(const std::string& key, int64_t lo, int64_t hi) const;
  std::vector<std::string> strings(const std::string& key) const;
  // A nested object (FormatError when the value is not an object).
  JsonFields object(const std::string& key) const;
  // The elements of an array that must hold objects, each a reader with the path "key[i]";
  // at most `max_size` of them.
  std::vector<JsonFields> objects(const std::string& key, size_t max_size) const;
  // An object used as a map from names to values (a weight_map, a qmap): every member, in
  // the file's order, each marked consumed. The key path of member `name` is member_path(name).
  std::vector<std::pair<std::string, const nlohmann::json*>> members() const;
  // A nested object that is a member of a map (its key may hold dots: shown as ["name"]).
  JsonFields member_object(const std::string& name, const nlohmann::json& value) const;
  // Fails on the first key that was neither read nor accepted ("not understood"), listing `known`.
  void reject_unconsumed(const std::string& known) const;

  // Marks keys as understood without reading them (inference-irrelevant settings).
  void accept(const std::vector<std::string>& keys) const;
  // Keys present in the object that were neither read nor accepted, sorted.
  std::vector<std::string> unconsumed() const;

  // "source: path.key" for messages (path["key"] for keys that are not plain identifiers,
  // escaped so that a key cannot break the message line).
  std::string where(const std::string& key) const;
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;

  const std::string& source() const { return source_; }

 private:
  const nlohmann::json* find(const std::string& key) const;
  std::string child_path(const std::string& key) const;

  const nlohmann::json* object_;
  std::string source_;
  std::string path_;
  std::shared_ptr<std::set<std::string>> consumed_;
};

inline constexpr size_t kMaxJsonFileBytes = size_t{64} << 20;
// Deeper nesting than this is no configuration anyone writes.
inline constexpr int kMaxJsonDepth = 64;

// Parses a whole JSON file (a regular file: a FIFO or a device is refused without blocking;
// bounded size, bounded nesting depth); FormatError naming the file.
nlohmann::json read_json_file(const std::string& path, size_t max_bytes = kMaxJsonFileBytes);
// The same for JSON text held elsewhere (a safetensors __metadata__ value); `source` names it.
nlohmann::json parse_json_text(std::string_view text, const std::string& source);

}  // namespace pq
