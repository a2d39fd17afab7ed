#include "runtime/opencl/program_binary_cache.h"

#include "runtime/cache_dir.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "host/atomic_file.h"

namespace pq::rt::opencl {
namespace {

// File layout: magic, payload size, FNV-1a of the payload, payload. The check catches a file
// damaged after it was written; handing a driver a damaged binary can crash it.
constexpr std::string_view kMagic = "PQCLBIN1";
constexpr size_t kHeaderBytes = kMagic.size() + 2 * sizeof(uint64_t);
// Bump when the key's parts or the file layout change, so old files are simply not found.
constexpr std::string_view kFormatTag = "portaquant-opencl-binary-v1";

uint64_t payload_hash(std::string_view payload) {
  Fnv1a64 hash;
  hash.add(payload);
  return hash.value();
}

void append_u64(std::string& out, uint64_t value) {
  char bytes[sizeof value];
  std::memcpy(bytes, &value, sizeof value);
  out.append(bytes, sizeof value);
}

uint64_t read_u64(std::string_view bytes, size_t offset) {
  uint64_t value = 0;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

}  // namespace

void Fnv1a64::add_bytes(const void* data, size_t size) {
  const auto* bytes = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < size; ++i) {
    hash_ ^= bytes[i];
    hash_ *= 1099511628211ull;
  }
}

void Fnv1a64::add(std::string_view part) {
  const uint64_t length = part.size();
  add_bytes(&length, sizeof length);
  add_bytes(part.data(), part.size());
}

uint64_t program_key(const ProgramIdentity& id) {
  Fnv1a64 hash;
  for (std::string_view part : {kFormatTag, id.platform_name, id.platform_version, id.device_name, id.device_version,
                                id.driver_version, id.build_options, id.source}) {
    hash.add(part);
  }
  return hash.value();
}

std::optional<std::filesystem::path> program_cache_directory() { return kernel_cache_dir("opencl"); }

std::filesystem::path program_binary_path(const std::filesystem::path& directory, uint64_t key) {
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.bin", static_cast<unsigned long long>(key));
  return directory / name;
}

std::optional<std::string> read_program_binary(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (file.size() < kHeaderBytes || std::string_view(file).substr(0, kMagic.size()) != kMagic) return std::nullopt;
  const uint64_t size = read_u64(file, kMagic.size());
  const uint64_t hash = read_u64(file, kMagic.size() + sizeof(uint64_t));
  if (size == 0 || size != file.size() - kHeaderBytes) return std::nullopt;
  std::string payload = file.substr(kHeaderBytes);
  if (payload_hash(payload) != hash) return std::nullopt;
  return payload;
}

std::optional<std::string> write_program_binary(const std::filesystem::path& path, std::string_view binary) {
  try {
    std::filesystem::create_directories(path.parent_path());
    std::string file(kMagic);
    append_u64(file, binary.size());
    append_u64(file, payload_hash(binary));
    file.append(binary);
    pq::write_file_atomically(path, file);
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
}

}  // namespace pq::rt::opencl
