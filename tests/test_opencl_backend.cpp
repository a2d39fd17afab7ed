// The OpenCL backend on whatever OpenCL device is present (pocl in CI): device listing, memory
// and its pool, kernel launches with cl/test_kernels.cl, recorded plans, the on-disk program
// cache, and CLBlast GEMM. Skipped when there is no OpenCL device or the backend is not built.
#include <gtest/gtest.h>

#ifdef PORTAQUANT_HAVE_OPENCL

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "runtime/api_backends.h"
#include "runtime/opencl/kernel_sources.h"
#include "runtime/opencl/opencl_backend.h"
#include "runtime/opencl/program_binary_cache.h"
#include "tests/test_support.h"

namespace pq::rt {
namespace {

using test::ScopedEnv;

template <class T>
std::span<const std::byte> bytes_of(const std::vector<T>& v) { return std::as_bytes(std::span(v)); }
template <class T>
std::span<std::byte> bytes_of(std::vector<T>& v) { return std::as_writable_bytes(std::span(v)); }

struct TestFillParams {
  uint32_t n;
  uint32_t value;
};
struct TestIncrementParams {
  uint32_t n;
};

KernelLaunch fill_launch(DeviceBuffer& out, uint32_t n, uint32_t value) {
  KernelLaunch launch{.kernel = "test_fill", .buffers = {&out}};
  launch.set_params(TestFillParams{n, value});
  launch.local = {64, 1, 1};
  launch.groups = {ceil_div(n, 64), 1, 1};
  return launch;
}

KernelLaunch increment_launch(DeviceBuffer& data, uint32_t n) {
  KernelLaunch launch{.kernel = "test_increment", .buffers = {&data}};
  launch.set_params(TestIncrementParams{n});
  launch.local = {32, 1, 1};
  launch.groups = {ceil_div(n, 32), 1, 1};
  return launch;
}

class OpenCLBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      devices_ = opencl_devices();
    } catch (const std::exception& e) {
      GTEST_SKIP() << "no OpenCL: " << e.what();
    }
    if (devices_.empty()) GTEST_SKIP() << "no OpenCL device";
    backend_ = open_opencl_device(0);
  }

  std::vector<uint32_t> download_u32(const DeviceBuffer& buffer, size_t count) {
    std::vector<uint32_t> values(count);
    backend_->download(buffer, bytes_of(values));
    return values;
  }

  std::vector<DeviceInfo> devices_;
  std::shared_ptr<Backend> backend_;
};

// --- kernel index and cache files: no device needed ---------------------------------------

TEST(OpenCLKernelSources, FindsKernelsAndSkipsComments) {
  const auto names = opencl::kernel_names_in(
      "// __kernel void commented_out(int x)\n"
      "/* kernel void also_commented(int x) */\n"
      "__kernel void first(__global int* a) {}\n"
      "kernel  void\tsecond (global int* a) {}\n"
      "void my_kernel void_not_a_kernel(int x) {}\n");
  EXPECT_EQ(names, (std::vector<std::string>{"first", "second"}));
}

TEST(OpenCLKernelSources, PrependsHeadersAndIndexesKernelsByFile) {
  const EmbeddedOpenCLSource files[] = {
      {"ops.cl", "__kernel void scale(__global float* x) { x[0] = helper(x[0]); }\n"},
      {"common_math.cl", "inline float helper(float v) { return 2 * v; }\n"},
  };
  const opencl::KernelSources sources(files);
  EXPECT_EQ(sources.file_defining("scale"), "ops.cl");
  const std::string& text = sources.program_source("ops.cl");
  EXPECT_LT(text.find("inline float helper"), text.find("__kernel void scale"));
  EXPECT_NE(text.find("#line 1 \"ops.cl\""), std::string::npos);
  EXPECT_THROW(sources.program_source("common_math.cl"), std::out_of_range);  // headers are not programs
  try {
    sources.file_defining("missing_kernel");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("missing_kernel"), std::string::npos) << e.what();
  }
}

TEST(OpenCLKernelSources, RejectsAKernelDefinedTwice) {
  const EmbeddedOpenCLSource files[] = {{"a.cl", "__kernel void twice(int x) {}"}, {"b.cl", "kernel void twice(int x) {}"}};
  EXPECT_THROW(opencl::KernelSources{files}, std::logic_error);
}

TEST(OpenCLKernelSources, EmbeddedSourcesHoldTheTestKernels) {
  EXPECT_EQ(opencl::KernelSources::embedded().file_defining("test_fill"), "test_kernels.cl");
}

TEST(OpenCLProgramBinaryCache, KeyChangesWithEveryPart) {
  const opencl::ProgramIdentity base{"pocl", "3.1", "cpu", "OpenCL 3.0", "3.1", "-cl-std=CL1.2", "kernel void f(){}"};
  const uint64_t key = opencl::program_key(base);
  EXPECT_EQ(key, opencl::program_key(base));
  auto changed = base;
  changed.source = "kernel void g(){}";
  EXPECT_NE(key, opencl::program_key(changed));
  changed = base;
  changed.driver_version = "3.2";
  EXPECT_NE(key, opencl::program_key(changed));
  // Parts are length-prefixed: moving a character from one part to the next changes the key.
  changed = base;
  changed.platform_name = "poc";
  changed.platform_version = "l3.1";
  EXPECT_NE(key, opencl::program_key(changed));
}

TEST(OpenCLProgramBinaryCache, RoundTripsAndRejectsDamagedFiles) {
  test::TempDir dir;
  const auto path = opencl::program_binary_path(dir.path(), 0x0123456789abcdefull);
  EXPECT_EQ(path.filename(), "0123456789abcdef.bin");
  EXPECT_FALSE(opencl::read_program_binary(path).has_value());
  const std::string binary = std::string("\x7f" "ELF", 4) + std::string(1000, '\x5a');
  ASSERT_FALSE(opencl::write_program_binary(path, binary).has_value());
  EXPECT_EQ(opencl::read_program_binary(path), binary);
  {
    std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(-1, std::ios::end);
    file.put('\x00');
  }
  EXPECT_FALSE(opencl::read_program_binary(path).has_value());
}

// --- devices and memory ------------------------------------------------------------------

TEST_F(OpenCLBackendTest, ListsDevicesWithPlausibleFields) {
  for (size_t i = 0; i < devices_.size(); ++i) {
    const DeviceInfo& d = devices_[i];
    SCOPED_TRACE(d.name);
    EXPECT_EQ(d.api, Api::OpenCL);
    EXPECT_EQ(d.index, static_cast<int>(i));
    EXPECT_EQ(d.id(), "opencl:" + std::to_string(i));
    EXPECT_FALSE(d.name.empty());
    EXPECT_TRUE(d.api_version.starts_with("OpenCL ")) << d.api_version;
    EXPECT_FALSE(d.driver_version.empty());
    EXPECT_TRUE(d.device_type == "cpu" || d.device_type == "gpu" || d.device_type == "integrated gpu" ||
                d.device_type == "accelerator" || d.device_type == "custom")
        << d.device_type;
    EXPECT_GT(d.memory_bytes, 0u);
    EXPECT_GT(d.max_buffer_bytes, 0u);
    EXPECT_LE(d.max_buffer_bytes, d.memory_bytes);
    EXPECT_GE(d.max_workgroup_size, 1u);
    EXPECT_GT(d.shared_memory_bytes, 0u);
    EXPECT_TRUE(d.fp16_storage);
    EXPECT_TRUE(d.int8_storage);
  }
  EXPECT_EQ(backend_->info().name, devices_[0].name);
}

TEST_F(OpenCLBackendTest, UploadDownloadRoundTripsOddSizes) {
  std::mt19937 rng(7);
  for (size_t size : {1u, 3u, 255u, 257u, 4097u, 1000003u}) {
    std::vector<uint8_t> data(size);
    for (auto& b : data) b = static_cast<uint8_t>(rng());
    auto buffer = backend_->allocate(size);
    EXPECT_EQ(buffer->size(), size);
    backend_->upload(*buffer, bytes_of(data));
    std::vector<uint8_t> back(size);
    backend_->download(*buffer, bytes_of(back));
    EXPECT_EQ(back, data) << size << " bytes";
  }
}

TEST_F(OpenCLBackendTest, UploadsAndDownloadsAtAnOffset) {
  auto buffer = backend_->allocate(10);
  const std::vector<uint8_t> zeros(10, 0), middle{1, 2, 3};
  backend_->upload(*buffer, bytes_of(zeros));
  backend_->upload(*buffer, bytes_of(middle), 4);
  std::vector<uint8_t> back(10), tail(6);
  backend_->download(*buffer, bytes_of(back));
  EXPECT_EQ(back, (std::vector<uint8_t>{0, 0, 0, 0, 1, 2, 3, 0, 0, 0}));
  backend_->download(*buffer, bytes_of(tail), 4);
  EXPECT_EQ(tail, (std::vector<uint8_t>{1, 2, 3, 0, 0, 0}));
}

TEST_F(OpenCLBackendTest, RejectsTransfersPastTheEnd) {
  auto buffer = backend_->allocate(8);
  const std::vector<uint8_t> nine(9, 1), four(4, 1);
  EXPECT_THROW(backend_->upload(*buffer, bytes_of(nine)), std::out_of_range);
  EXPECT_THROW(backend_->upload(*buffer, bytes_of(four), 5), std::out_of_range);
}

TEST_F(OpenCLBackendTest, PoolReusesFreedBuffersOfTheSameSizeClass) {
  backend_->allocate(1000).reset();  // make sure a 1024-byte buffer is on the free list
  const OpenCLBufferStats before = opencl_buffer_stats();
  {
    auto again = backend_->allocate(1000);
    EXPECT_EQ(again->size(), 1000u);
  }
  auto smaller = backend_->allocate(700);  // rounds up to the same 1024-byte class
  EXPECT_EQ(smaller->size(), 700u);
  const OpenCLBufferStats after = opencl_buffer_stats();
  EXPECT_EQ(after.buffers_created, before.buffers_created);
  EXPECT_EQ(after.buffers_reused, before.buffers_reused + 2);
  auto different_class = backend_->allocate(5000);
  EXPECT_EQ(opencl_buffer_stats().buffers_created, before.buffers_created + 1);
}

// --- kernels and plans ---------------------------------------------------------------------

TEST_F(OpenCLBackendTest, LaunchesAKernelWithBuffersAndParams) {
  const uint32_t n = 1000;  // not a multiple of the 64-item workgroup
  auto out = backend_->allocate((n + 24) * sizeof(uint32_t));
  const std::vector<uint32_t> sentinel(n + 24, 0xdeadbeef);
  backend_->upload(*out, bytes_of(sentinel));
  backend_->launch(fill_launch(*out, n, 100));
  const auto values = download_u32(*out, n + 24);
  for (uint32_t i = 0; i < n + 24; ++i) ASSERT_EQ(values[i], i < n ? 100 + i : 0xdeadbeef) << "element " << i;
}

TEST_F(OpenCLBackendTest, AViewBindsOnlyItsWindow) {
  const uint32_t words = 4096;
  auto whole = backend_->allocate(words * sizeof(uint32_t));
  backend_->upload(*whole, bytes_of(std::vector<uint32_t>(words, 0xdeadbeef)));
  // A window of 100 words at the device's alignment: the kernel's element 0 is its first word.
  const size_t offset = backend_->info().binding_alignment * 3;
  auto window = backend_->view(whole, offset, 100 * sizeof(uint32_t));
  EXPECT_EQ(window->size(), 100 * sizeof(uint32_t));
  backend_->launch(fill_launch(*window, 100, 7));
  const auto values = download_u32(*whole, words);
  for (uint32_t i = 0; i < words; ++i) {
    const int64_t in_window = static_cast<int64_t>(i) - static_cast<int64_t>(offset / 4);
    ASSERT_EQ(values[i], in_window >= 0 && in_window < 100 ? 7u + in_window : 0xdeadbeef) << "word " << i;
  }
  // Transfers through a view are relative to it; views past the end or off the alignment are refused.
  std::vector<uint32_t> back(2);
  backend_->download(*window, bytes_of(back), 4);
  EXPECT_EQ(back, (std::vector<uint32_t>{8, 9}));
  EXPECT_THROW(backend_->view(whole, words * 4 - 8, 16), std::out_of_range);
  if (backend_->info().binding_alignment > 4) {
    EXPECT_THROW(backend_->view(whole, 4, 16), std::invalid_argument);
  }
}

TEST_F(OpenCLBackendTest, LaunchErrorsNameTheKernel) {
  auto out = backend_->allocate(256);
  KernelLaunch unknown{.kernel = "no_such_kernel", .buffers = {out.get()}};
  try {
    backend_->launch(unknown);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_kernel"), std::string::npos) << e.what();
  }
  KernelLaunch missing_params{.kernel = "test_fill", .buffers = {out.get()}};
  try {
    backend_->launch(missing_params);
    FAIL() << "expected an exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("test_fill"), std::string::npos) << e.what();
  }
  KernelLaunch zero_local = fill_launch(*out, 4, 0);
  zero_local.local = {0, 1, 1};
  EXPECT_THROW(backend_->launch(zero_local), std::invalid_argument);
}

TEST_F(OpenCLBackendTest, ZeroGroupsLaunchNothing) {
  auto out = backend_->allocate(4 * sizeof(uint32_t));
  const std::vector<uint32_t> sentinel(4, 7);
  backend_->upload(*out, bytes_of(sentinel));
  KernelLaunch empty = fill_launch(*out, 4, 0);
  empty.groups = {0, 1, 1};
  backend_->launch(empty);
  EXPECT_EQ(download_u32(*out, 4), sentinel);
}

TEST_F(OpenCLBackendTest, RecordedPlanRunsOnlyWhenReplayed) {
  const uint32_t n = 77;
  auto data = backend_->allocate(n * sizeof(uint32_t));
  const std::vector<uint32_t> zeros(n, 0);
  backend_->upload(*data, bytes_of(zeros));
  auto plan = backend_->record([&] {
    backend_->launch(increment_launch(*data, n));
    backend_->launch(increment_launch(*data, n));
  });
  ASSERT_EQ(plan->launch_count(), 2u);
  backend_->synchronize();
  EXPECT_EQ(download_u32(*data, n), zeros);  // recording enqueues nothing
  plan->replay();
  plan->replay();
  backend_->synchronize();
  EXPECT_EQ(download_u32(*data, n), std::vector<uint32_t>(n, 4));
}

TEST_F(OpenCLBackendTest, RecordingStopsWhenTheBodyThrows) {
  auto data = backend_->allocate(4 * sizeof(uint32_t));
  EXPECT_THROW(backend_->record([] { throw std::runtime_error("body failed"); }), std::runtime_error);
  backend_->launch(fill_launch(*data, 4, 9));  // runs now: the backend is not recording any more
  EXPECT_EQ(download_u32(*data, 4), (std::vector<uint32_t>{9, 10, 11, 12}));
}

// --- the on-disk program cache ---------------------------------------------------------------

TEST_F(OpenCLBackendTest, SecondBackendLoadsProgramsFromTheDiskCache) {
  test::TempDir cache;
  ScopedEnv cache_dir("PORTAQUANT_CACHE_DIR", cache.path().string());
  auto fill_with = [](Backend& backend) {
    auto out = backend.allocate(16 * sizeof(uint32_t));
    backend.launch(fill_launch(*out, 16, 5));
    std::vector<uint32_t> values(16);
    backend.download(*out, bytes_of(values));
    return values[15];
  };
  const OpenCLProgramStats start = opencl_program_stats();
  EXPECT_EQ(fill_with(*open_opencl_device(0)), 20u);
  const OpenCLProgramStats first = opencl_program_stats();
  EXPECT_EQ(first.source_builds, start.source_builds + 1);
  EXPECT_EQ(first.cache_hits, start.cache_hits);

  EXPECT_EQ(fill_with(*open_opencl_device(0)), 20u);
  const OpenCLProgramStats second = opencl_program_stats();
  EXPECT_EQ(second.source_builds, first.source_builds);
  EXPECT_EQ(second.cache_hits, first.cache_hits + 1);

  // A damaged cache file is rebuilt from source and overwritten with a good one.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(cache.path())) {
    if (entry.path().extension() == ".bin") std::ofstream(entry.path(), std::ios::binary | std::ios::trunc) << "garbage";
  }
  EXPECT_EQ(fill_with(*open_opencl_device(0)), 20u);
  EXPECT_EQ(opencl_program_stats().source_builds, second.source_builds + 1);
  EXPECT_EQ(fill_with(*open_opencl_device(0)), 20u);
  EXPECT_EQ(opencl_program_stats().cache_hits, second.cache_hits + 1);
}

// --- CLBlast GEMM ----------------------------------------------------------------------------

struct GemmShape {
  size_t m, n, k;
  bool transpose_b;
  size_t a_offset, lda, b_offset, ldb, c_offset, ldc;
};

// C = A · op(B), row-major, in double.
std::vector<double> host_gemm(const GemmShape& s, const std::vector<float>& a, const std::vector<float>& b) {
  std::vector<double> c(s.m * s.n, 0.0);
  for (size_t i = 0; i < s.m; ++i) {
    for (size_t j = 0; j < s.n; ++j) {
      double sum = 0;
      for (size_t p = 0; p < s.k; ++p) {
        const float bv = s.transpose_b ? b[s.b_offset + j * s.ldb + p] : b[s.b_offset + p * s.ldb + j];
        sum += static_cast<double>(a[s.a_offset + i * s.lda + p]) * bv;
      }
      c[i * s.n + j] = sum;
    }
  }
  return c;
}

std::vector<float> random_floats(size_t count, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(count);
  for (auto& x : v) x = dist(rng);
  return v;
}

double nmse(const std::vector<float>& ours, const std::vector<double>& reference) {
  double error = 0, power = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    error += (ours[i] - reference[i]) * (ours[i] - reference[i]);
    power += reference[i] * reference[i];
  }
  return power > 0 ? error / power : error;
}

class OpenCLGemmTest : public OpenCLBackendTest {
 protected:
  // Runs the GEMM (recorded and replayed when `recorded`) and returns its NMSE against the host.
  double gemm_nmse(const GemmShape& s, bool recorded) {
    std::mt19937 rng(static_cast<unsigned>(s.m * 131 + s.n * 17 + s.k));
    const size_t b_rows = s.transpose_b ? s.n : s.k;
    const auto a = random_floats(s.a_offset + s.m * s.lda, rng);
    const auto b = random_floats(s.b_offset + b_rows * s.ldb, rng);
    auto da = backend_->allocate(a.size() * sizeof(float));
    auto db = backend_->allocate(b.size() * sizeof(float));
    auto dc = backend_->allocate((s.c_offset + s.m * s.ldc) * sizeof(float));
    backend_->upload(*da, bytes_of(a));
    backend_->upload(*db, bytes_of(b));
    auto run = [&] {
      EXPECT_TRUE(opencl_sgemm(*backend_, s.transpose_b, s.m, s.n, s.k, *da, s.a_offset, s.lda, *db, s.b_offset, s.ldb,
                               *dc, s.c_offset, s.ldc));
    };
    if (recorded) {
      auto plan = backend_->record(run);
      EXPECT_EQ(plan->launch_count(), 1u);
      plan->replay();
    } else {
      run();
    }
    backend_->synchronize();
    std::vector<float> c_full(s.c_offset + s.m * s.ldc);
    backend_->download(*dc, bytes_of(c_full));
    std::vector<float> c(s.m * s.n);
    for (size_t i = 0; i < s.m; ++i) {
      for (size_t j = 0; j < s.n; ++j) c[i * s.n + j] = c_full[s.c_offset + i * s.ldc + j];
    }
    return nmse(c, host_gemm(s, a, b));
  }
};

TEST_F(OpenCLGemmTest, SgemmMatchesTheHostOnOddSizes) {
  EXPECT_LT(gemm_nmse({7, 13, 19, false, 0, 19, 0, 13, 0, 13}, false), 1e-10);
  EXPECT_LT(gemm_nmse({7, 13, 19, true, 0, 19, 0, 19, 0, 13}, false), 1e-10);
}

TEST_F(OpenCLGemmTest, SgemmHonoursOffsetsAndStrides) {
  EXPECT_LT(gemm_nmse({7, 13, 19, false, 3, 23, 5, 17, 2, 15}, false), 1e-10);
  EXPECT_LT(gemm_nmse({7, 13, 19, true, 3, 23, 5, 21, 2, 15}, false), 1e-10);
}

TEST_F(OpenCLGemmTest, SgemmInsideARecordedPlan) {
  EXPECT_LT(gemm_nmse({7, 13, 19, true, 0, 19, 0, 19, 0, 13}, true), 1e-10);
}

TEST_F(OpenCLGemmTest, SgemmWithEmptyInnerDimensionWritesZeros) {
  auto c = backend_->allocate(3 * 4 * sizeof(float));
  const std::vector<float> ones(12, 1.0f);
  backend_->upload(*c, bytes_of(ones));
  ASSERT_TRUE(opencl_sgemm(*backend_, false, 3, 4, 0, *c, 0, 1, *c, 0, 4, *c, 0, 4));
  std::vector<float> back(12);
  backend_->download(*c, bytes_of(back));
  EXPECT_EQ(back, std::vector<float>(12, 0.0f));
}

// A backend that is not OpenCL: opencl_sgemm must decline rather than misuse it.
class NotOpenCL final : public Backend {
 public:
  const DeviceInfo& info() const override { return info_; }
  std::shared_ptr<DeviceBuffer> allocate(size_t) override { return nullptr; }
  void upload(DeviceBuffer&, std::span<const std::byte>, size_t) override {}
  void download(const DeviceBuffer&, std::span<std::byte>, size_t) override {}
  void launch(const KernelLaunch&) override {}
  void synchronize() override {}
  std::unique_ptr<RecordedPlan> record(const std::function<void()>&) override { return nullptr; }

 private:
  DeviceInfo info_;
};

class HostBuffer final : public DeviceBuffer {
 public:
  size_t size() const override { return 1024; }
};

TEST(OpenCLSgemm, DeclinesOtherBackends) {
  NotOpenCL backend;
  HostBuffer buffer;
  EXPECT_FALSE(opencl_sgemm(backend, false, 2, 2, 2, buffer, 0, 2, buffer, 0, 2, buffer, 0, 2));
}

}  // namespace
}  // namespace pq::rt

#else

TEST(OpenCLBackend, NotCompiledIn) { GTEST_SKIP() << "configure with -DPORTAQUANT_OPENCL=ON to test the OpenCL backend"; }

#endif
