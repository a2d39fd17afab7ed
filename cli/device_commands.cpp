#include "cli/device_commands.h"

#include <cstdio>
#include <iomanip>

#include <nlohmann/json.hpp>

#include "runtime/conformance.h"
#include "runtime/device.h"
#include "runtime/opencl/opencl_backend.h"

namespace pq::cli {
namespace {

std::string mib(uint64_t bytes) { return bytes ? std::to_string(bytes >> 20) + " MiB" : "-"; }
std::string yes_no(bool v) { return v ? "yes" : "no"; }

void print_device(const rt::DeviceInfo& d, std::ostream& out) {
  out << d.id() << ": " << d.name << (d.vendor.empty() ? "" : " (" + d.vendor + ")") << "\n";
  if (d.api == rt::Api::Cpu) {
    out << "    the reference backend: host C++, the ground truth of the conformance suite\n";
    return;
  }
  out << "    type " << d.device_type << ", API " << d.api_version << ", driver " << d.driver_version << "\n"
      << "    memory " << mib(d.memory_bytes) << ", max buffer " << mib(d.max_buffer_bytes) << ", shared memory "
      << (d.shared_memory_bytes >> 10) << " KiB\n"
      << "    fp16 storage " << yes_no(d.fp16_storage) << ", fp16 arithmetic " << yes_no(d.fp16_arithmetic)
      << ", int8 storage " << yes_no(d.int8_storage) << ", integer dot product " << yes_no(d.integer_dot_product) << "\n"
      << "    subgroup size " << (d.subgroup_size ? std::to_string(d.subgroup_size) : std::string("-"))
      << ", max workgroup size " << d.max_workgroup_size << "\n"
      << "    kernel tiers " << rt::tier_list(d.tiers) << " (supported: " << rt::tier_list(d.supported_tiers) << ")\n";
}

nlohmann::json device_json(const rt::DeviceInfo& d) {
  return {{"id", d.id()},
          {"name", d.name},
          {"vendor", d.vendor},
          {"type", d.device_type},
          {"api_version", d.api_version},
          {"driver_version", d.driver_version},
          {"memory_bytes", d.memory_bytes},
          {"max_buffer_bytes", d.max_buffer_bytes},
          {"shared_memory_bytes", d.shared_memory_bytes},
          {"fp16_storage", d.fp16_storage},
          {"fp16_arithmetic", d.fp16_arithmetic},
          {"int8_storage", d.int8_storage},
          {"integer_dot_product", d.integer_dot_product},
          {"subgroup_size", d.subgroup_size},
          {"max_workgroup_size", d.max_workgroup_size},
          {"kernel_tiers", rt::tier_list(d.tiers)},
          {"supported_kernel_tiers", rt::tier_list(d.supported_tiers)}};
}

nlohmann::json conformance_json(const std::vector<rt::ConformanceResult>& results) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : results) {
    nlohmann::json dtypes = nlohmann::json::object();
    for (const auto& [dtype, worst] : r.by_dtype) {
      dtypes[std::string(dtype_name(dtype))] = {{"cases", worst.cases}, {"all_exact", worst.all_exact}, {"worst_nmse", worst.worst_nmse}};
    }
    rows.push_back({{"op", r.op}, {"device", r.device}, {"cases", r.cases}, {"failed", r.failed}, {"passed", r.passed()},
                    {"by_dtype", dtypes}, {"failures", r.failures}});
  }
  return rows;
}

}  // namespace

void run_devices(std::ostream& out, bool json) {
  const rt::DeviceListing listing = rt::list_devices();
  if (json) {
    nlohmann::json devices = nlohmann::json::array();
    for (const auto& d : listing.devices) devices.push_back(device_json(d));
    out << nlohmann::json{{"devices", devices}, {"unavailable", listing.unavailable}}.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
        << "\n";
    return;
  }
  for (const auto& d : listing.devices) print_device(d, out);
  for (const auto& reason : listing.unavailable) out << "unavailable: " << reason << "\n";
}

int run_conformance_command(const ConformanceArgs& args, std::ostream& out) {
  std::vector<rt::Device> devices;
  for (const auto& spec : args.devices.empty() ? rt::available_device_ids(false) : args.devices) {
    devices.push_back(rt::Device::open(spec));
    if (args.default_tiers_only) continue;
    for (const auto& profile : rt::tier_profile_ids(devices.back().info())) devices.push_back(rt::Device::open(profile));
  }
  if (devices.empty()) throw std::runtime_error("no OpenCL or Vulkan device to test (see `portaquant devices`)");
  rt::ConformanceOptions options;
  options.op_pattern = args.op_pattern;
  options.on_result = [](const rt::ConformanceResult& r) {
    std::fprintf(stderr, "%s on %s: %d cases, %s\n", r.op.c_str(), r.device.c_str(), r.cases, r.passed() ? "pass" : "FAIL");
  };
  const auto results = rt::run_conformance(devices, options);
  if (results.empty()) throw std::runtime_error("no op matches '" + args.op_pattern + "'");
  // How a user (and CI) sees that a second run compiles nothing on OpenCL.
  const auto programs = rt::opencl_program_stats();
  if (args.json) {
    const nlohmann::json j = {{"results", conformance_json(results)},
                              {"opencl_programs", {{"built_from_source", programs.source_builds}, {"from_binary_cache", programs.cache_hits}}}};
    out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    out << rt::format_conformance_table(results);
    out << "opencl programs: " << programs.source_builds << " built from source, " << programs.cache_hits
        << " loaded from the binary cache\n";
  }
  for (const auto& r : results) {
    if (!r.passed()) return 1;
  }
  return 0;
}

}  // namespace pq::cli
