#include "runtime/vulkan/vulkan_backend_impl.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "runtime/launch_profile.h"
#include "runtime/vulkan/vulkan_buffer_view.h"
#include "runtime/vulkan/vulkan_error.h"
#include "runtime/vulkan/vulkan_plan.h"

namespace pq::rt::vulkan {
namespace {

std::string dims_text(const std::array<uint32_t, 3>& v) {
  return std::to_string(v[0]) + "x" + std::to_string(v[1]) + "x" + std::to_string(v[2]);
}

}  // namespace

VulkanBackend::VulkanBackend(std::shared_ptr<VulkanDevice> device, const VulkanBackendOptions& options)
    : device_(std::move(device)),
      memory_(std::make_shared<VulkanMemoryPool>(device_, !options.force_staging)),
      pipelines_(*device_),
      descriptor_pools_(device_->handle()) {
  VkCommandPoolCreateInfo info{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  info.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;  // eager command buffers are re-begun
  info.queueFamilyIndex = device_->queue_family();
  check(vkCreateCommandPool(device_->handle(), &info, nullptr, &command_pool_), "vkCreateCommandPool");
}

VulkanBackend::~VulkanBackend() {
  try {
    drain();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "portaquant: %s: finishing queued work: %s\n", device_->label().c_str(), e.what());
  }
  vkDeviceWaitIdle(device_->handle());
  eager_.reset();
  in_flight_.clear();  // gives descriptor pools back and drops the buffers they kept alive
  for (VkFence fence : all_fences_) vkDestroyFence(device_->handle(), fence, nullptr);
  vkDestroyCommandPool(device_->handle(), command_pool_, nullptr);
}

VulkanMemoryStats VulkanBackend::memory_stats() const {
  VulkanMemoryStats stats = memory_->stats();
  stats.descriptor_pools_created = descriptor_pools_.pools_created();
  return stats;
}

// Prefixes the device and the operation to the message; caller errors keep their type.
void VulkanBackend::rethrow_with_context(const std::string& what) const {
  const std::string prefix = device_->label() + ": " + what + ": ";
  try {
    throw;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(prefix + e.what());
  } catch (const std::out_of_range& e) {
    throw std::out_of_range(prefix + e.what());
  } catch (const std::logic_error& e) {
    throw std::logic_error(prefix + e.what());
  } catch (const std::exception& e) {
    throw std::runtime_error(prefix + e.what());
  }
}

void VulkanBackend::check_no_recording(const char* what) const {
  if (recording_) throw std::logic_error(std::string(what) + " inside Backend::record(): only launches are recorded");
}

VulkanBuffer& VulkanBackend::own_buffer(const DeviceBuffer& buffer) const {
  auto* vulkan_buffer = dynamic_cast<const VulkanBuffer*>(&buffer);
  if (!vulkan_buffer || vulkan_buffer->pool() != memory_.get()) {
    throw std::invalid_argument("the buffer was not allocated by this device");
  }
  return const_cast<VulkanBuffer&>(*vulkan_buffer);
}

VulkanBackend::Range VulkanBackend::range_of(const DeviceBuffer& buffer) const {
  if (const auto* view = dynamic_cast<const VulkanBufferView*>(&buffer)) {
    VulkanBuffer& parent = own_buffer(view->parent());
    // The bound range covers the view's whole words (shaders read 8/16-bit data as words).
    const VkDeviceSize bytes = std::min<VkDeviceSize>(align_up(view->size(), 4), parent.buffer_bytes() - view->offset());
    return {&parent, view->offset(), bytes, false};
  }
  VulkanBuffer& whole = own_buffer(buffer);
  return {&whole, 0, whole.buffer_bytes(), true};
}

std::shared_ptr<DeviceBuffer> VulkanBackend::view(const std::shared_ptr<DeviceBuffer>& buffer, size_t offset, size_t bytes) {
  try {
    if (!buffer) throw std::invalid_argument("a view of a null buffer");
    check_view(info(), *buffer, offset, bytes);
    const Range base = range_of(*buffer);
    return std::make_shared<VulkanBufferView>(base.buffer->shared_from_this(), static_cast<size_t>(base.offset) + offset, bytes);
  } catch (...) {
    rethrow_with_context("a view of " + std::to_string(bytes) + " bytes at offset " + std::to_string(offset));
  }
}

std::shared_ptr<DeviceBuffer> VulkanBackend::allocate(size_t bytes) {
  try {
    return memory_->allocate(bytes);
  } catch (...) {
    rethrow_with_context("allocating " + std::to_string(bytes) + " bytes");
  }
}

// ---- host <-> device copies ---------------------------------------------------------------

namespace {

void check_copy_range(const DeviceBuffer& buffer, size_t bytes, size_t offset, const char* what) {
  if (offset > buffer.size() || bytes > buffer.size() - offset) {
    throw std::out_of_range(std::string(what) + " of " + std::to_string(bytes) + " bytes at offset " +
                            std::to_string(offset) + " overruns a buffer of " + std::to_string(buffer.size()) + " bytes");
  }
}

}  // namespace

void VulkanBackend::upload(DeviceBuffer& buffer, std::span<const std::byte> bytes, size_t offset) {
  try {
    check_no_recording("upload()");
    check_copy_range(buffer, bytes.size(), offset, "upload");
    const Range range = range_of(buffer);
    VulkanBuffer& target = *range.buffer;
    offset += range.offset;
    if (bytes.empty()) return;
    if (!target.mapped()) return staged_upload(target, bytes, offset);
    if (busy()) drain();  // earlier launches may still read or write this buffer
    std::memcpy(target.mapped() + offset, bytes.data(), bytes.size());
  } catch (...) {
    rethrow_with_context("upload of " + std::to_string(bytes.size()) + " bytes");
  }
}

void VulkanBackend::download(const DeviceBuffer& buffer, std::span<std::byte> bytes, size_t offset) {
  try {
    check_no_recording("download()");
    check_copy_range(buffer, bytes.size(), offset, "download");
    const Range range = range_of(buffer);
    VulkanBuffer& source = *range.buffer;
    offset += range.offset;
    if (bytes.empty()) return;
    if (!source.mapped()) return staged_download(source, bytes, offset);
    drain();
    std::memcpy(bytes.data(), source.mapped() + offset, bytes.size());
  } catch (...) {
    rethrow_with_context("download of " + std::to_string(bytes.size()) + " bytes");
  }
}

StagingBuffer& VulkanBackend::staging() {
  if (!staging_) staging_ = std::make_unique<StagingBuffer>(*device_, StagingBuffer::kDefaultBytes);
  return *staging_;
}

// Chunk by chunk through the staging buffer; each chunk waits until the previous copy out of
// the staging buffer has completed. The last copy stays queued, in order with later launches.
void VulkanBackend::staged_upload(VulkanBuffer& target, std::span<const std::byte> bytes, size_t offset) {
  StagingBuffer& stage = staging();
  for (size_t done = 0; done < bytes.size();) {
    const size_t chunk = std::min<size_t>(bytes.size() - done, stage.size());
    drain();
    std::memcpy(stage.data(), bytes.data() + done, chunk);
    EagerBatch& batch = eager_batch();
    batch.recorder.copy(stage.handle(), target.handle(), VkBufferCopy{0, offset + done, chunk});
    batch.buffers_in_use.push_back(target.shared_from_this());
    done += chunk;
  }
}

void VulkanBackend::staged_download(VulkanBuffer& source, std::span<std::byte> bytes, size_t offset) {
  StagingBuffer& stage = staging();
  for (size_t done = 0; done < bytes.size();) {
    const size_t chunk = std::min<size_t>(bytes.size() - done, stage.size());
    EagerBatch& batch = eager_batch();
    batch.recorder.copy(source.handle(), stage.handle(), VkBufferCopy{offset + done, 0, chunk});
    batch.buffers_in_use.push_back(source.shared_from_this());
    drain();
    std::memcpy(bytes.data() + done, stage.data(), chunk);
    done += chunk;
  }
}

// ---- launches -----------------------------------------------------------------------------

void VulkanBackend::launch(const KernelLaunch& launch) {
  try {
    if (recording_) {
      encode(launch, recording_->target());
      recording_->count_launch(launch.kernel);
      return;
    }
    if (launch_profiling()) drain();
    const auto start = std::chrono::steady_clock::now();
    EagerBatch& batch = eager_batch();
    encode(launch, {batch.recorder, batch.descriptors, batch.buffers_in_use});
    if (launch_profiling()) {
      drain();
      record_launch_time(device_->info().id(), launch.kernel, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    if (eager_ && eager_->recorder.dispatches() >= kDispatchesPerSubmit) flush();
  } catch (...) {
    rethrow_with_context("kernel '" + launch.kernel + "'");
  }
}

std::vector<VulkanBackend::Range> VulkanBackend::bound_ranges(const KernelLaunch& launch) const {
  const uint64_t max_range = device_->limits().maxStorageBufferRange;
  std::vector<Range> ranges;
  for (size_t i = 0; i < launch.buffers.size(); ++i) {
    if (!launch.buffers[i]) throw std::invalid_argument("binding " + std::to_string(i) + " is null");
    const Range range = range_of(*launch.buffers[i]);
    if ((launch.texel_buffers >> i) & 1u) {
      check_texel_range(range, i);
    } else if (range.bytes > max_range) {
      throw std::runtime_error("binding " + std::to_string(i) + " is a " + (range.whole ? "buffer" : "view") + " of " +
                               std::to_string(launch.buffers[i]->size()) + " bytes, above this device's " +
                               "maxStorageBufferRange of " + std::to_string(max_range) +
                               " bytes: the op must bind it a window at a time (Backend::view)");
    }
    ranges.push_back(range);
  }
  return ranges;
}

void VulkanBackend::check_texel_range(const Range& range, size_t binding) const {
  const VkPhysicalDeviceLimits& limits = device_->limits();
  const uint64_t texels = range.bytes / TexelViews::kTexelBytes;
  if (range.offset % limits.minTexelBufferOffsetAlignment != 0 || texels > limits.maxTexelBufferElements) {
    throw std::runtime_error("binding " + std::to_string(binding) + " (a texel buffer of " + std::to_string(texels) +
                             " texels at offset " + std::to_string(range.offset) + ") is outside this device's " +
                             "maxTexelBufferElements of " + std::to_string(limits.maxTexelBufferElements) +
                             " or minTexelBufferOffsetAlignment of " + std::to_string(limits.minTexelBufferOffsetAlignment));
  }
}

void VulkanBackend::check_launch_limits(const KernelLaunch& launch) const {
  const VkPhysicalDeviceLimits& limits = device_->limits();
  if (launch.params.size() > std::min<size_t>(kMaxParamsBytes, limits.maxPushConstantsSize)) {
    throw std::invalid_argument("parameters of " + std::to_string(launch.params.size()) + " bytes exceed the " +
                                std::to_string(kMaxParamsBytes) + "-byte push-constant block");
  }
  const uint64_t invocations = uint64_t{launch.local[0]} * launch.local[1] * launch.local[2];
  bool local_ok = invocations >= 1 && invocations <= limits.maxComputeWorkGroupInvocations;
  bool groups_ok = true;
  for (int d = 0; d < 3; ++d) {
    local_ok = local_ok && launch.local[d] <= limits.maxComputeWorkGroupSize[d];
    groups_ok = groups_ok && launch.groups[d] <= limits.maxComputeWorkGroupCount[d];
  }
  if (!local_ok) {
    throw std::invalid_argument("workgroup size " + dims_text(launch.local) + " exceeds the device's limits (" +
                                dims_text({limits.maxComputeWorkGroupSize[0], limits.maxComputeWorkGroupSize[1],
                                           limits.maxComputeWorkGroupSize[2]}) +
                                ", " + std::to_string(limits.maxComputeWorkGroupInvocations) + " invocations)");
  }
  if (!groups_ok) {
    throw std::invalid_argument("grid " + dims_text(launch.groups) + " exceeds the device's workgroup count limit " +
                                dims_text({limits.maxComputeWorkGroupCount[0], limits.maxComputeWorkGroupCount[1],
                                           limits.maxComputeWorkGroupCount[2]}));
  }
  const uint32_t max_buffers = std::min(limits.maxPerStageDescriptorStorageBuffers, limits.maxDescriptorSetStorageBuffers);
  if (launch.buffers.size() > max_buffers) {
    throw std::invalid_argument(std::to_string(launch.buffers.size()) + " buffers exceed the device's limit of " +
                                std::to_string(max_buffers) + " storage buffers per shader");
  }
}

void VulkanBackend::encode(const KernelLaunch& launch, LaunchTarget target) {
  check_launch_limits(launch);
  const std::vector<Range> buffers = bound_ranges(launch);
  const auto push_bytes = static_cast<uint32_t>(align_up(launch.params.size(), 4));
  const ComputePipeline& pipeline =
      pipelines_.get({launch.kernel, launch.local, static_cast<uint32_t>(buffers.size()), launch.texel_buffers, push_bytes,
                      launch.constants});

  VkDescriptorSet set = VK_NULL_HANDLE;
  if (!buffers.empty()) {
    set = target.descriptors.allocate(device_->handle(), pipeline.set_layout);
    std::vector<VkDescriptorBufferInfo> infos(buffers.size());
    std::vector<VkBufferView> texel_views(buffers.size());
    std::vector<VkWriteDescriptorSet> writes(buffers.size());
    for (size_t i = 0; i < buffers.size(); ++i) {
      const auto binding = static_cast<uint32_t>(i);
      writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
      writes[i].dstSet = set;
      writes[i].dstBinding = binding;
      writes[i].descriptorCount = 1;
      writes[i].descriptorType = descriptor_type(launch.texel_buffers, binding);
      if (writes[i].descriptorType == VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER) {
        texel_views[i] = buffers[i].buffer->texel_view(buffers[i].offset, buffers[i].bytes);
        writes[i].pTexelBufferView = &texel_views[i];
      } else {
        infos[i] = {buffers[i].buffer->handle(), buffers[i].offset, buffers[i].whole ? VK_WHOLE_SIZE : buffers[i].bytes};
        writes[i].pBufferInfo = &infos[i];
      }
    }
    vkUpdateDescriptorSets(device_->handle(), static_cast<uint32_t>(writes.size()), writes.data(), 0, nullptr);
  }
  std::array<std::byte, kMaxParamsBytes> push{};  // zero padding up to a whole 4-byte word
  std::copy(launch.params.begin(), launch.params.end(), push.begin());
  target.recorder.dispatch(pipeline, set, {push.data(), push_bytes}, launch.groups);
  for (const Range& range : buffers) target.buffers_in_use.push_back(range.buffer->shared_from_this());
}

// ---- submission ---------------------------------------------------------------------------

VulkanBackend::EagerBatch& VulkanBackend::eager_batch() {
  if (eager_) return *eager_;
  VkCommandBuffer command_buffer = VK_NULL_HANDLE;
  if (!free_command_buffers_.empty()) {
    command_buffer = free_command_buffers_.back();
    free_command_buffers_.pop_back();
  } else {
    VkCommandBufferAllocateInfo info{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    info.commandPool = command_pool_;
    info.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    info.commandBufferCount = 1;
    check(vkAllocateCommandBuffers(device_->handle(), &info, &command_buffer), "vkAllocateCommandBuffers");
  }
  eager_.emplace(EagerBatch{command_buffer, {}, DescriptorArena(descriptor_pools_), {}});
  try {
    eager_->recorder.begin(command_buffer, VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT);
  } catch (...) {
    free_command_buffers_.push_back(command_buffer);
    eager_.reset();
    throw;
  }
  return *eager_;
}

void VulkanBackend::flush() {
  if (!eager_) return;
  EagerBatch batch = std::move(*eager_);
  eager_.reset();
  try {
    batch.recorder.end();
  } catch (...) {
    free_command_buffers_.push_back(batch.command_buffer);
    throw;
  }
  Submission submission;
  submission.command_buffer = batch.command_buffer;
  submission.eager = true;
  submission.descriptors.emplace(std::move(batch.descriptors));
  submission.buffers_in_use = std::move(batch.buffers_in_use);
  submit(std::move(submission));
}

uint64_t VulkanBackend::submit(Submission submission) {
  VkFence fence = VK_NULL_HANDLE;
  if (!free_fences_.empty()) {
    fence = free_fences_.back();
    free_fences_.pop_back();
  } else {
    VkFenceCreateInfo info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    check(vkCreateFence(device_->handle(), &info, nullptr, &fence), "vkCreateFence");
    all_fences_.push_back(fence);
  }
  VkSubmitInfo info{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  info.commandBufferCount = 1;
  info.pCommandBuffers = &submission.command_buffer;
  const VkResult result = vkQueueSubmit(device_->queue(), 1, &info, fence);
  if (result != VK_SUCCESS) {
    free_fences_.push_back(fence);
    if (submission.eager) free_command_buffers_.push_back(submission.command_buffer);
    check(result, "vkQueueSubmit");
  }
  submission.id = next_submission_id_++;
  submission.fence = fence;
  in_flight_.push_back(std::move(submission));
  return in_flight_.back().id;
}

void VulkanBackend::wait_for(uint64_t submission) {
  while (!in_flight_.empty() && in_flight_.front().id <= submission) {
    check(vkWaitForFences(device_->handle(), 1, &in_flight_.front().fence, VK_TRUE, UINT64_MAX), "vkWaitForFences");
    retire_oldest();
  }
}

void VulkanBackend::retire_oldest() {
  Submission& done = in_flight_.front();
  check(vkResetFences(device_->handle(), 1, &done.fence), "vkResetFences");
  free_fences_.push_back(done.fence);
  if (done.eager) free_command_buffers_.push_back(done.command_buffer);
  in_flight_.pop_front();  // resets its descriptor pools and releases the buffers it used
}

void VulkanBackend::drain() {
  flush();
  wait_for(next_submission_id_ - 1);
}

void VulkanBackend::synchronize() {
  try {
    check_no_recording("synchronize()");
    drain();
  } catch (...) {
    rethrow_with_context("synchronize");
  }
}

uint64_t VulkanBackend::submit_plan(VkCommandBuffer command_buffer, uint64_t previous_submission) {
  try {
    check_no_recording("replay()");
    flush();
    wait_for(previous_submission);  // without SIMULTANEOUS_USE it must not be pending twice
    Submission submission;
    submission.command_buffer = command_buffer;
    return submit(std::move(submission));
  } catch (...) {
    rethrow_with_context("replaying a recorded plan");
  }
}

std::unique_ptr<RecordedPlan> VulkanBackend::record(const std::function<void()>& body) {
  if (recording_) throw std::logic_error(device_->label() + ": record() inside record()");
  auto plan = std::make_unique<VulkanRecordedPlan>(shared_from_this());
  recording_ = plan.get();
  try {
    body();
  } catch (...) {
    recording_ = nullptr;
    throw;
  }
  recording_ = nullptr;
  plan->finish_recording();
  return plan;
}

}  // namespace pq::rt::vulkan
