// The Vulkan backend on whatever Vulkan device is present (lavapipe in CI): device probing,
// pooled memory, uploads and downloads on both copy paths, launches of the backend's own test
// shader (shaders/test_fill.comp), recorded plans and the on-disk pipeline cache. Every test
// runs under the Khronos validation layer when it is installed, and must not trigger it.
#include <gtest/gtest.h>

#ifdef PORTAQUANT_HAVE_VULKAN

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "runtime/api_backends.h"
#include "runtime/vulkan/vulkan_backend.h"
#include "tests/test_support.h"

namespace pq::rt {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

using test::ScopedEnv;

std::vector<uint32_t> download_words(Backend& backend, const DeviceBuffer& buffer, size_t count) {
  std::vector<uint32_t> words(count);
  backend.download(buffer, std::as_writable_bytes(std::span(words)));
  return words;
}

void upload_words(Backend& backend, DeviceBuffer& buffer, const std::vector<uint32_t>& words) {
  backend.upload(buffer, std::as_bytes(std::span(words)));
}

struct FillParams {
  uint32_t n;
  uint32_t value;
};

constexpr uint32_t kLocal = 64;

KernelLaunch fill_launch(DeviceBuffer& out, uint32_t n, uint32_t value) {
  KernelLaunch launch;
  launch.kernel = "test_fill";
  launch.buffers = {&out};
  launch.set_params(FillParams{n, value});
  launch.groups = {std::max(1u, ceil_div(n, kLocal)), 1, 1};
  launch.local = {kLocal, 1, 1};
  return launch;
}

KernelLaunch add_launch(DeviceBuffer& in, DeviceBuffer& out, uint32_t n, uint32_t value) {
  KernelLaunch launch = fill_launch(out, n, value);
  launch.kernel = "test_add";
  launch.buffers = {&in, &out};
  return launch;
}

// "1.3.230": three dot-separated numbers.
bool is_version(const std::string& text) {
  int dots = 0;
  bool digit_before = false;
  for (char c : text) {
    if (c == '.') {
      if (!digit_before) return false;
      ++dots;
      digit_before = false;
    } else if (c >= '0' && c <= '9') {
      digit_before = true;
    } else {
      return false;
    }
  }
  return dots == 2 && digit_before;
}

// The vector width llvmpipe puts in its name, "llvmpipe (LLVM 15.0.6, 256 bits)"; 0 if absent.
unsigned llvmpipe_vector_bits(const std::string& name) {
  const size_t bits = name.rfind(" bits)");
  if (name.find("llvmpipe") == std::string::npos || bits == std::string::npos) return 0;
  const size_t start = name.rfind(' ', bits - 1);
  return start == std::string::npos ? 0 : static_cast<unsigned>(std::stoul(name.substr(start + 1, bits - start - 1)));
}

// The first mismatch, or success, for out[i] == first + i.
::testing::AssertionResult is_sequence(const std::vector<uint32_t>& words, uint32_t first) {
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i] != first + static_cast<uint32_t>(i)) {
      return ::testing::AssertionFailure() << "element " << i << " is " << words[i] << ", expected " << first + i;
    }
  }
  return ::testing::AssertionSuccess();
}

class VulkanBackendTest : public ::testing::Test {
 protected:
  // Validation is switched on for this suite only, before any instance of it is created.
  static void SetUpTestSuite() {
    if (vulkan_validation_layer_available()) validation_ = std::make_unique<ScopedEnv>("PORTAQUANT_VULKAN_VALIDATION", "1");
  }
  static void TearDownTestSuite() { validation_.reset(); }

  void SetUp() override {
    try {
      devices_ = vulkan_devices();
    } catch (const std::exception& e) {
      GTEST_SKIP() << "no Vulkan: " << e.what();
    }
    if (devices_.empty()) GTEST_SKIP() << "no Vulkan device";
    messages_before_ = vulkan_validation_message_count();
    backend_ = open_vulkan_device(0);
  }

  void TearDown() override {
    backend_.reset();
    EXPECT_EQ(vulkan_validation_message_count(), messages_before_) << "validation messages were printed above";
  }

  static std::shared_ptr<Backend> open(bool force_staging) {
    return open_vulkan_device(0, VulkanBackendOptions{.force_staging = force_staging});
  }

  static inline std::unique_ptr<ScopedEnv> validation_;
  std::vector<DeviceInfo> devices_;
  std::shared_ptr<Backend> backend_;
  int messages_before_ = 0;
};

TEST_F(VulkanBackendTest, DeviceInfoIsPlausible) {
  const DeviceInfo& info = backend_->info();
  EXPECT_EQ(info.api, Api::Vulkan);
  EXPECT_EQ(info.id(), "vulkan:0");
  EXPECT_FALSE(info.name.empty());
  EXPECT_FALSE(info.vendor.empty());
  EXPECT_FALSE(info.driver_version.empty());
  EXPECT_TRUE(is_version(info.api_version) && info.api_version.starts_with("1.")) << info.api_version;
  const std::vector<std::string> types = {"discrete gpu", "integrated gpu", "virtual gpu", "cpu", "other"};
  EXPECT_NE(std::find(types.begin(), types.end(), info.device_type), types.end()) << info.device_type;
  EXPECT_GT(info.memory_bytes, 0u);
  EXPECT_GE(info.max_buffer_bytes, 128u << 20) << "Vulkan guarantees a 128 MiB storage-buffer range";
  EXPECT_GE(info.max_workgroup_size, 128u);
  EXPECT_GE(info.shared_memory_bytes, 16384u);
  EXPECT_GT(info.subgroup_size, 0u);
  EXPECT_EQ(devices_[0].name, info.name);

  // lavapipe: subgroups as wide as the LLVM vector width, 8 with AVX2.
  if (const unsigned bits = llvmpipe_vector_bits(info.name)) {
    EXPECT_EQ(info.vendor, "Mesa");
    EXPECT_EQ(info.device_type, "cpu");
    EXPECT_EQ(info.subgroup_size, bits / 32);
    EXPECT_EQ(info.max_buffer_bytes, 128u << 20);
    EXPECT_NE(info.driver_version.find("Mesa"), std::string::npos) << info.driver_version;
  }
  std::cout << "[ info     ] " << info.id() << ": " << info.name << ", " << info.vendor << ", " << info.device_type
            << ", Vulkan " << info.api_version << ", driver " << info.driver_version << ", subgroup "
            << info.subgroup_size << ", fp16 storage " << info.fp16_storage << ", fp16 arithmetic "
            << info.fp16_arithmetic << ", int8 storage " << info.int8_storage << ", integer dot "
            << info.integer_dot_product << "\n";
}

void expect_round_trips(Backend& backend) {
  for (size_t size : {size_t{1}, size_t{3}, size_t{4097}, kMiB + 5, 64 * kMiB + 3}) {
    SCOPED_TRACE("size " + std::to_string(size));
    std::vector<std::byte> bytes(size);
    for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::byte>((i * 131 + size) & 0xFF);
    auto buffer = backend.allocate(size);
    ASSERT_EQ(buffer->size(), size);
    backend.upload(*buffer, bytes);
    std::vector<std::byte> back(size);
    backend.download(*buffer, back);
    ASSERT_TRUE(back == bytes);
    // A part, at an odd offset.
    if (size > 10) {
      const std::vector<std::byte> patch(size / 2, std::byte{0x5A});
      backend.upload(*buffer, patch, 7);
      std::copy(patch.begin(), patch.end(), bytes.begin() + 7);
      std::vector<std::byte> middle(size - 9);
      backend.download(*buffer, middle, 3);
      ASSERT_TRUE(std::equal(middle.begin(), middle.end(), bytes.begin() + 3));
    }
  }
}

TEST_F(VulkanBackendTest, RoundTripsOddSizes) {
  expect_round_trips(*backend_);
  EXPECT_TRUE(vulkan_memory_stats(*backend_).host_visible || backend_->info().device_type == "discrete gpu");
}

TEST_F(VulkanBackendTest, RoundTripsOddSizesThroughStaging) {
  backend_ = open(/*force_staging=*/true);
  EXPECT_FALSE(vulkan_memory_stats(*backend_).host_visible);
  expect_round_trips(*backend_);
}

TEST_F(VulkanBackendTest, CopiesOutsideTheBufferThrow) {
  auto buffer = backend_->allocate(10);
  std::vector<std::byte> bytes(8);
  EXPECT_THROW(backend_->upload(*buffer, bytes, 3), std::out_of_range);
  EXPECT_THROW(backend_->download(*buffer, bytes, 11), std::out_of_range);
}

TEST_F(VulkanBackendTest, PoolReusesFreedMemory) {
  const VulkanMemoryStats empty = vulkan_memory_stats(*backend_);
  {
    std::vector<std::shared_ptr<DeviceBuffer>> buffers;
    for (size_t size : {size_t{4}, size_t{1000}, size_t{3 * kMiB + 1}, size_t{17}}) buffers.push_back(backend_->allocate(size));
  }
  const VulkanMemoryStats after_first = vulkan_memory_stats(*backend_);
  EXPECT_EQ(after_first.blocks, empty.blocks + 1) << "small buffers share one 64 MiB block";
  EXPECT_EQ(after_first.used_bytes, 0u);
  for (int round = 0; round < 3; ++round) {
    std::vector<std::shared_ptr<DeviceBuffer>> buffers;
    for (size_t size : {size_t{4}, size_t{1000}, size_t{3 * kMiB + 1}, size_t{17}}) buffers.push_back(backend_->allocate(size));
    EXPECT_EQ(vulkan_memory_stats(*backend_).block_bytes, after_first.block_bytes) << "freed ranges are reused";
  }
  {
    auto big = backend_->allocate(80 * kMiB);
    const VulkanMemoryStats with_big = vulkan_memory_stats(*backend_);
    EXPECT_EQ(with_big.blocks, after_first.blocks + 1) << "a request above the block size gets its own block";
    EXPECT_GE(with_big.used_bytes, 80 * kMiB);
  }
  EXPECT_EQ(vulkan_memory_stats(*backend_).block_bytes, after_first.block_bytes) << "a dedicated block is freed";
}

void expect_fill_works(Backend& backend) {
  for (uint32_t n : {1u, 63u, 65u, 1000003u}) {
    SCOPED_TRACE("n " + std::to_string(n));
    auto out = backend.allocate(n * sizeof(uint32_t));
    backend.launch(fill_launch(*out, n, 7));
    backend.synchronize();
    EXPECT_TRUE(is_sequence(download_words(backend, *out, n), 7));
  }
}

TEST_F(VulkanBackendTest, FillKernelWritesEveryElement) { expect_fill_works(*backend_); }

TEST_F(VulkanBackendTest, FillKernelWorksThroughStaging) {
  backend_ = open(/*force_staging=*/true);
  expect_fill_works(*backend_);
}

TEST_F(VulkanBackendTest, LaunchesSeeEarlierLaunchesAndCopies) {
  const uint32_t n = 100001;
  auto a = backend_->allocate(n * 4);
  auto b = backend_->allocate(n * 4);
  auto c = backend_->allocate(n * 4);
  backend_->launch(fill_launch(*a, n, 3));
  backend_->launch(add_launch(*a, *b, n, 5));
  backend_->launch(add_launch(*b, *c, n, 7));
  EXPECT_TRUE(is_sequence(download_words(*backend_, *c, n), 15));

  // An upload lands after the launches queued before it and before those queued after it.
  backend_->launch(fill_launch(*a, n, 100));
  std::vector<uint32_t> words(n);
  std::iota(words.begin(), words.end(), 1000u);
  upload_words(*backend_, *a, words);
  backend_->launch(add_launch(*a, *b, n, 1));
  EXPECT_TRUE(is_sequence(download_words(*backend_, *a, n), 1000));
  EXPECT_TRUE(is_sequence(download_words(*backend_, *b, n), 1001));
}

TEST_F(VulkanBackendTest, BuffersDroppedWhileQueuedStayValid) {
  const uint32_t n = 4099;
  auto out = backend_->allocate(n * 4);
  {
    auto temporary = backend_->allocate(n * 4);
    backend_->launch(fill_launch(*temporary, n, 9));
    backend_->launch(add_launch(*temporary, *out, n, 1));
  }  // the backend keeps `temporary` until the launches have run
  EXPECT_TRUE(is_sequence(download_words(*backend_, *out, n), 10));
}

TEST_F(VulkanBackendTest, DescriptorPoolsAreReused) {
  const uint32_t n = 257;
  auto a = backend_->allocate(n * 4);
  auto b = backend_->allocate(n * 4);
  auto run_round = [&] {
    for (int i = 0; i < 300; ++i) backend_->launch(add_launch(*a, *b, n, static_cast<uint32_t>(i)));
    backend_->synchronize();
  };
  run_round();
  const int pools = vulkan_memory_stats(*backend_).descriptor_pools_created;
  EXPECT_GE(pools, 1);
  for (int round = 0; round < 4; ++round) run_round();
  EXPECT_EQ(vulkan_memory_stats(*backend_).descriptor_pools_created, pools);
}

TEST_F(VulkanBackendTest, RecordedPlanReplaysTwice) {
  const uint32_t n = 5003;
  auto a = backend_->allocate(n * 4);
  auto b = backend_->allocate(n * 4);
  backend_->launch(fill_launch(*a, n, 10));
  auto plan = backend_->record([&] {
    backend_->launch(add_launch(*a, *b, n, 1));  // b = a + 1
    backend_->launch(add_launch(*b, *a, n, 1));  // a = b + 1
  });
  ASSERT_EQ(plan->launch_count(), 2u);
  EXPECT_TRUE(is_sequence(download_words(*backend_, *a, n), 10)) << "recording runs nothing";
  plan->replay();
  plan->replay();
  backend_->synchronize();
  EXPECT_TRUE(is_sequence(download_words(*backend_, *a, n), 14));
  EXPECT_TRUE(is_sequence(download_words(*backend_, *b, n), 13));
  // Eager work queued before a replay runs before it.
  backend_->launch(fill_launch(*a, n, 0));
  plan->replay();
  EXPECT_TRUE(is_sequence(download_words(*backend_, *a, n), 2));
}

TEST_F(VulkanBackendTest, CopiesInsideRecordAreRejected) {
  auto a = backend_->allocate(16);
  std::vector<std::byte> bytes(16);
  EXPECT_THROW(backend_->record([&] { backend_->upload(*a, bytes); }), std::logic_error);
  EXPECT_THROW(backend_->record([&] { backend_->synchronize(); }), std::logic_error);
  auto plan = backend_->record([&] { backend_->launch(fill_launch(*a, 4, 1)); });  // still usable afterwards
  plan->replay();
  EXPECT_TRUE(is_sequence(download_words(*backend_, *a, 4), 1));
}

TEST_F(VulkanBackendTest, UnknownShaderVariantNamesItself) {
  auto a = backend_->allocate(16);
  KernelLaunch launch = fill_launch(*a, 4, 1);
  launch.kernel = "no_such_shader";
  try {
    backend_->launch(launch);
    FAIL() << "expected an exception";
  } catch (const std::exception& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("no_such_shader"), std::string::npos) << message;
    EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
    EXPECT_NE(message.find("test_fill"), std::string::npos) << "lists the known variants: " << message;
  }
}

TEST_F(VulkanBackendTest, BindingAboveStorageBufferRangeThrows) {
  const uint64_t limit = backend_->info().max_buffer_bytes;
  if (limit > 512 * kMiB) GTEST_SKIP() << "the storage-buffer range is " << limit << " bytes";
  auto big = backend_->allocate(limit + 4);
  try {
    backend_->launch(fill_launch(*big, 16, 0));
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("test_fill"), std::string::npos) << message;
    EXPECT_NE(message.find("binding 0"), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(limit + 4)), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(limit)), std::string::npos) << message;
  }
  auto fits = backend_->allocate(limit);  // exactly the limit is fine
  backend_->launch(fill_launch(*fits, 16, 0));
  EXPECT_TRUE(is_sequence(download_words(*backend_, *fits, 16), 0));
}

TEST_F(VulkanBackendTest, AWindowOfABufferAboveTheStorageBufferRangeBinds) {
  const uint64_t limit = backend_->info().max_binding_bytes;
  if (limit > 512 * kMiB) GTEST_SKIP() << "the storage-buffer range is " << limit << " bytes";
  auto big = backend_->allocate(limit + 64 * 1024);
  // The last 16 words, well past the range a binding of the whole buffer could cover.
  const size_t offset = (limit + 64 * 1024) - 16 * 4;
  ASSERT_EQ(offset % backend_->info().binding_alignment, 0u);
  auto window = backend_->view(big, offset, 16 * 4);
  backend_->launch(fill_launch(*window, 16, 5));
  EXPECT_TRUE(is_sequence(download_words(*backend_, *window, 16), 5));
  // The word before the window is untouched (never written: pool memory, so compare with a fill).
  auto before = backend_->view(big, offset - 256, 256);
  backend_->launch(fill_launch(*before, 64, 100));
  EXPECT_TRUE(is_sequence(download_words(*backend_, *window, 16), 5)) << "a neighbouring window overwrote this one";
  EXPECT_TRUE(is_sequence(download_words(*backend_, *before, 64), 100));
  EXPECT_THROW(backend_->view(big, offset, 17 * 4), std::out_of_range);
}

TEST_F(VulkanBackendTest, BadLaunchShapesThrow) {
  auto a = backend_->allocate(16);
  KernelLaunch launch = fill_launch(*a, 4, 1);
  launch.local = {backend_->info().max_workgroup_size + 1, 1, 1};
  EXPECT_THROW(backend_->launch(launch), std::invalid_argument);
  launch = fill_launch(*a, 4, 1);
  launch.buffers = {nullptr};
  EXPECT_THROW(backend_->launch(launch), std::invalid_argument);
}

std::vector<std::filesystem::path> cache_files(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  if (!std::filesystem::exists(dir / "vulkan")) return files;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "vulkan")) files.push_back(entry.path());
  return files;
}

// Opens a backend, runs test_fill once and returns its pipeline counters.
VulkanPipelineStats run_fill_once() {
  auto backend = open_vulkan_device(0);
  auto out = backend->allocate(64 * 4);
  backend->launch(fill_launch(*out, 64, 5));
  EXPECT_TRUE(is_sequence(download_words(*backend, *out, 64), 5));
  return vulkan_pipeline_stats(*backend);
}

TEST_F(VulkanBackendTest, PipelineCacheIsSavedAndReloaded) {
  backend_.reset();
  test::TempDir dir;
  ScopedEnv cache_dir("PORTAQUANT_CACHE_DIR", dir.path().string());

  const VulkanPipelineStats first = run_fill_once();
  EXPECT_FALSE(first.cache_loaded);
  EXPECT_EQ(first.pipelines_created, 1);
  const auto files = cache_files(dir.path());
  ASSERT_EQ(files.size(), 1u) << "the cache is written when the backend is destroyed";
  EXPECT_EQ(files[0].extension(), ".bin");
  const auto saved_time = std::filesystem::last_write_time(files[0]);

  const VulkanPipelineStats second = run_fill_once();
  EXPECT_TRUE(second.cache_loaded);
  EXPECT_EQ(second.pipelines_created, 1);
  EXPECT_EQ(std::filesystem::last_write_time(files[0]), saved_time) << "an unchanged cache is not rewritten";
  std::cout << "[ info     ] test_fill pipeline creation: " << first.pipeline_creation_seconds * 1e3 << " ms without cache, "
            << second.pipeline_creation_seconds * 1e3 << " ms with cache\n";

  // Wrong pipelineCacheUUID bytes (offset 16 of the header): the file is ignored, then replaced.
  {
    std::fstream file(files[0], std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(16);
    const char garbage[4] = {'\x13', '\x37', '\x13', '\x37'};
    file.write(garbage, sizeof garbage);
  }
  const VulkanPipelineStats corrupted = run_fill_once();
  EXPECT_FALSE(corrupted.cache_loaded);
  EXPECT_TRUE(run_fill_once().cache_loaded) << "the rejected file was overwritten with a valid one";

  // A truncated file is ignored too.
  std::filesystem::resize_file(files[0], 20);
  EXPECT_FALSE(run_fill_once().cache_loaded);
}

TEST_F(VulkanBackendTest, StatsRejectOtherBackends) {
  struct NotVulkan : Backend {
    DeviceInfo info_;
    const DeviceInfo& info() const override { return info_; }
    std::shared_ptr<DeviceBuffer> allocate(size_t) override { return nullptr; }
    void upload(DeviceBuffer&, std::span<const std::byte>, size_t) override {}
    void download(const DeviceBuffer&, std::span<std::byte>, size_t) override {}
    void launch(const KernelLaunch&) override {}
    void synchronize() override {}
    std::unique_ptr<RecordedPlan> record(const std::function<void()>&) override { return nullptr; }
  } other;
  EXPECT_THROW(vulkan_pipeline_stats(other), std::invalid_argument);
}

}  // namespace
}  // namespace pq::rt

#else

TEST(VulkanBackend, NotCompiledIn) { GTEST_SKIP() << "configure with -DPORTAQUANT_VULKAN=ON to test the Vulkan backend"; }

#endif
