// Devices by name: "cpu" (the reference backend), "opencl:N", "vulkan:N", "opencl"/"vulkan"
// for the best device of that API, or "auto" for the best device of all. An OpenCL or Vulkan
// spec may end in "/TIERS" to run other kernel tiers than the device's default
// (runtime/kernel_tiers.h: "vulkan:0/baseline", "vulkan/subgroup,dot"). The default comes
// from $PORTAQUANT_DEVICE, else "cpu".
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "host/tensor.h"
#include "runtime/backend.h"
#include "runtime/op_registry.h"

namespace pq::rt {

// Every device of every API compiled in; APIs that fail to initialise are skipped (their
// reason is kept for `portaquant devices`).
struct DeviceListing {
  std::vector<DeviceInfo> devices;
  std::vector<std::string> unavailable;  // "opencl: no platform found", ...
};
DeviceListing list_devices();
std::string best_device_spec();     // what "auto" opens
std::string default_device_spec();  // $PORTAQUANT_DEVICE, else "cpu"
// The ids of every device present ("cpu" first when asked for), for tools that run on all.
std::vector<std::string> available_device_ids(bool include_cpu);

// Device buffers hold whole 32-bit words: shaders without 8/16-bit storage read and write
// 8- and 16-bit tensors through uint words, so a tensor's last word must exist.
size_t device_buffer_bytes(size_t tensor_bytes);

class Device {
 public:
  static Device open(const std::string& spec);  // throws a clear message for unknown/missing devices
  static Device open_default();                 // $PORTAQUANT_DEVICE or "cpu"

  const DeviceInfo& info() const { return info_; }
  bool is_cpu() const { return backend_ == nullptr; }
  Backend& backend() const;  // throws on the CPU device

  DeviceTensor upload(const Tensor& t) const;
  // A fresh, uninitialised device tensor of that dtype and shape (its buffer whole words).
  DeviceTensor allocate(const TensorSpec& spec) const;
  Tensor download(const DeviceTensor& t) const;
  // The output tensors of `op` (specs from its infer): fresh buffers, except that an output the
  // op updates in place is the input's own buffer.
  std::vector<DeviceTensor> outputs_for(const OpDef& op, const std::vector<DeviceTensor>& inputs,
                                        const std::vector<TensorSpec>& output_specs) const;
  // Runs one registered op: the reference on "cpu", uploaded + encoded + downloaded otherwise
  // (an in-place output is the updated copy of its uploaded input).
  std::vector<Tensor> run(const OpDef& op, const std::vector<Tensor>& inputs, const OpParams& params) const;

 private:
  DeviceInfo info_;
  std::shared_ptr<Backend> backend_;
};

}  // namespace pq::rt
