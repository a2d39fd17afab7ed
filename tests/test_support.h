// Shared helpers of the unit tests: fixture paths and bit-exact tensor comparison.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "host/tensor.h"

namespace pq::test {

inline std::filesystem::path fixture(const std::string& name) {
  return std::filesystem::path(PORTAQUANT_FIXTURES_DIR) / name;
}

// Same dtype, shape and bytes; on failure, reports the first differing element.
::testing::AssertionResult same_bits(const Tensor& ours, const Tensor& reference);
// The same, except that a NaN matches any NaN (payload and sign are not compared).
::testing::AssertionResult same_values(const Tensor& ours, const Tensor& reference);

// Distance in float32 ulps between two finite floats (across zero too: -0 and +0 are 1 apart).
int64_t float32_ulps(float a, float b);

// The message of the exception `action` throws, or "(no error)".
std::string error_of(const std::function<void()>& action);

// Sets an environment variable for one scope, restoring what was there before.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value);
  ~ScopedEnv();
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A fresh empty directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace pq::test
