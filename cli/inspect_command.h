// `portaquant inspect FILE_OR_DIR`: every tensor with dtype, shape and bytes, the qtypes from
// quanto_qmap.json, totals and the compression ratio against the float model.
#pragma once

#include <filesystem>
#include <ostream>

namespace pq::cli {

void run_inspect(const std::filesystem::path& path, std::ostream& out);

}  // namespace pq::cli
