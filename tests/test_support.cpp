#include "tests/test_support.h"

#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>

namespace pq::test {

namespace {

bool both_nan(const std::byte* a, const std::byte* b, DType dtype) {
  return is_floating(dtype) && std::isnan(load_as_float(a, dtype)) && std::isnan(load_as_float(b, dtype));
}

::testing::AssertionResult compare(const Tensor& ours, const Tensor& reference, bool nan_matches_nan) {
  if (ours.dtype() != reference.dtype()) {
    return ::testing::AssertionFailure() << "dtype " << dtype_name(ours.dtype()) << " vs " << dtype_name(reference.dtype());
  }
  if (ours.shape() != reference.shape()) {
    return ::testing::AssertionFailure() << "shape " << shape_to_string(ours.shape()) << " vs "
                                         << shape_to_string(reference.shape());
  }
  const Tensor a = ours.contiguous();
  const Tensor b = reference.contiguous();
  const size_t es = a.element_size();
  for (int64_t i = 0; i < a.numel(); ++i) {
    const std::byte* pa = a.raw_data() + i * static_cast<int64_t>(es);
    const std::byte* pb = b.raw_data() + i * static_cast<int64_t>(es);
    if (std::memcmp(pa, pb, es) != 0 && !(nan_matches_nan && both_nan(pa, pb, a.dtype()))) {
      int64_t mismatches = 0;
      for (int64_t j = i; j < a.numel(); ++j) {
        const std::byte* qa = a.raw_data() + j * static_cast<int64_t>(es);
        const std::byte* qb = b.raw_data() + j * static_cast<int64_t>(es);
        mismatches += std::memcmp(qa, qb, es) != 0 && !(nan_matches_nan && both_nan(qa, qb, a.dtype()));
      }
      return ::testing::AssertionFailure() << mismatches << " of " << a.numel() << " elements differ; first at " << i
                                           << ": ours " << load_as_float(pa, a.dtype()) << " vs reference "
                                           << load_as_float(pb, b.dtype());
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace

::testing::AssertionResult same_bits(const Tensor& ours, const Tensor& reference) { return compare(ours, reference, false); }

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

int64_t float32_ulps(float a, float b) {
  // Sign-magnitude bit patterns mapped onto one ordered integer line.
  const auto ordered = [](float f) {
    const auto bits = static_cast<int64_t>(std::bit_cast<int32_t>(f));
    return bits < 0 ? INT32_MIN - bits : bits;
  };
  return std::abs(ordered(a) - ordered(b));
}

::testing::AssertionResult same_values(const Tensor& ours, const Tensor& reference) { return compare(ours, reference, true); }

ScopedEnv::ScopedEnv(const char* name, const std::string& value) : name_(name) {
  if (const char* old = std::getenv(name)) old_ = old;
  setenv(name, value.c_str(), 1);
}

ScopedEnv::~ScopedEnv() {
  if (old_) setenv(name_, old_->c_str(), 1);
  else unsetenv(name_);
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("portaquant-test-" + std::to_string(rd()) + "-" + std::to_string(counter++));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace pq::test
