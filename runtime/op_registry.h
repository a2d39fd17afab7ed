// The single op registry: every op has a shape/parameter check, a CPU reference that is the
// ground truth, a device encoder shared by the OpenCL and Vulkan backends (it only emits
// KernelLaunch records), and the parameter sets the conformance suite runs.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host/tensor.h"
#include "runtime/backend.h"

namespace pq::rt {

class OpParams {
 public:
  OpParams() = default;
  OpParams(std::initializer_list<std::pair<const std::string, double>> values) : values_(values) {}
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  double get(const std::string& name) const;  // throws naming the parameter
  double get(const std::string& name, double fallback) const { return has(name) ? values_.at(name) : fallback; }
  int64_t get_int(const std::string& name) const { return static_cast<int64_t>(get(name)); }
  int64_t get_int(const std::string& name, int64_t fallback) const { return static_cast<int64_t>(get(name, static_cast<double>(fallback))); }
  void set(const std::string& name, double value) { values_[name] = value; }
  std::string to_string() const;  // "k=3 n=7"

 private:
  std::map<std::string, double> values_;
};

struct TensorSpec {
  DType dtype;
  Shape shape;
  bool operator==(const TensorSpec&) const = default;
};

struct DeviceTensor {
  std::shared_ptr<DeviceBuffer> buffer;
  DType dtype;
  Shape shape;
  int64_t numel() const { return shape_numel(shape); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype); }
};

// What an encoder may do on a device.
class EncodeContext {
 public:
  explicit EncodeContext(Backend& backend) : backend_(backend) {}
  const DeviceInfo& device() const { return backend_.info(); }
  void launch(const KernelLaunch& launch) { backend_.launch(launch); }
  // For work a backend offers beyond kernel launches (e.g. opencl_sgemm through CLBlast).
  Backend& backend() { return backend_; }
  // Scratch memory that lives as long as the op's launches need it (until the next sync).
  DeviceBuffer* scratch(size_t bytes);
  std::shared_ptr<DeviceBuffer> scratch_buffer(size_t bytes);  // the same, shared
  // A window of `buffer` (Backend::view) that lives as long as the op's launches need it.
  DeviceBuffer* view(const std::shared_ptr<DeviceBuffer>& buffer, size_t offset, size_t bytes);

 private:
  Backend& backend_;
  std::vector<std::shared_ptr<DeviceBuffer>> scratch_;
};

// How an output is compared with the reference in the conformance suite.
struct OutputCheck {
  bool exact = false;      // integer outputs: codes, packed bytes, int32 accumulators
  double nmse_bound = 1e-7;
  std::string why;         // the reason for any bound looser than the default
};

struct OpCase {
  std::string label;       // shapes and parameters, for the report
  std::vector<Tensor> inputs;
  OpParams params;
};

// Output `output` of an op is input `input` updated in place: it has that input's spec, the
// device writes into the input's buffer (callers pass the same buffer as both, nothing is
// allocated), while the reference stays a pure function that returns the updated tensor.
// A KV cache written on the device during a recorded plan is one.
struct InPlace {
  size_t output;
  size_t input;
};

struct OpDef {
  std::string name;
  std::string summary;
  std::function<std::vector<TensorSpec>(const std::vector<TensorSpec>& inputs, const OpParams& params)> infer;
  std::function<std::vector<Tensor>(const std::vector<Tensor>& inputs, const OpParams& params)> reference;
  std::function<void(EncodeContext& ctx, const std::vector<DeviceTensor>& inputs,
                     const std::vector<DeviceTensor>& outputs, const OpParams& params)>
      encode;
  std::function<std::vector<OpCase>()> cases;
  std::vector<OutputCheck> checks;  // one per output
  std::vector<InPlace> in_place;    // outputs that are inputs updated in place
  bool reads_tiers = false;         // its kernels differ by the device's kernel tiers (runtime/kernel_tiers.h)
};

// The input that output `output` of `op` updates in place, if any.
std::optional<size_t> in_place_input(const OpDef& op, size_t output);

// All ops, in registration order.
const std::vector<OpDef>& all_ops();
const OpDef& find_op(const std::string& name);  // throws listing the known ops

// Shape/dtype errors name the op: "op 'add': ...".
[[noreturn]] void op_error(const std::string& op, const std::string& message);
std::string describe(const std::vector<TensorSpec>& specs);

// The specs of host or device tensors, for infer.
std::vector<TensorSpec> tensor_specs(const std::vector<Tensor>& tensors);
std::vector<TensorSpec> tensor_specs(const std::vector<DeviceTensor>& tensors);

}  // namespace pq::rt
