// Runs registry ops on one device for a model forward: the op references on "cpu", encoded
// kernels on OpenCL/Vulkan with values left on the device between ops (nothing is downloaded
// until read()). Constants (weights, scales) are uploaded once and cached under a key.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/device.h"

namespace pq::rt::model {

// A value flowing through the model: a host tensor on "cpu", a device tensor elsewhere.
struct Value {
  Tensor host;
  DeviceTensor device;
  DType dtype = DType::F32;
  Shape shape;
};

class Executor {
 public:
  explicit Executor(const Device& device) : device_(device) {}

  const Device& device() const { return device_; }
  Value input(const Tensor& t);
  // Uploaded at the first use of `key`; later calls return the cached value.
  Value constant(const std::string& key, const Tensor& t);
  bool has_constant(const std::string& key) const { return constants_.count(key) != 0; }
  void clear_constants() { constants_.clear(); }

  // An output the op updates in place (OpDef::in_place, e.g. kv_write's cache) is the input's
  // device buffer, written by the op; on "cpu" it is the reference's new tensor. Either way,
  // use the returned value from then on, not the input.
  std::vector<Value> run(const std::string& op, const std::vector<Value>& inputs, const OpParams& params = {});
  Value run1(const std::string& op, const std::vector<Value>& inputs, const OpParams& params = {}) {
    return run(op, inputs, params).at(0);
  }
  // Same data, another shape (a view).
  Value reshape(const Value& v, Shape shape) const;
  // Waits for the device and copies the value back.
  Tensor read(const Value& v);
  // Waits for the device; buffers kept alive for pending launches are released.
  void finish();
  // Hands over what must outlive a recorded plan (outputs, scratch memory).
  void move_keepalive_to(std::vector<std::shared_ptr<void>>& out);
  // Bytes of the op outputs allocated on the device since the last reset (device memory reports:
  // what a recorded plan keeps for its intermediates).
  uint64_t allocated_bytes() const { return allocated_bytes_; }
  void reset_allocated_bytes() { allocated_bytes_ = 0; }

 private:
  const Device& device_;
  std::map<std::string, Value> constants_;
  std::vector<std::shared_ptr<void>> keepalive_;  // until finish(): launches may still read them
  uint64_t allocated_bytes_ = 0;
};

}  // namespace pq::rt::model
