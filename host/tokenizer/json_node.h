// Read access to one value of a tokenizer.json that knows where it sits in the file, so every
// complaint about the file can name it: "<file>: <json.key.path>: <what is wrong>".
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pq::tok {

class JsonNode {
 public:
  // `source` names the file in messages; `path` is the key path of `value` inside it.
  JsonNode(const nlohmann::json& value, std::string path, std::string source);

  const nlohmann::json& json() const { return *value_; }
  const std::string& path() const { return path_; }
  const std::string& source() const { return *source_; }

  // Throws FormatError "<source>: <path>: <what>".
  [[noreturn]] void fail(const std::string& what) const;

  bool is_null() const { return value_->is_null(); }
  // A required member (present and not null).
  JsonNode at(std::string_view key) const;
  // A member that may be absent or null.
  std::optional<JsonNode> find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key).has_value(); }
  // An array element; the value must be an array (see items()).
  JsonNode at(size_t index) const;
  // The number of elements of an array (fails for anything else).
  size_t items() const;

  std::string as_string() const;
  bool as_bool() const;
  int64_t as_int() const;
  // An id: an integer in [0, 2^31).
  int32_t as_id() const;
  // A string made of exactly one character (Unicode scalar value).
  char32_t as_char() const;

  // Optional members with their default.
  std::string string_or(std::string_view key, std::string_view fallback) const;
  bool bool_or(std::string_view key, bool fallback) const;
  int64_t int_or(std::string_view key, int64_t fallback) const;

  // The "type" member every component of a tokenizer.json carries.
  std::string type() const { return at("type").as_string(); }

 private:
  const nlohmann::json* value_;
  std::string path_;
  std::shared_ptr<const std::string> source_;
  JsonNode(const nlohmann::json& value, std::string path, std::shared_ptr<const std::string> source);
  void expect_object() const;
};

}  // namespace pq::tok
