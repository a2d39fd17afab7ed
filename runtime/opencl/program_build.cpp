#include "runtime/opencl/program_build.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <vector>

#include "runtime/opencl/cl_error.h"
#include "runtime/opencl/opencl_backend.h"
#include "runtime/opencl/program_binary_cache.h"

namespace pq::rt {
namespace {
std::atomic<int> g_cache_hits{0};
std::atomic<int> g_source_builds{0};
}  // namespace

OpenCLProgramStats opencl_program_stats() { return {g_cache_hits.load(), g_source_builds.load()}; }

}  // namespace pq::rt

namespace pq::rt::opencl {
namespace {

using Clock = std::chrono::steady_clock;

bool verbose() {
  const char* value = std::getenv("PORTAQUANT_VERBOSE");
  return value && std::strcmp(value, "1") == 0;
}

std::string seconds_since(Clock::time_point start) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f s", std::chrono::duration<double>(Clock::now() - start).count());
  return text;
}

void report(const std::string& line) {
  if (verbose()) std::fprintf(stderr, "opencl: %s\n", line.c_str());
}

std::string build_log(cl_program program, cl_device_id device) {
  size_t bytes = 0;
  if (clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, 0, nullptr, &bytes) != CL_SUCCESS || bytes == 0) return {};
  std::string log(bytes, '\0');
  clGetProgramBuildInfo(program, device, CL_PROGRAM_BUILD_LOG, bytes, log.data(), nullptr);
  while (!log.empty() && (log.back() == '\0' || log.back() == '\n')) log.pop_back();
  return log;
}

// The device's binary of a built program; empty when the driver offers none.
std::string program_binary(cl_program program) {
  size_t size = 0;
  if (clGetProgramInfo(program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, nullptr) != CL_SUCCESS || size == 0) return {};
  std::string binary(size, '\0');
  unsigned char* destination = reinterpret_cast<unsigned char*>(binary.data());
  if (clGetProgramInfo(program, CL_PROGRAM_BINARIES, sizeof destination, &destination, nullptr) != CL_SUCCESS) return {};
  return binary;
}

// Any failure means "not usable": the caller builds from source instead.
std::optional<ProgramHandle> program_from_binary(const OpenCLContext& device, const std::string& binary,
                                                 const std::string& options) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(binary.data());
  const size_t size = binary.size();
  cl_int binary_status = CL_SUCCESS;
  cl_int status = CL_SUCCESS;
  ProgramHandle program(
      clCreateProgramWithBinary(device.context.get(), 1, &device.device, &size, &bytes, &binary_status, &status));
  if (status != CL_SUCCESS || binary_status != CL_SUCCESS) return std::nullopt;
  if (clBuildProgram(program.get(), 1, &device.device, options.c_str(), nullptr, nullptr) != CL_SUCCESS) return std::nullopt;
  return program;
}

ProgramHandle program_from_source(const OpenCLContext& device, const std::string& file, const std::string& source,
                                  const std::string& options) {
  const char* text = source.c_str();
  const size_t length = source.size();
  cl_int status = CL_SUCCESS;
  ProgramHandle program(clCreateProgramWithSource(device.context.get(), 1, &text, &length, &status));
  if (status != CL_SUCCESS) throw_cl_error(status, device.device_name(), "creating program cl/" + file);
  status = clBuildProgram(program.get(), 1, &device.device, options.c_str(), nullptr, nullptr);
  if (status != CL_SUCCESS) {
    throw std::runtime_error("opencl: building cl/" + file + " for " + device.device_name() + " failed (" +
                             describe_cl_status(status) + "); build log:\n" + build_log(program.get(), device.device));
  }
  return program;
}

std::optional<std::filesystem::path> cache_path(const OpenCLContext& device, const std::string& source,
                                                const std::string& options) {
  const auto directory = program_cache_directory();
  if (!directory) return std::nullopt;
  const ProgramIdentity identity{device.platform_name, device.platform_version, device.info.name,
                                 device.info.api_version, device.info.driver_version, options, source};
  return program_binary_path(*directory, program_key(identity));
}

void store(const OpenCLContext& device, const std::filesystem::path& path, cl_program program) {
  const std::string binary = program_binary(program);
  if (binary.empty()) {
    report("no binary to cache for " + device.device_name());
    return;
  }
  if (const auto problem = write_program_binary(path, binary)) report("cannot write the program cache: " + *problem);
}

}  // namespace

ProgramHandle build_program(const OpenCLContext& device, const std::string& file, const std::string& source,
                            const std::string& options) {
  const auto start = Clock::now();
  const auto path = cache_path(device, source, options);
  if (path) {
    if (const auto binary = read_program_binary(*path)) {
      if (auto program = program_from_binary(device, *binary, options)) {
        ++g_cache_hits;
        report("loaded cl/" + file + " from cache for " + device.device_name() + " in " + seconds_since(start));
        return std::move(*program);
      }
    }
  }
  ProgramHandle program = program_from_source(device, file, source, options);
  ++g_source_builds;
  report("built cl/" + file + " from source for " + device.device_name() + " in " + seconds_since(start));
  if (path) store(device, *path, program.get());
  return program;
}

}  // namespace pq::rt::opencl
