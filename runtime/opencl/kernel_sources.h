// Which cl/*.cl file defines which kernel, and the text each file is compiled from.
// Files whose name starts with "common" are headers: they are put in front of every other
// file, so kernels use their helpers without #include (the embedded sources have no paths).
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/embedded_kernels.h"

namespace pq::rt::opencl {

class KernelSources {
 public:
  // Throws std::logic_error when two files define the same kernel: a launch could not say which.
  explicit KernelSources(std::span<const EmbeddedOpenCLSource> files);

  // The sources compiled into this library, indexed once per process.
  static const KernelSources& embedded();

  // The file defining `kernel`, e.g. "elementwise.cl"; throws std::runtime_error when none does.
  const std::string& file_defining(std::string_view kernel) const;
  // Every header, then the file, each after a #line marker so that build logs give the line
  // numbers of the original file. Throws std::out_of_range for an unknown file.
  const std::string& program_source(std::string_view file) const;

 private:
  std::map<std::string, std::string, std::less<>> program_sources_;  // by file
  std::map<std::string, std::string, std::less<>> kernel_files_;     // kernel -> file
};

// The names of the `__kernel void NAME(` / `kernel void NAME(` definitions in `source`,
// skipping comments.
std::vector<std::string> kernel_names_in(std::string_view source);

}  // namespace pq::rt::opencl
