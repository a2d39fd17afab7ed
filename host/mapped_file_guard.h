// Files read through a memory map raise SIGBUS when another process truncates them while they
// are mapped: the pages past the new end are gone. Mappings register here, and a SIGBUS handler
// (installed by programs that want it: the CLI does) turns a fault inside a registered mapping
// into one error line naming the file and exit code 1, instead of a crash.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace pq {

// Registers [address, address + size) as a map of `path` for the lifetime of the object.
class MappedRange {
 public:
  MappedRange(const void* address, size_t size, const std::filesystem::path& path);
  ~MappedRange();
  MappedRange(const MappedRange&) = delete;
  MappedRange& operator=(const MappedRange&) = delete;

 private:
  int slot_;
};

// Installs the SIGBUS handler. A fault inside a registered mapping writes
// "<prefix><path>: the file was truncated or replaced while it was being read\n" to stderr and
// exits with `exit_code`; any other SIGBUS keeps its default action (a crash, as before).
void install_mapped_file_fault_handler(const std::string& prefix, int exit_code);

}  // namespace pq
