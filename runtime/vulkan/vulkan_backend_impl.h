// The Backend for one Vulkan device. Eager launches are recorded into a command buffer that is
// submitted when the host needs results (synchronize, download) or after many dispatches;
// record() captures launches into a reusable command buffer instead (VulkanRecordedPlan).
// Not thread-safe: one thread at a time drives a backend.
#pragma once

#include <vulkan/vulkan.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/backend.h"
#include "runtime/vulkan/vulkan_backend.h"
#include "runtime/vulkan/vulkan_commands.h"
#include "runtime/vulkan/vulkan_descriptor_pool.h"
#include "runtime/vulkan/vulkan_device.h"
#include "runtime/vulkan/vulkan_memory_pool.h"
#include "runtime/vulkan/vulkan_pipelines.h"
#include "runtime/vulkan/vulkan_staging.h"

namespace pq::rt::vulkan {

class VulkanRecordedPlan;

// Where launches go: the eager batch or a plan being recorded. Buffers named by the recorded
// commands are kept alive until the commands can no longer run.
struct LaunchTarget {
  CommandRecorder& recorder;
  DescriptorArena& descriptors;
  std::vector<std::shared_ptr<VulkanBuffer>>& buffers_in_use;
};

class VulkanBackend final : public Backend, public std::enable_shared_from_this<VulkanBackend> {
 public:
  VulkanBackend(std::shared_ptr<VulkanDevice> device, const VulkanBackendOptions& options);
  ~VulkanBackend() override;  // waits for the device, then saves the pipeline cache

  const DeviceInfo& info() const override { return device_->info(); }
  std::shared_ptr<DeviceBuffer> allocate(size_t bytes) override;
  void upload(DeviceBuffer& buffer, std::span<const std::byte> bytes, size_t offset = 0) override;
  void download(const DeviceBuffer& buffer, std::span<std::byte> bytes, size_t offset = 0) override;
  void launch(const KernelLaunch& launch) override;
  void synchronize() override;
  std::unique_ptr<RecordedPlan> record(const std::function<void()>& body) override;
  std::shared_ptr<DeviceBuffer> view(const std::shared_ptr<DeviceBuffer>& buffer, size_t offset, size_t bytes) override;

  VulkanPipelineStats pipeline_stats() const { return pipelines_.stats(); }
  VulkanMemoryStats memory_stats() const;

  // For VulkanRecordedPlan: submits its command buffer after the pending eager work, once its
  // previous submission has completed; returns the new submission's id.
  uint64_t submit_plan(VkCommandBuffer command_buffer, uint64_t previous_submission);
  void wait_for(uint64_t submission);  // retires every submission up to this id
  const VulkanDevice& device() const { return *device_; }
  DescriptorPoolRecycler& descriptor_pools() { return descriptor_pools_; }

 private:
  static constexpr size_t kDispatchesPerSubmit = 256;  // lets the device start on long eager sequences

  struct EagerBatch {
    VkCommandBuffer command_buffer;
    CommandRecorder recorder;
    DescriptorArena descriptors;
    std::vector<std::shared_ptr<VulkanBuffer>> buffers_in_use;
  };
  struct Submission {
    uint64_t id = 0;
    VkFence fence = VK_NULL_HANDLE;
    VkCommandBuffer command_buffer = VK_NULL_HANDLE;
    bool eager = false;  // the command buffer returns to the free list when done
    std::optional<DescriptorArena> descriptors;
    std::vector<std::shared_ptr<VulkanBuffer>> buffers_in_use;
  };

  // A buffer or view as the bytes [offset, offset + bytes) of one of this device's VkBuffers.
  struct Range {
    VulkanBuffer* buffer;
    VkDeviceSize offset, bytes;
    bool whole;  // the entire buffer (bound with VK_WHOLE_SIZE)
  };
  Range range_of(const DeviceBuffer& buffer) const;
  void encode(const KernelLaunch& launch, LaunchTarget target);
  std::vector<Range> bound_ranges(const KernelLaunch& launch) const;
  void check_launch_limits(const KernelLaunch& launch) const;
  void check_texel_range(const Range& range, size_t binding) const;
  VulkanBuffer& own_buffer(const DeviceBuffer& buffer) const;
  void check_no_recording(const char* what) const;

  EagerBatch& eager_batch();  // begins one when none is open
  void flush();               // submits the eager batch without waiting
  void drain();               // flush() and wait for every submission
  uint64_t submit(Submission submission);
  void retire_oldest();
  bool busy() const { return eager_.has_value() || !in_flight_.empty(); }
  StagingBuffer& staging();
  void staged_upload(VulkanBuffer& target, std::span<const std::byte> bytes, size_t offset);
  void staged_download(VulkanBuffer& source, std::span<std::byte> bytes, size_t offset);
  [[noreturn]] void rethrow_with_context(const std::string& what) const;

  std::shared_ptr<VulkanDevice> device_;
  std::shared_ptr<VulkanMemoryPool> memory_;
  VulkanPipelines pipelines_;
  DescriptorPoolRecycler descriptor_pools_;
  VkCommandPool command_pool_ = VK_NULL_HANDLE;
  std::vector<VkCommandBuffer> free_command_buffers_;
  std::vector<VkFence> free_fences_;
  std::vector<VkFence> all_fences_;
  std::optional<EagerBatch> eager_;
  std::deque<Submission> in_flight_;
  uint64_t next_submission_id_ = 1;
  std::unique_ptr<StagingBuffer> staging_;
  VulkanRecordedPlan* recording_ = nullptr;
};

}  // namespace pq::rt::vulkan
