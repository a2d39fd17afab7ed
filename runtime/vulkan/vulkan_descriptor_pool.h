// Descriptor sets without per-launch pool creation: an arena hands out sets from pools it takes
// from a recycler; when the work using them has completed, the arena gives the pools back, the
// recycler resets them (freeing every set at once) and hands them to the next arena.
#pragma once

#include <vulkan/vulkan.h>

#include <vector>

namespace pq::rt::vulkan {

class DescriptorPoolRecycler {
 public:
  static constexpr uint32_t kSetsPerPool = 256;
  static constexpr uint32_t kBuffersPerPool = 256 * 8;
  static constexpr uint32_t kTexelBuffersPerPool = 256 * 4;

  explicit DescriptorPoolRecycler(VkDevice device) : device_(device) {}
  ~DescriptorPoolRecycler();
  DescriptorPoolRecycler(const DescriptorPoolRecycler&) = delete;
  DescriptorPoolRecycler& operator=(const DescriptorPoolRecycler&) = delete;

  VkDescriptorPool acquire();               // a reset pool, new only when none is free
  void release(VkDescriptorPool pool);      // resets it; its sets must no longer be in use
  int pools_created() const { return static_cast<int>(all_.size()); }

 private:
  VkDevice device_;
  std::vector<VkDescriptorPool> all_;
  std::vector<VkDescriptorPool> free_;
};

class DescriptorArena {
 public:
  explicit DescriptorArena(DescriptorPoolRecycler& recycler) : recycler_(&recycler) {}
  ~DescriptorArena() { release(); }
  DescriptorArena(DescriptorArena&& other) noexcept;
  DescriptorArena& operator=(DescriptorArena&& other) noexcept;

  VkDescriptorSet allocate(VkDevice device, VkDescriptorSetLayout layout);
  void release();  // every set handed out becomes invalid

 private:
  DescriptorPoolRecycler* recycler_;
  std::vector<VkDescriptorPool> pools_;  // the last one is being filled
};

}  // namespace pq::rt::vulkan
