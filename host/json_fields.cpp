#include "host/json_fields.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "host/errors.h"
#include "host/printable.h"
#include "host/regular_file.h"

namespace pq {
namespace {

using nlohmann::json;

// A short rendering of a value for messages (long values are cut, control characters escaped).
std::string shown(const json& value) { return printable(value.dump(-1, ' ', false, json::error_handler_t::replace), 40); }

// The integer a JSON number holds, or nullopt when it is not an integer that fits int64_t.
std::optional<int64_t> integer_value(const json& v) {
  if (!v.is_number_integer()) return std::nullopt;
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return std::nullopt;
  }
  return v.get<int64_t>();
}

// Identifier-like keys are shown as path.key (array elements as key[3]); others as path["key"].
bool is_plain_key(const std::string& key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '[' ||
           c == ']';
  });
}

// nlohmann's messages start with "[json.exception.parse_error.101] "; the rest says where.
std::string parse_error_text(const json::exception& e) {
  std::string text = e.what();
  if (text.starts_with("[json.exception.")) {
    const size_t end = text.find("] ");
    if (end != std::string::npos) text = text.substr(end + 2);
  }
  return printable(text);
}

// Refusing deep nesting bounds the work and memory of hostile input before nlohmann sees it.
void check_nesting(std::string_view text, const std::string& path) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') {
      if (++depth > kMaxJsonDepth) throw FormatError(path + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
}

}  // namespace

JsonFields::JsonFields(const json& object, std::string source, std::string path)
    : object_(&object), source_(std::move(source)), path_(std::move(path)), consumed_(std::make_shared<std::set<std::string>>()) {
  if (!object_->is_object()) {
    throw FormatError(source_ + (path_.empty() ? "" : ": " + path_) + ": expected a JSON object, got " + shown(*object_));
  }
}

std::string JsonFields::child_path(const std::string& key) const {
  if (is_plain_key(key)) return path_.empty() ? key : path_ + "." + key;
  return path_ + "[\"" + printable(key, 120) + "\"]";
}

std::string JsonFields::where(const std::string& key) const { return source_ + ": " + child_path(key); }

void JsonFields::fail(const std::string& key, const std::string& message) const { throw FormatError(where(key) + ": " + message); }

const json* JsonFields::find(const std::string& key) const {
  const auto it = object_->find(key);
  if (it == object_->end()) return nullptr;
  consumed_->insert(key);
  return it->is_null() ? nullptr : &*it;
}

bool JsonFields::has(const std::string& key) const {
  const auto it = object_->find(key);
  return it != object_->end() && !it->is_null();
}

bool JsonFields::present(const std::string& key) const { return object_->contains(key); }

const json& JsonFields::raw(const std::string& key) const {
  const json* v = find(key);
  if (!v) fail(key, "missing");
  return *v;
}

int64_t JsonFields::integer(const std::string& key, int64_t lo, int64_t hi) const {
  const json& v = raw(key);
  // Only JSON integers: Python's json writes an int without a point, so 8.0 or 8.5 in an integer
  // field means the file was not written from the integer it should hold.
  if (!v.is_number_integer()) fail(key, "expected an integer, got " + shown(v));
  const int64_t value = integer_value(v).value_or(std::numeric_limits<int64_t>::max());
  if (value < lo || value > hi) {
    fail(key, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + shown(v));
  }
  return value;
}

int64_t JsonFields::integer(const std::string& key, int64_t lo, int64_t hi, int64_t fallback) const {
  if (!has(key)) {
    find(key);
    return fallback;
  }
  return integer(key, lo, hi);
}

std::optional<int64_t> JsonFields::optional_integer(const std::string& key, int64_t lo, int64_t hi) const {
  if (!has(key)) {
    find(key);
    return std::nullopt;
  }
  return integer(key, lo, hi);
}

double JsonFields::number(const std::string& key, double lo, double hi) const {
  const json& v = raw(key);
  if (!v.is_number()) fail(key, "expected a number, got " + shown(v));
  const double value = v.get<double>();
  if (!std::isfinite(value) || value < lo || value > hi) {
    std::ostringstream range;
    range << "expected a number in [" << lo << ", " << hi << "], got " << shown(v);
    fail(key, range.str());
  }
  return value;
}

double JsonFields::number(const std::string& key, double lo, double hi, double fallback) const {
  if (!has(key)) {
    find(key);
    return fallback;
  }
  return number(key, lo, hi);
}

std::string JsonFields::string(const std::string& key) const {
  const json& v = raw(key);
  if (!v.is_string()) fail(key, "expected a string, got " + shown(v));
  return v.get<std::string>();
}

std::string JsonFields::string(const std::string& key, const std::string& fallback) const {
  if (!has(key)) {
    find(key);
    return fallback;
  }
  return string(key);
}

bool JsonFields::boolean(const std::string& key, bool fallback) const {
  const json* v = find(key);
  if (!v) return fallback;
  if (!v->is_boolean()) fail(key, "expected true or false, got " + shown(*v));
  return v->get<bool>();
}

std::vector<int64_t> JsonFields::integers(const std::string& key, int64_t lo, int64_t hi) const {
  const json* v = find(key);
  if (!v) return {};
  if (!v->is_array()) return {integer(key, lo, hi)};
  std::vector<int64_t> out;
  for (size_t i = 0; i < v->size(); ++i) {
    const json& e = (*v)[i];
    const std::optional<int64_t> value = integer_value(e);
    if (!value || *value < lo || *value > hi) {
      fail(key + "[" + std::to_string(i) + "]", "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                                                     "], got " + shown(e));
    }
    out.push_back(*value);
  }
  return out;
}

std::vector<std::string> JsonFields::strings(const std::string& key) const {
  const json* v = find(key);
  if (!v) return {};
  if (!v->is_array()) fail(key, "expected an array of strings, got " + shown(*v));
  std::vector<std::string> out;
  for (size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string()) fail(key + "[" + std::to_string(i) + "]", "expected a string, got " + shown((*v)[i]));
    out.push_back((*v)[i].get<std::string>());
  }
  return out;
}

JsonFields JsonFields::object(const std::string& key) const { return JsonFields(raw(key), source_, child_path(key)); }

std::vector<JsonFields> JsonFields::objects(const std::string& key, size_t max_size) const {
  const json& v = raw(key);
  if (!v.is_array()) fail(key, "expected an array of objects, got " + shown(v));
  if (v.size() > max_size) fail(key, "more than " + std::to_string(max_size) + " entries");
  std::vector<JsonFields> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) out.emplace_back(v[i], source_, child_path(key) + "[" + std::to_string(i) + "]");
  return out;
}

std::vector<std::pair<std::string, const json*>> JsonFields::members() const {
  std::vector<std::pair<std::string, const json*>> out;
  out.reserve(object_->size());
  for (const auto& [key, value] : object_->items()) {
    consumed_->insert(key);
    out.emplace_back(key, &value);
  }
  return out;
}

JsonFields JsonFields::member_object(const std::string& name, const json& value) const {
  return JsonFields(value, source_, child_path(name));
}

void JsonFields::reject_unconsumed(const std::string& known) const {
  for (const auto& [key, value] : object_->items()) {
    if (!consumed_->count(key)) fail(key, "not understood (known keys: " + known + ")");
  }
}

void JsonFields::accept(const std::vector<std::string>& keys) const {
  for (const auto& k : keys) consumed_->insert(k);
}

std::vector<std::string> JsonFields::unconsumed() const {
  std::vector<std::string> out;
  for (const auto& [key, value] : object_->items()) {
    if (!consumed_->count(key)) out.push_back(path_.empty() ? key : path_ + "." + key);
  }
  return out;
}

json parse_json_text(std::string_view text, const std::string& source) {
  check_nesting(text, source);
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    throw FormatError(source + ": malformed JSON: " + parse_error_text(e));
  }
}

json read_json_file(const std::string& path, size_t max_bytes) {
  return parse_json_text(read_regular_file(path, max_bytes), path);
}

}  // namespace pq
