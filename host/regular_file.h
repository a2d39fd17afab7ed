// Opening files that a model directory names (configs, indexes, weights, tokenizers) without
// trusting what they are: a FIFO, a device node or a directory in their place is refused at
// once instead of blocking the open (a FIFO without a writer) or reading forever (/dev/zero).
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

namespace pq {

// An open file descriptor, closed by the destructor.
class FileHandle {
 public:
  explicit FileHandle(int fd) : fd_(fd) {}
  ~FileHandle();
  FileHandle(FileHandle&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileHandle& operator=(FileHandle&&) = delete;
  FileHandle(const FileHandle&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Opens `path` for reading (symbolic links followed); std::system_error when it cannot be
// opened, FormatError naming what it is when it is not a regular file.
FileHandle open_regular_file(const std::filesystem::path& path);
// Size in bytes of an open file.
size_t file_size(const FileHandle& file, const std::filesystem::path& path);

// The whole file, refused with FormatError when it is larger than `max_bytes`.
std::string read_regular_file(const std::filesystem::path& path, size_t max_bytes);

}  // namespace pq
