#include "host/tokenizer/json_node.h"

#include <limits>
#include <memory>

#include "host/errors.h"
#include "host/tokenizer/utf8.h"

namespace pq::tok {

JsonNode::JsonNode(const nlohmann::json& value, std::string path, std::string source)
    : JsonNode(value, std::move(path), std::make_shared<const std::string>(std::move(source))) {}

JsonNode::JsonNode(const nlohmann::json& value, std::string path,
                   std::shared_ptr<const std::string> source)
    : value_(&value), path_(std::move(path)), source_(std::move(source)) {}

void JsonNode::fail(const std::string& what) const {
  throw FormatError(*source_ + ": " + (path_.empty() ? std::string("(top level)") : path_) +
                    ": " + what);
}

void JsonNode::expect_object() const {
  if (!value_->is_object()) fail(std::string("expected an object, found ") + value_->type_name());
}

std::optional<JsonNode> JsonNode::find(std::string_view key) const {
  expect_object();
  auto it = value_->find(key);
  if (it == value_->end() || it->is_null()) return std::nullopt;
  std::string child = path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  return JsonNode(*it, std::move(child), source_);
}

JsonNode JsonNode::at(std::string_view key) const {
  auto child = find(key);
  if (!child) fail("missing required member '" + std::string(key) + "'");
  return *child;
}

size_t JsonNode::items() const {
  if (!value_->is_array()) fail(std::string("expected an array, found ") + value_->type_name());
  return value_->size();
}

JsonNode JsonNode::at(size_t index) const {
  if (index >= items()) fail("index " + std::to_string(index) + " out of range");
  return JsonNode((*value_)[index], path_ + "[" + std::to_string(index) + "]", source_);
}

std::string JsonNode::as_string() const {
  if (!value_->is_string()) fail(std::string("expected a string, found ") + value_->type_name());
  return value_->get<std::string>();
}

bool JsonNode::as_bool() const {
  if (!value_->is_boolean()) fail(std::string("expected true or false, found ") + value_->type_name());
  return value_->get<bool>();
}

int64_t JsonNode::as_int() const {
  if (value_->is_number_unsigned()) {
    uint64_t v = value_->get<uint64_t>();
    if (v > uint64_t(std::numeric_limits<int64_t>::max())) fail("integer out of range");
    return int64_t(v);
  }
  if (!value_->is_number_integer()) fail(std::string("expected an integer, found ") + value_->type_name());
  return value_->get<int64_t>();
}

int32_t JsonNode::as_id() const {
  int64_t v = as_int();
  if (v < 0 || v > std::numeric_limits<int32_t>::max())
    fail("id " + std::to_string(v) + " is outside [0, 2^31)");
  return int32_t(v);
}

char32_t JsonNode::as_char() const {
  std::string s = as_string();
  if (s.empty() || utf8::char_count(s) != 1) fail("expected a single character, found \"" + s + "\"");
  size_t i = 0;
  return utf8::next(s, i);
}

std::string JsonNode::string_or(std::string_view key, std::string_view fallback) const {
  auto child = find(key);
  return child ? child->as_string() : std::string(fallback);
}

bool JsonNode::bool_or(std::string_view key, bool fallback) const {
  auto child = find(key);
  return child ? child->as_bool() : fallback;
}

int64_t JsonNode::int_or(std::string_view key, int64_t fallback) const {
  auto child = find(key);
  return child ? child->as_int() : fallback;
}

}  // namespace pq::tok
