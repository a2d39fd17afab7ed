// The conformance suite under ctest: one test per op × device, registered at start-up from the
// op registry and the devices present. PORTAQUANT_REQUIRE_APIS=opencl,vulkan (set in CI) makes a
// missing API a failure instead of a silently shorter suite.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <sstream>

#include "runtime/conformance.h"

namespace {

using pq::rt::Device;

class OpOnDevice : public ::testing::Test {
 public:
  OpOnDevice(std::string op, std::string device) : op_(std::move(op)), device_(std::move(device)) {}
  void TestBody() override {
    const std::vector<Device> devices{Device::open(device_)};
    pq::rt::ConformanceOptions options;
    options.op_pattern = op_;
    const auto results = pq::rt::run_conformance(devices, options);
    ASSERT_EQ(results.size(), 1u);
    RecordProperty("worst_nmse", std::to_string(results[0].worst_nmse()));
    EXPECT_TRUE(results[0].passed()) << pq::rt::format_conformance_table(results);
  }

 private:
  std::string op_;
  std::string device_;
};

std::vector<std::string> required_apis() {
  std::vector<std::string> apis;
  const char* env = std::getenv("PORTAQUANT_REQUIRE_APIS");
  std::stringstream s(env ? env : "");
  for (std::string api; std::getline(s, api, ',');) {
    if (!api.empty()) apis.push_back(api);
  }
  return apis;
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const auto listing = pq::rt::list_devices();
  for (const auto& api : required_apis()) {
    bool present = false;
    for (const auto& d : listing.devices) present = present || pq::rt::api_name(d.api) == api;
    if (!present) {
      std::fprintf(stderr, "conformance: PORTAQUANT_REQUIRE_APIS names %s, but no such device is available\n", api.c_str());
      for (const auto& reason : listing.unavailable) std::fprintf(stderr, "  %s\n", reason.c_str());
      return 1;
    }
  }
  // Each device with its default kernel tiers, every op; then with each of its other tier sets
  // ("vulkan:0/baseline", ...), the ops whose kernels read the tiers.
  for (const auto& d : listing.devices) {
    if (d.api == pq::rt::Api::Cpu) continue;
    std::vector<std::string> devices{d.id()};
    for (const auto& profile : pq::rt::tier_profile_ids(d)) devices.push_back(profile);
    for (const auto& device : devices) {
      std::string suite = "Conformance_" + device;
      for (auto& ch : suite) ch = std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
      for (const auto& op : pq::rt::all_ops()) {
        if (device != d.id() && !op.reads_tiers) continue;
        ::testing::RegisterTest(suite.c_str(), op.name.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                                [op = op.name, device]() -> ::testing::Test* { return new OpOnDevice(op, device); });
      }
    }
  }
  return RUN_ALL_TESTS();
}
