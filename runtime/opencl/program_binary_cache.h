// Program binaries on disk, so that a device compiles each cl/*.cl file once rather than once
// per process (pocl's first build of a file costs seconds). Files live in
//   $PORTAQUANT_CACHE_DIR, else $XDG_CACHE_HOME/portaquant, else ~/.cache/portaquant
// under opencl/<key>.bin, where the key hashes everything that can change the binary. The
// cache is an optimisation only: reading or writing it never throws.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace pq::rt::opencl {

// FNV-1a, 64-bit. Each part is hashed with its length, so ("ab", "c") and ("a", "bc") differ.
class Fnv1a64 {
 public:
  void add(std::string_view part);
  uint64_t value() const { return hash_; }

 private:
  void add_bytes(const void* data, size_t size);
  uint64_t hash_ = 14695981039346656037ull;
};

struct ProgramIdentity {
  std::string_view platform_name;
  std::string_view platform_version;
  std::string_view device_name;
  std::string_view device_version;
  std::string_view driver_version;
  std::string_view build_options;
  std::string_view source;  // the full text compiled, headers included
};

uint64_t program_key(const ProgramIdentity& identity);

// <cache root>/opencl, or nothing when no cache root can be named (no HOME).
std::optional<std::filesystem::path> program_cache_directory();
std::filesystem::path program_binary_path(const std::filesystem::path& directory, uint64_t key);

// The binary stored at `path`, or nothing when it is missing, truncated or corrupt.
std::optional<std::string> read_program_binary(const std::filesystem::path& path);
// Replaces `path` atomically; returns an explanation on failure instead of throwing.
std::optional<std::string> write_program_binary(const std::filesystem::path& path, std::string_view binary);

}  // namespace pq::rt::opencl
