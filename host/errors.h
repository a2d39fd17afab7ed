// Exception types shared by the front end. I/O failures (missing file, full disk) stay
// std::system_error; caller mistakes stay std::invalid_argument / std::out_of_range.
#pragma once

#include <stdexcept>

namespace pq {

// A file exists and was read, but its contents break the format (safetensors, checkpoint
// index, ...). The message names the file and, where there is one, the tensor.
struct FormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace pq
