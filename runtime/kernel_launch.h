// One dispatch of a compute kernel, described the same way for OpenCL and Vulkan so that the
// code choosing launches (runtime/ops) is written once:
//   - `kernel` names the `__kernel` function in cl/*.cl and the shader variant from shaders/*.comp;
//   - buffers[i] is kernel argument i (OpenCL) and binding i of set 0 (Vulkan: a storage
//     buffer, or a uniform texel buffer where texel_buffers has bit i);
//   - `params` is a block of 4-byte scalars: the last kernel argument, passed by value (OpenCL),
//     and the push-constant block (Vulkan); both see the same layout;
//   - the grid is given in workgroups, with the workgroup size (Vulkan: specialization
//     constants 0..2; OpenCL: the local size); `constants` are specialization constants 3...
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

namespace pq::rt {

class DeviceBuffer;

inline constexpr size_t kMaxParamsBytes = 128;  // Vulkan guarantees 128 bytes of push constants

struct KernelLaunch {
  std::string kernel;
  std::vector<DeviceBuffer*> buffers;
  std::vector<std::byte> params;
  std::array<uint32_t, 3> groups{1, 1, 1};
  std::array<uint32_t, 3> local{1, 1, 1};
  // Vulkan: values of specialization constants 3, 4, ... (choices a shader compiles in, so a
  // pipeline holds only the code they select; each distinct set is a pipeline of its own).
  // OpenCL kernels ignore them and read the same choices from `params`.
  std::vector<uint32_t> constants;
  // Vulkan: bit i set where the kernel reads buffers[i] as a uniform texel buffer of 16-byte
  // texels (usamplerBuffer, VK_FORMAT_R32G32B32A32_UINT) instead of a storage buffer: llvmpipe
  // fetches a texel per lane in one load, a storage buffer's uvec4 in four tested ones.
  // OpenCL ignores it.
  uint32_t texel_buffers = 0;

  template <class Params>
  void set_params(const Params& p) {
    static_assert(std::is_trivially_copyable_v<Params> && sizeof(Params) % 4 == 0 && sizeof(Params) <= kMaxParamsBytes,
                  "kernel parameters are 4-byte scalars, 128 bytes at most");
    params.resize(sizeof(Params));
    std::memcpy(params.data(), &p, sizeof(Params));
  }
};

inline uint32_t ceil_div(uint64_t n, uint64_t d) { return static_cast<uint32_t>((n + d - 1) / d); }

}  // namespace pq::rt
