#include "runtime/vulkan/vulkan_memory_pool.h"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>

#include "runtime/vulkan/vulkan_error.h"

namespace pq::rt::vulkan {
namespace {

constexpr VkBufferUsageFlags kBufferUsage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
                                            VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
constexpr VkMemoryPropertyFlags kHostCoherent = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;

VkBuffer create_buffer(VkDevice device, VkDeviceSize bytes) {
  VkBufferCreateInfo info{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  info.size = bytes;
  info.usage = kBufferUsage;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  VkBuffer buffer = VK_NULL_HANDLE;
  check(vkCreateBuffer(device, &info, nullptr, &buffer), "vkCreateBuffer");
  return buffer;
}

// Memory types allowed for buffers are the same for every buffer of the same usage (spec), so
// one small probe buffer tells them.
uint32_t buffer_memory_type_bits(VkDevice device) {
  const VkBuffer probe = create_buffer(device, 4);
  VkMemoryRequirements requirements;
  vkGetBufferMemoryRequirements(device, probe, &requirements);
  vkDestroyBuffer(device, probe, nullptr);
  return requirements.memoryTypeBits;
}

// Devices that share memory with the host (integrated GPUs, CPU devices) prefer memory the
// host can map, saving a staging copy; discrete GPUs prefer VRAM the host cannot see, which
// keeps the small host-visible BAR window free.
uint32_t choose_memory_type(const PhysicalDeviceProbe& probe, uint32_t type_bits) {
  const VkPhysicalDeviceType type = probe.properties.deviceType;
  const bool shares_host_memory = type == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU || type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  const VkMemoryPropertyFlags local = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  int chosen = shares_host_memory ? find_memory_type(probe.memory, type_bits, local | kHostCoherent)
                                  : find_memory_type(probe.memory, type_bits, local, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT);
  if (chosen < 0) chosen = find_memory_type(probe.memory, type_bits, local);
  if (chosen < 0) chosen = find_memory_type(probe.memory, type_bits, 0);
  if (chosen < 0) throw std::runtime_error("no memory type can hold storage buffers");
  return static_cast<uint32_t>(chosen);
}

// First fit: the lowest free range that holds `bytes` once its start is aligned.
std::optional<VkDeviceSize> take_range(std::map<VkDeviceSize, VkDeviceSize>& free_ranges, VkDeviceSize bytes,
                                       VkDeviceSize alignment) {
  for (auto it = free_ranges.begin(); it != free_ranges.end(); ++it) {
    const VkDeviceSize start = it->first, end = it->first + it->second;
    const VkDeviceSize aligned = align_up(start, alignment);
    if (aligned + bytes > end) continue;
    free_ranges.erase(it);
    if (aligned > start) free_ranges.emplace(start, aligned - start);
    if (aligned + bytes < end) free_ranges.emplace(aligned + bytes, end - aligned - bytes);
    return aligned;
  }
  return std::nullopt;
}

// Returns [offset, offset+bytes) and merges it with the free neighbours on both sides.
void return_range(std::map<VkDeviceSize, VkDeviceSize>& free_ranges, VkDeviceSize offset, VkDeviceSize bytes) {
  auto next = free_ranges.lower_bound(offset);
  if (next != free_ranges.end() && offset + bytes == next->first) {
    bytes += next->second;
    next = free_ranges.erase(next);
  }
  if (next != free_ranges.begin()) {
    auto previous = std::prev(next);
    if (previous->first + previous->second == offset) {
      previous->second += bytes;
      return;
    }
  }
  free_ranges.emplace(offset, bytes);
}

}  // namespace

int find_memory_type(const VkPhysicalDeviceMemoryProperties& memory, uint32_t type_bits, VkMemoryPropertyFlags required,
                     VkMemoryPropertyFlags excluded) {
  for (uint32_t i = 0; i < memory.memoryTypeCount; ++i) {
    const VkMemoryPropertyFlags flags = memory.memoryTypes[i].propertyFlags;
    if ((type_bits & (1u << i)) && (flags & required) == required && (flags & excluded) == 0) return static_cast<int>(i);
  }
  return -1;
}

VulkanBuffer::VulkanBuffer(std::shared_ptr<VulkanMemoryPool> pool, VkBuffer buffer, size_t requested_bytes,
                           VkDeviceSize buffer_bytes, Placement placement, std::byte* mapped)
    : pool_(std::move(pool)),
      buffer_(buffer),
      requested_bytes_(requested_bytes),
      buffer_bytes_(buffer_bytes),
      placement_(placement),
      mapped_(mapped) {}

VulkanBuffer::~VulkanBuffer() {
  texel_views_.destroy(pool_->device_->handle());
  pool_->release(buffer_, placement_);
}

VkBufferView VulkanBuffer::texel_view(VkDeviceSize offset, VkDeviceSize bytes) {
  return texel_views_.get(pool_->device_->handle(), buffer_, offset, bytes);
}

VulkanMemoryPool::VulkanMemoryPool(std::shared_ptr<VulkanDevice> device, bool allow_direct_host_copies)
    : device_(std::move(device)) {
  const PhysicalDeviceProbe& probe = device_->probe();
  memory_type_ = choose_memory_type(probe, buffer_memory_type_bits(device_->handle()));
  const VkMemoryPropertyFlags flags = probe.memory.memoryTypes[memory_type_].propertyFlags;
  mapped_ = allow_direct_host_copies && (flags & kHostCoherent) == kHostCoherent;
  if (probe.max_allocation_bytes) block_bytes_ = std::min(block_bytes_, probe.max_allocation_bytes);
}

VulkanMemoryPool::~VulkanMemoryPool() {
  for (auto& block : blocks_) {
    vkFreeMemory(device_->handle(), block->memory, nullptr);  // also unmaps
  }
}

std::shared_ptr<VulkanBuffer> VulkanMemoryPool::allocate(size_t bytes) {
  const uint64_t max_allocation = device_->probe().max_allocation_bytes;
  const VkDeviceSize buffer_bytes = align_up(std::max<VkDeviceSize>(bytes, 4), 4);
  if (max_allocation && buffer_bytes > max_allocation) {
    throw std::runtime_error("a buffer of " + std::to_string(bytes) + " bytes exceeds the device's largest allocation (" +
                             std::to_string(max_allocation) + " bytes)");
  }
  const VkDevice device = device_->handle();
  const VkBuffer buffer = create_buffer(device, buffer_bytes);
  VkMemoryRequirements requirements;
  vkGetBufferMemoryRequirements(device, buffer, &requirements);
  VulkanBuffer::Placement placement;
  try {
    std::lock_guard lock(mutex_);
    placement = place(requirements);
  } catch (...) {
    vkDestroyBuffer(device, buffer, nullptr);
    throw;
  }
  auto* block = static_cast<Block*>(placement.block);
  const VkResult bound = vkBindBufferMemory(device, buffer, block->memory, placement.offset);
  if (bound != VK_SUCCESS) {
    release(buffer, placement);
    check(bound, "vkBindBufferMemory");
  }
  std::byte* mapped = block->mapped ? block->mapped + placement.offset : nullptr;
  return std::make_shared<VulkanBuffer>(shared_from_this(), buffer, bytes, buffer_bytes, placement, mapped);
}

VulkanBuffer::Placement VulkanMemoryPool::place(const VkMemoryRequirements& requirements) {
  auto dedicated_placement = [&] {
    Block* block = create_block(requirements.size, /*dedicated=*/true);
    block->free_ranges.clear();
    block->used = requirements.size;
    return VulkanBuffer::Placement{block, 0, requirements.size};
  };
  if (requirements.size > block_bytes_) return dedicated_placement();
  for (auto& candidate : blocks_) {
    if (candidate->dedicated) continue;
    if (auto offset = take_range(candidate->free_ranges, requirements.size, requirements.alignment)) {
      candidate->used += requirements.size;
      return {candidate.get(), *offset, requirements.size};
    }
  }
  Block* block = nullptr;
  try {
    block = create_block(block_bytes_, /*dedicated=*/false);
  } catch (const std::runtime_error&) {
    return dedicated_placement();  // memory is nearly full: a whole new block may not fit, the request may
  }
  const auto offset = take_range(block->free_ranges, requirements.size, requirements.alignment);
  block->used += requirements.size;
  return {block, *offset, requirements.size};
}

VulkanMemoryPool::Block* VulkanMemoryPool::create_block(VkDeviceSize bytes, bool dedicated) {
  VkMemoryAllocateInfo info{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  info.allocationSize = bytes;
  info.memoryTypeIndex = memory_type_;
  auto block = std::make_unique<Block>();
  VkResult result = vkAllocateMemory(device_->handle(), &info, nullptr, &block->memory);
  if (result == VK_ERROR_OUT_OF_DEVICE_MEMORY && release_spare_blocks()) {
    result = vkAllocateMemory(device_->handle(), &info, nullptr, &block->memory);
  }
  if (result != VK_SUCCESS) {
    VkDeviceSize held_bytes = 0;
    for (const auto& b : blocks_) held_bytes += b->bytes;
    check(result, "vkAllocateMemory of " + std::to_string(bytes) + " bytes (the pool already holds " +
                      std::to_string(held_bytes) + " bytes in " + std::to_string(blocks_.size()) + " blocks)");
  }
  block->bytes = bytes;
  block->dedicated = dedicated;
  block->free_ranges.emplace(0, bytes);
  if (mapped_) {
    void* pointer = nullptr;
    const VkResult mapped = vkMapMemory(device_->handle(), block->memory, 0, VK_WHOLE_SIZE, 0, &pointer);
    if (mapped != VK_SUCCESS) vkFreeMemory(device_->handle(), block->memory, nullptr);
    check(mapped, "vkMapMemory");
    block->mapped = static_cast<std::byte*>(pointer);
  }
  blocks_.push_back(std::move(block));
  return blocks_.back().get();
}

void VulkanMemoryPool::destroy_block(Block* block) {
  vkFreeMemory(device_->handle(), block->memory, nullptr);
  std::erase_if(blocks_, [block](const auto& b) { return b.get() == block; });
}

bool VulkanMemoryPool::release_spare_blocks() {
  std::vector<Block*> empty;
  for (auto& block : blocks_) {
    if (block->used == 0) empty.push_back(block.get());
  }
  for (Block* block : empty) destroy_block(block);
  return !empty.empty();
}

void VulkanMemoryPool::release(VkBuffer buffer, const VulkanBuffer::Placement& placement) {
  vkDestroyBuffer(device_->handle(), buffer, nullptr);
  std::lock_guard lock(mutex_);
  auto* block = static_cast<Block*>(placement.block);
  block->used -= placement.bytes;
  if (block->dedicated) {
    destroy_block(block);
    return;
  }
  return_range(block->free_ranges, placement.offset, placement.bytes);
  // Keep one empty block as a spare for the next allocation; give the others back.
  if (block->used == 0) {
    const auto empty_blocks = std::count_if(blocks_.begin(), blocks_.end(),
                                            [](const auto& b) { return !b->dedicated && b->used == 0; });
    if (empty_blocks > 1) destroy_block(block);
  }
}

VulkanMemoryStats VulkanMemoryPool::stats() const {
  std::lock_guard lock(mutex_);
  VulkanMemoryStats stats;
  stats.host_visible = mapped_;
  for (const auto& block : blocks_) {
    ++stats.blocks;
    stats.block_bytes += block->bytes;
    stats.used_bytes += block->used;
  }
  return stats;
}

}  // namespace pq::rt::vulkan
