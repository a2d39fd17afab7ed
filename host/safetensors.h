// Reading and writing safetensors files (huggingface/safetensors, the format optimum-quanto
// saves to). Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON, then the
// tensors' bytes. The reader validates the whole header when a file is opened and throws
// pq::FormatError naming the file and the tensor; tensors load as zero-copy views of a
// private memory map.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "host/dtype.h"
#include "host/errors.h"
#include "host/tensor.h"

namespace pq {

// Header length above which a file is rejected (the reference reader's MAX_HEADER_SIZE).
inline constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

struct TensorInfo {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin;  // byte offsets into the data buffer that follows the header; end is one past
  uint64_t end;
};

class SafetensorsFile {
 public:
  // Maps the file (MAP_PRIVATE, so tensors may be written without touching the file) and
  // validates its header in time linear in its size. I/O failures throw std::system_error, a
  // malformed file (or a FIFO, a device: not a regular file) FormatError. A file truncated
  // while it is mapped makes the kernel raise SIGBUS on the next read of a lost page; the
  // mapping is registered with mapped_file_guard.h, whose handler turns that into an error line.
  static SafetensorsFile open(const std::filesystem::path& path);
  // The same over bytes in memory; `label` stands for the file name in messages.
  static SafetensorsFile from_buffer(std::vector<std::byte> bytes, std::string label);

  const std::filesystem::path& path() const { return path_; }  // empty for from_buffer
  const std::string& label() const { return label_; }

  // Sorted by data offset (then name), which is the order of the bytes in the file.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // The header's "__metadata__" (empty when absent).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  bool contains(std::string_view name) const;
  // Throws std::out_of_range for a name the file does not hold.
  const TensorInfo& info(std::string_view name) const;
  // A view into the file's memory when its address suits the element size; otherwise (files
  // from writers that do not align) a copy, so typed access is never misaligned.
  Tensor load(std::string_view name) const;

 private:
  SafetensorsFile(std::shared_ptr<Storage> bytes, std::filesystem::path path, std::string label);
  void parse_header();

  std::shared_ptr<Storage> bytes_;  // the whole file
  std::filesystem::path path_;
  std::string label_;
  uint64_t data_start_ = 0;  // 8 + N
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> index_by_name_;
  std::map<std::string, std::string> metadata_;
};

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// The complete file as bytes, laid out like the reference writer: "__metadata__" first, then
// tensors by descending dtype alignment and name (so every tensor is aligned to its element
// size), JSON compact and padded with spaces to a multiple of 8. Deterministic: the same
// input gives the same bytes. Names must be unique and valid UTF-8 (std::invalid_argument).
std::vector<std::byte> serialize_safetensors(const NamedTensors& tensors,
                                             const std::map<std::string, std::string>& metadata = {});

// Called after each tensor is written with the bytes of its data.
using TensorWritten = std::function<void(uint64_t bytes)>;

// Writes the same bytes atomically: a temporary file in the same directory, fsync'ed and
// renamed over `path`; on any failure (a full disk included) the temporary file is removed and
// `path` is untouched. Non-contiguous tensors are written in row-major order.
void save_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {}, const TensorWritten& on_tensor = {});

}  // namespace pq
