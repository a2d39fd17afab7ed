// Compute pipelines built on first use from the embedded SPIR-V and kept for the backend's
// lifetime, keyed by everything that changes the VkPipeline: shader variant, workgroup size
// (specialization constants 0..2) and further specialization constants, number of buffers
// (and which of them are texel buffers) and push-constant bytes.
#pragma once

#include <vulkan/vulkan.h>

#include <array>
#include <compare>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/vulkan/vulkan_backend.h"
#include "runtime/vulkan/vulkan_device.h"
#include "runtime/vulkan/vulkan_pipeline_cache.h"

namespace pq::rt::vulkan {

struct PipelineKey {
  std::string kernel;
  std::array<uint32_t, 3> local{1, 1, 1};
  uint32_t buffer_count = 0;
  uint32_t texel_buffers = 0;        // KernelLaunch::texel_buffers: bindings that are texel buffers
  uint32_t push_constant_bytes = 0;  // a multiple of 4
  std::vector<uint32_t> constants;   // specialization constants 3, 4, ...
  auto operator<=>(const PipelineKey&) const = default;
};

inline VkDescriptorType descriptor_type(uint32_t texel_buffers, uint32_t binding) {
  return (texel_buffers >> binding) & 1u ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
}

struct ComputePipeline {
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;          // owned by VulkanPipelines, shared
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;  // owned by VulkanPipelines, shared
  uint32_t buffer_count = 0;
  uint32_t push_constant_bytes = 0;
};

class VulkanPipelines {
 public:
  explicit VulkanPipelines(const VulkanDevice& device);
  ~VulkanPipelines();  // destroys every object, then saves the pipeline cache
  VulkanPipelines(const VulkanPipelines&) = delete;
  VulkanPipelines& operator=(const VulkanPipelines&) = delete;

  // Throws when the shader variant does not exist or the driver rejects it.
  const ComputePipeline& get(const PipelineKey& key);
  VulkanPipelineStats stats() const;

 private:
  VkShaderModule shader_module(const std::string& kernel);
  // Bindings 0 .. buffer_count - 1: storage buffers, or uniform texel buffers where
  // `texel_buffers` has their bit.
  struct SetShape {
    uint32_t buffer_count = 0, texel_buffers = 0;
    auto operator<=>(const SetShape&) const = default;
  };
  VkDescriptorSetLayout set_layout(SetShape shape);
  VkPipelineLayout pipeline_layout(SetShape shape, uint32_t push_constant_bytes);
  VkPipeline create_pipeline(const PipelineKey& key, VkPipelineLayout layout);

  VkDevice device_;
  PersistentPipelineCache cache_;
  std::map<std::string, VkShaderModule> modules_;
  std::map<SetShape, VkDescriptorSetLayout> set_layouts_;
  std::map<std::pair<SetShape, uint32_t>, VkPipelineLayout> pipeline_layouts_;
  std::map<PipelineKey, ComputePipeline> pipelines_;
  int pipelines_created_ = 0;
  double creation_seconds_ = 0;
};

}  // namespace pq::rt::vulkan
