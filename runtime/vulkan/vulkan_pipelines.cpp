#include "runtime/vulkan/vulkan_pipelines.h"

#include <chrono>
#include <stdexcept>
#include <vector>

#include "runtime/embedded_kernels.h"
#include "runtime/vulkan/vulkan_error.h"

namespace pq::rt::vulkan {
namespace {

std::span<const uint32_t> find_spirv(const std::string& kernel) {
  std::string known;
  for (const EmbeddedSpirv& shader : embedded_spirv()) {
    if (shader.kernel == kernel) return shader.words;
    known += (known.empty() ? "" : ", ") + std::string(shader.kernel);
  }
  throw std::runtime_error("shader variant '" + kernel + "' does not exist (shaders/*.comp build: " +
                           (known.empty() ? std::string("none") : known) + ")");
}

}  // namespace

VulkanPipelines::VulkanPipelines(const VulkanDevice& device) : device_(device.handle()), cache_(device) {}

VulkanPipelines::~VulkanPipelines() {
  for (auto& [key, p] : pipelines_) vkDestroyPipeline(device_, p.pipeline, nullptr);
  for (auto& [key, layout] : pipeline_layouts_) vkDestroyPipelineLayout(device_, layout, nullptr);
  for (auto& [count, layout] : set_layouts_) vkDestroyDescriptorSetLayout(device_, layout, nullptr);
  for (auto& [name, module] : modules_) vkDestroyShaderModule(device_, module, nullptr);
  // cache_ saves itself when destroyed, after this body
}

const ComputePipeline& VulkanPipelines::get(const PipelineKey& key) {
  if (auto it = pipelines_.find(key); it != pipelines_.end()) return it->second;
  ComputePipeline p;
  p.buffer_count = key.buffer_count;
  p.push_constant_bytes = key.push_constant_bytes;
  p.set_layout = set_layout({key.buffer_count, key.texel_buffers});
  p.layout = pipeline_layout({key.buffer_count, key.texel_buffers}, key.push_constant_bytes);
  p.pipeline = create_pipeline(key, p.layout);
  return pipelines_.emplace(key, p).first->second;
}

VulkanPipelineStats VulkanPipelines::stats() const {
  return {pipelines_created_, cache_.loaded(), creation_seconds_};
}

VkShaderModule VulkanPipelines::shader_module(const std::string& kernel) {
  if (auto it = modules_.find(kernel); it != modules_.end()) return it->second;
  const std::span<const uint32_t> words = find_spirv(kernel);
  VkShaderModuleCreateInfo info{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  info.codeSize = words.size_bytes();
  info.pCode = words.data();
  VkShaderModule module = VK_NULL_HANDLE;
  check(vkCreateShaderModule(device_, &info, nullptr, &module), "vkCreateShaderModule");
  return modules_.emplace(kernel, module).first->second;
}

VkDescriptorSetLayout VulkanPipelines::set_layout(SetShape shape) {
  if (auto it = set_layouts_.find(shape); it != set_layouts_.end()) return it->second;
  std::vector<VkDescriptorSetLayoutBinding> bindings(shape.buffer_count);
  for (uint32_t i = 0; i < shape.buffer_count; ++i) {
    bindings[i].binding = i;
    bindings[i].descriptorType = descriptor_type(shape.texel_buffers, i);
    bindings[i].descriptorCount = 1;
    bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  info.bindingCount = shape.buffer_count;
  info.pBindings = bindings.data();
  VkDescriptorSetLayout layout = VK_NULL_HANDLE;
  check(vkCreateDescriptorSetLayout(device_, &info, nullptr, &layout), "vkCreateDescriptorSetLayout");
  return set_layouts_.emplace(shape, layout).first->second;
}

VkPipelineLayout VulkanPipelines::pipeline_layout(SetShape shape, uint32_t push_constant_bytes) {
  const auto key = std::make_pair(shape, push_constant_bytes);
  if (auto it = pipeline_layouts_.find(key); it != pipeline_layouts_.end()) return it->second;
  const VkDescriptorSetLayout set = set_layout(shape);
  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_constant_bytes};
  VkPipelineLayoutCreateInfo info{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  info.setLayoutCount = 1;
  info.pSetLayouts = &set;
  info.pushConstantRangeCount = push_constant_bytes ? 1 : 0;
  info.pPushConstantRanges = push_constant_bytes ? &range : nullptr;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  check(vkCreatePipelineLayout(device_, &info, nullptr, &layout), "vkCreatePipelineLayout");
  return pipeline_layouts_.emplace(key, layout).first->second;
}

VkPipeline VulkanPipelines::create_pipeline(const PipelineKey& key, VkPipelineLayout layout) {
  // Every shader declares local_size_{x,y,z}_id = 0, 1, 2; some read constants 3, 4, ...
  std::vector<uint32_t> values(key.local.begin(), key.local.end());
  values.insert(values.end(), key.constants.begin(), key.constants.end());
  std::vector<VkSpecializationMapEntry> entries(values.size());
  for (uint32_t i = 0; i < entries.size(); ++i) entries[i] = {i, static_cast<uint32_t>(i * sizeof(uint32_t)), sizeof(uint32_t)};
  VkSpecializationInfo specialization{};
  specialization.mapEntryCount = static_cast<uint32_t>(entries.size());
  specialization.pMapEntries = entries.data();
  specialization.dataSize = values.size() * sizeof(uint32_t);
  specialization.pData = values.data();

  VkComputePipelineCreateInfo info{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  info.stage.module = shader_module(key.kernel);
  info.stage.pName = "main";
  info.stage.pSpecializationInfo = &specialization;
  info.layout = layout;
  VkPipeline pipeline = VK_NULL_HANDLE;
  const auto start = std::chrono::steady_clock::now();
  check(vkCreateComputePipelines(device_, cache_.handle(), 1, &info, nullptr, &pipeline), "vkCreateComputePipelines");
  creation_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ++pipelines_created_;
  return pipeline;
}

}  // namespace pq::rt::vulkan
