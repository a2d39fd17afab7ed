#include "runtime/device.h"

#include <cstdlib>
#include <stdexcept>
#include <thread>

#include "runtime/api_backends.h"

namespace pq::rt {

#ifndef PORTAQUANT_HAVE_OPENCL
std::vector<DeviceInfo> opencl_devices() { throw std::runtime_error("not compiled in (configure with -DPORTAQUANT_OPENCL=ON)"); }
std::shared_ptr<Backend> open_opencl_device(int, const std::optional<KernelTiers>&) { return nullptr; }
#endif
#ifndef PORTAQUANT_HAVE_VULKAN
std::vector<DeviceInfo> vulkan_devices() { throw std::runtime_error("not compiled in (configure with -DPORTAQUANT_VULKAN=ON)"); }
std::shared_ptr<Backend> open_vulkan_device(int, const std::optional<KernelTiers>&) { return nullptr; }
#endif

namespace {

DeviceInfo cpu_info() {
  DeviceInfo info;
  info.api = Api::Cpu;
  info.name = "reference (host C++)";
  info.device_type = "cpu";
  info.max_workgroup_size = std::max(1u, std::thread::hardware_concurrency());
  return info;
}

std::vector<DeviceInfo> devices_of(Api api, std::string* reason) {
  try {
    return api == Api::OpenCL ? opencl_devices() : vulkan_devices();
  } catch (const std::exception& e) {
    if (reason) *reason = std::string(api_name(api)) + ": " + e.what();
    return {};
  }
}

// The best of non-empty `devices`: a discrete GPU, then another GPU, then the first listed
// (list_devices puts OpenCL before Vulkan: pocl runs our kernels faster than lavapipe).
const DeviceInfo& best_of(const std::vector<DeviceInfo>& devices) {
  for (const char* type : {"discrete gpu", "gpu", "integrated gpu"}) {
    for (const auto& d : devices) {
      if (d.device_type == type) return d;
    }
  }
  return devices.front();
}

}  // namespace

size_t device_buffer_bytes(size_t tensor_bytes) { return std::max<size_t>(4, (tensor_bytes + 3) / 4 * 4); }

DeviceListing list_devices() {
  DeviceListing listing;
  listing.devices.push_back(cpu_info());
  for (Api api : {Api::OpenCL, Api::Vulkan}) {
    std::string reason;
    auto devices = devices_of(api, &reason);
    if (!reason.empty()) listing.unavailable.push_back(reason);
    else if (devices.empty()) listing.unavailable.push_back(std::string(api_name(api)) + ": no device");
    listing.devices.insert(listing.devices.end(), devices.begin(), devices.end());
  }
  return listing;
}

// "auto": the best OpenCL or Vulkan device, else the CPU reference.
std::string best_device_spec() {
  std::vector<DeviceInfo> devices;
  for (const auto& d : list_devices().devices) {
    if (d.api != Api::Cpu) devices.push_back(d);
  }
  return devices.empty() ? std::string("cpu") : best_of(devices).id();
}

std::vector<std::string> available_device_ids(bool include_cpu) {
  std::vector<std::string> ids;
  for (const auto& d : list_devices().devices) {
    if (include_cpu || d.api != Api::Cpu) ids.push_back(d.id());
  }
  return ids;
}

Device Device::open(const std::string& full_spec) {
  if (full_spec == "auto") return open(best_device_spec());
  Device device;
  if (full_spec == "cpu") {
    device.info_ = cpu_info();
    return device;
  }
  // "vulkan:0/baseline": the kernel tiers after the slash.
  const auto slash = full_spec.find('/');
  const std::string spec = full_spec.substr(0, slash);
  std::optional<KernelTiers> tiers;
  if (slash != std::string::npos) tiers = parse_tier_list(full_spec.substr(slash + 1), full_spec);
  const auto colon = spec.find(':');
  const std::string api_text = spec.substr(0, colon);
  if (api_text != "opencl" && api_text != "vulkan") {
    throw std::invalid_argument("unknown device '" + full_spec + "' (use auto, cpu, opencl, opencl:N, vulkan or vulkan:N, "
                                "optionally followed by /TIERS, e.g. vulkan:0/baseline)");
  }
  const Api api = api_text == "opencl" ? Api::OpenCL : Api::Vulkan;
  std::string reason;
  const auto devices = devices_of(api, &reason);
  if (devices.empty()) {
    throw std::runtime_error("device '" + spec + "' is not available: " + (reason.empty() ? api_text + ": no device" : reason));
  }
  int index = 0;
  if (colon == std::string::npos) {
    index = best_of(devices).index;
  } else {
    try {
      index = std::stoi(spec.substr(colon + 1));
    } catch (const std::exception&) {
      throw std::invalid_argument("bad device index in '" + spec + "'");
    }
    if (index < 0 || index >= static_cast<int>(devices.size())) {
      throw std::runtime_error("device '" + spec + "' does not exist: " + api_text + " has " +
                               std::to_string(devices.size()) + " device(s), 0.." + std::to_string(devices.size() - 1));
    }
  }
  device.backend_ = api == Api::OpenCL ? open_opencl_device(index, tiers) : open_vulkan_device(index, tiers);
  device.info_ = device.backend_->info();
  return device;
}

std::string default_device_spec() {
  const char* env = std::getenv("PORTAQUANT_DEVICE");
  return env && *env ? env : "cpu";
}

Device Device::open_default() { return open(default_device_spec()); }

Backend& Device::backend() const {
  if (!backend_) throw std::logic_error("the cpu device has no kernel backend");
  return *backend_;
}

DeviceTensor Device::upload(const Tensor& t) const {
  const Tensor c = t.contiguous();
  DeviceTensor d{backend().allocate(device_buffer_bytes(c.nbytes())), c.dtype(), c.shape()};
  if (c.nbytes()) backend().upload(*d.buffer, c.bytes());
  return d;
}

Tensor Device::download(const DeviceTensor& t) const {
  Tensor out = Tensor::zeros(t.dtype, t.shape);
  if (out.nbytes()) backend().download(*t.buffer, {out.raw_data(), out.nbytes()});
  return out;
}

std::vector<DeviceTensor> Device::outputs_for(const OpDef& op, const std::vector<DeviceTensor>& inputs,
                                              const std::vector<TensorSpec>& output_specs) const {
  std::vector<DeviceTensor> out;
  for (size_t i = 0; i < output_specs.size(); ++i) {
    const TensorSpec& s = output_specs[i];
    if (const auto input = in_place_input(op, i)) {
      out.push_back(inputs.at(*input));
      continue;
    }
    out.push_back(allocate(s));
  }
  return out;
}

DeviceTensor Device::allocate(const TensorSpec& spec) const {
  const size_t bytes = static_cast<size_t>(shape_numel(spec.shape)) * dtype_size(spec.dtype);
  return {backend().allocate(device_buffer_bytes(bytes)), spec.dtype, spec.shape};
}

std::vector<Tensor> Device::run(const OpDef& op, const std::vector<Tensor>& inputs, const OpParams& params) const {
  const std::vector<TensorSpec> out_specs = op.infer(tensor_specs(inputs), params);
  if (is_cpu()) return op.reference(inputs, params);
  std::vector<DeviceTensor> in;
  for (const auto& t : inputs) in.push_back(upload(t));
  const std::vector<DeviceTensor> out = outputs_for(op, in, out_specs);
  EncodeContext ctx(backend());
  op.encode(ctx, in, out, params);
  backend().synchronize();
  std::vector<Tensor> results;
  for (const auto& d : out) results.push_back(download(d));
  return results;
}

}  // namespace pq::rt
