// `portaquant devices` and `portaquant conformance`.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace pq::cli {

void run_devices(std::ostream& out, bool json = false);

struct ConformanceArgs {
  std::vector<std::string> devices;  // empty: every available non-CPU device
  std::string op_pattern = "*";
  bool json = false;  // one JSON object instead of the table
  bool default_tiers_only = false;  // skip the other kernel tiers of devices named without tiers
};
// Returns the process exit code: 0 when every op passes on every device.
int run_conformance_command(const ConformanceArgs& args, std::ostream& out);

}  // namespace pq::cli
