// Writes a file so that readers see either the previous contents or the complete new ones,
// never a half-written file: the bytes go to a temporary file in the same directory, which
// is flushed, fsync'ed and renamed over the target. Every write is checked (a full disk is an
// error, never a short file). An existing target must be a regular file: a device node, a
// FIFO, a directory or a symbolic link in its place is refused, not replaced.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace pq {

class RemoveOnInterrupt;

class AtomicFileWriter {
 public:
  // Creates `.<name>.tmp.<pid>.<random>` next to `target` (removed on SIGINT/SIGTERM/SIGHUP
  // with install_interrupt_cleanup(); those of dead processes are removed here).
  explicit AtomicFileWriter(std::filesystem::path target);
  // Removes the temporary file unless commit() succeeded, so an exception leaves nothing behind.
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(std::span<const std::byte> bytes);
  void write(std::string_view text);
  // Flushes, fsyncs, renames over the target and fsyncs the directory.
  void commit();

  const std::filesystem::path& target() const { return target_; }
  const std::filesystem::path& temp_path() const { return temp_path_; }

 private:
  void flush_buffer();
  void write_fully(const std::byte* data, size_t size);

  std::filesystem::path target_;
  std::filesystem::path temp_path_;
  int fd_ = -1;
  bool committed_ = false;
  std::vector<std::byte> buffer_;
  std::unique_ptr<RemoveOnInterrupt> on_interrupt_;
};

void write_file_atomically(const std::filesystem::path& target, std::string_view contents);

// Copies a regular file (symbolic links followed, as a Hugging Face cache holds them), or a
// directory tree of them, through AtomicFileWriter.
void copy_atomically(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace pq
