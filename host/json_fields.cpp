#include "host/json_fields.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <system_error>

#include "host/errors.h"

namespace pq {
namespace {

using nlohmann::json;

// A short rendering of a value for messages (long values are cut).
std::string shown(const json& value) {
  std::string text = value.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

// Deeper nesting than this is no configuration anyone writes; refusing it bounds the parser's
// recursion (nlohmann::json recurses once per level).
constexpr int kMaxJsonDepth = 64;

void check_nesting(const std::string& text, const std::string& path) {
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

std::string JsonFields::where(const std::string& key) const {
  return source_ + ": " + (path_.empty() ? key : path_ + "." + key);
}

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
  int64_t value = 0;
  if (v.is_number_integer()) {
    value = v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                ? std::numeric_limits<int64_t>::max()
                : v.get<int64_t>();
  } else {
    fail(key, "expected an integer, got " + shown(v));
  }
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
    if (!e.is_number_integer() || e.get<int64_t>() < lo || e.get<int64_t>() > hi) {
      fail(key + "[" + std::to_string(i) + "]", "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                                                     "], got " + shown(e));
    }
    out.push_back(e.get<int64_t>());
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

JsonFields JsonFields::object(const std::string& key) const {
  return JsonFields(raw(key), source_, path_.empty() ? key : path_ + "." + key);
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

json read_json_file(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::system_error(errno, std::generic_category(), path + ": cannot open");
  std::string text;
  char chunk[65536];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<size_t>(in.gcount()));
    if (text.size() > max_bytes) throw FormatError(path + ": larger than " + std::to_string(max_bytes >> 20) + " MiB");
  }
  check_nesting(text, path);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw FormatError(path + ": malformed JSON: " + e.what());
  }
}

}  // namespace pq
