// `portaquant inspect FILE_OR_DIR`: every tensor with dtype, shape and bytes, the qtypes from
// quanto_qmap.json, totals and the compression ratio against the float model; --json gives the
// same as one JSON object.
#pragma once

#include <filesystem>
#include <ostream>

namespace pq::cli {

struct InspectArgs {
  std::filesystem::path path;
  bool json = false;
};

void run_inspect(const InspectArgs& args, std::ostream& out);

}  // namespace pq::cli
