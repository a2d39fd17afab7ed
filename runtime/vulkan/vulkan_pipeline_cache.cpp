#include "runtime/vulkan/vulkan_pipeline_cache.h"

#include "runtime/cache_dir.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "host/atomic_file.h"
#include "runtime/vulkan/vulkan_error.h"

namespace pq::rt::vulkan {
namespace {

constexpr size_t kHeaderBytes = 16 + VK_UUID_SIZE;  // sizeof(VkPipelineCacheHeaderVersionOne)
constexpr std::streamoff kMaxCacheFileBytes = std::streamoff{1} << 30;

// The header's fields are little-endian whatever the host's byte order (Vulkan spec).
uint32_t read_le32(std::span<const std::byte> data, size_t offset) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value |= static_cast<uint32_t>(data[offset + i]) << (8 * i);
  return value;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return {};
  const std::streamoff size = in.tellg();
  if (size <= 0 || size > kMaxCacheFileBytes) return {};
  std::string data(static_cast<size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(data.data(), size)) return {};
  return data;
}

std::span<const std::byte> as_bytes(const std::string& text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

}  // namespace

std::filesystem::path cache_directory() { return kernel_cache_dir("vulkan").value_or(std::filesystem::path()); }

std::filesystem::path pipeline_cache_file(const VkPhysicalDeviceProperties& properties) {
  const std::filesystem::path dir = cache_directory();
  if (dir.empty()) return {};
  char name[64];
  std::snprintf(name, sizeof name, "%04x-%04x-%08x-", properties.vendorID, properties.deviceID, properties.driverVersion);
  std::string file = name;
  for (uint8_t byte : properties.pipelineCacheUUID) {
    std::snprintf(name, sizeof name, "%02x", byte);
    file += name;
  }
  return dir / (file + ".bin");
}

bool pipeline_cache_header_matches(std::span<const std::byte> data, const VkPhysicalDeviceProperties& properties) {
  if (data.size() < kHeaderBytes) return false;
  const uint32_t header_bytes = read_le32(data, 0);
  return header_bytes >= kHeaderBytes && header_bytes <= data.size() &&
         read_le32(data, 4) == VK_PIPELINE_CACHE_HEADER_VERSION_ONE && read_le32(data, 8) == properties.vendorID &&
         read_le32(data, 12) == properties.deviceID &&
         std::memcmp(data.data() + 16, properties.pipelineCacheUUID, VK_UUID_SIZE) == 0;
}

PersistentPipelineCache::PersistentPipelineCache(const VulkanDevice& device)
    : device_(device.handle()), path_(pipeline_cache_file(device.probe().properties)) {
  if (!path_.empty()) loaded_data_ = read_file(path_);
  loaded_ = !loaded_data_.empty() && pipeline_cache_header_matches(as_bytes(loaded_data_), device.probe().properties);
  if (!loaded_) loaded_data_.clear();
  VkPipelineCacheCreateInfo info{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  info.initialDataSize = loaded_data_.size();
  info.pInitialData = loaded_data_.empty() ? nullptr : loaded_data_.data();
  check(vkCreatePipelineCache(device_, &info, nullptr, &cache_), "vkCreatePipelineCache");
}

PersistentPipelineCache::~PersistentPipelineCache() {
  save_if_changed();
  vkDestroyPipelineCache(device_, cache_, nullptr);
}

void PersistentPipelineCache::save_if_changed() noexcept {
  if (path_.empty()) return;
  try {
    size_t size = 0;
    check(vkGetPipelineCacheData(device_, cache_, &size, nullptr), "vkGetPipelineCacheData");
    std::string data(size, '\0');
    check(vkGetPipelineCacheData(device_, cache_, &size, data.data()), "vkGetPipelineCacheData");
    data.resize(size);
    if (data.empty() || data == loaded_data_) return;
    std::filesystem::create_directories(path_.parent_path());
    write_file_atomically(path_, data);
    loaded_data_ = std::move(data);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "portaquant: could not save the Vulkan pipeline cache %s: %s\n", path_.c_str(), e.what());
  }
}

}  // namespace pq::rt::vulkan
