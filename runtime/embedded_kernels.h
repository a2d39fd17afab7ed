// Kernel sources and binaries compiled into the library at build time (see runtime/CMakeLists.txt):
// the OpenCL C files of cl/ as text, and the SPIR-V of every shader variant of shaders/.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace pq::rt {

struct EmbeddedOpenCLSource {
  std::string_view file;    // "elementwise.cl"
  std::string_view source;
};

struct EmbeddedSpirv {
  std::string_view kernel;  // variant name, as in KernelLaunch::kernel
  std::span<const uint32_t> words;
};

std::span<const EmbeddedOpenCLSource> embedded_opencl_sources();
std::span<const EmbeddedSpirv> embedded_spirv();

}  // namespace pq::rt
