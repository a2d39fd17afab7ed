#include "host/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <system_error>

#include "host/interrupt_cleanup.h"
#include "host/printable.h"
#include "host/regular_file.h"
#include "host/stale_files.h"

namespace pq {
namespace {

constexpr size_t kBufferBytes = size_t{1} << 20;  // small writes (headers, tiny tensors) coalesce
constexpr int kCreateAttempts = 16;
constexpr const char* kTempTag = ".tmp.";

std::system_error io_error(const std::string& what, const std::filesystem::path& path) {
  return std::system_error(errno, std::generic_category(), what + " " + path.string());
}

std::string random_hex_suffix() {
  std::random_device device;
  char text[17];
  std::snprintf(text, sizeof text, "%08x%08x", device(), device());
  return text;
}

std::filesystem::path temp_path_for(const std::filesystem::path& target) {
  const std::string name = "." + target.filename().string() + kTempTag + std::to_string(::getpid()) + "." + random_hex_suffix();
  return target.parent_path() / name;
}

// Makes the rename itself durable. Some file systems refuse fsync on directories; the data
// is already safe by then, so that is not worth failing the save for.
void sync_directory(const std::filesystem::path& directory) {
  const std::filesystem::path dir = directory.empty() ? std::filesystem::path(".") : directory;
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// rename() would replace whatever is there: a device node (/dev/null as root), a FIFO, the
// symbolic link rather than what it points to.
void check_target(const std::filesystem::path& target) {
  struct stat status {};
  if (::lstat(target.c_str(), &status) != 0) return;  // absent (or unreachable: open() will say)
  if (S_ISREG(status.st_mode)) return;
  const char* kind = S_ISLNK(status.st_mode) ? "a symbolic link" : S_ISDIR(status.st_mode) ? "a directory" : "not a regular file";
  throw std::invalid_argument("cannot write " + printable(target.string()) + ": it exists and is " + kind +
                              ", which a new file would replace");
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::filesystem::path target) : target_(std::move(target)) {
  if (target_.filename().empty()) throw std::invalid_argument("cannot write to '" + target_.string() + "': no file name");
  check_target(target_);
  remove_stale_siblings(target_, kTempTag);
  for (int attempt = 0; attempt < kCreateAttempts && fd_ < 0; ++attempt) {
    temp_path_ = temp_path_for(target_);
    // 0666 so the umask decides, as for any newly created file.
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && errno != EEXIST) throw io_error("cannot create", temp_path_);
  }
  if (fd_ < 0) throw io_error("cannot create a unique temporary file like", temp_path_);
  on_interrupt_ = std::make_unique<RemoveOnInterrupt>(temp_path_);
  buffer_.reserve(kBufferBytes);
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

void AtomicFileWriter::write(std::span<const std::byte> bytes) {
  if (buffer_.size() + bytes.size() > kBufferBytes) flush_buffer();
  if (bytes.size() >= kBufferBytes) {
    write_fully(bytes.data(), bytes.size());
  } else {
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  }
}

void AtomicFileWriter::write(std::string_view text) { write(std::as_bytes(std::span<const char>(text))); }

void AtomicFileWriter::flush_buffer() {
  write_fully(buffer_.data(), buffer_.size());
  buffer_.clear();
}

void AtomicFileWriter::write_fully(const std::byte* data, size_t size) {
  while (size > 0) {
    const ssize_t written = ::write(fd_, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw io_error("cannot write", temp_path_);
    }
    data += written;
    size -= static_cast<size_t>(written);
  }
}

void AtomicFileWriter::commit() {
  if (committed_ || fd_ < 0) throw std::logic_error("AtomicFileWriter::commit called twice");
  flush_buffer();
  if (::fsync(fd_) != 0) throw io_error("cannot fsync", temp_path_);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) throw io_error("cannot close", temp_path_);
  check_target(target_);  // again: something may have appeared there meanwhile
  if (::rename(temp_path_.c_str(), target_.c_str()) != 0) throw io_error("cannot rename " + temp_path_.string() + " to", target_);
  committed_ = true;
  sync_directory(target_.parent_path());
}

void write_file_atomically(const std::filesystem::path& target, std::string_view contents) {
  AtomicFileWriter writer(target);
  writer.write(contents);
  writer.commit();
}

void copy_atomically(const std::filesystem::path& from, const std::filesystem::path& to) {
  if (std::filesystem::is_directory(from)) {
    std::filesystem::create_directories(to);
    for (const auto& entry : std::filesystem::directory_iterator(from)) copy_atomically(entry.path(), to / entry.path().filename());
    return;
  }
  const FileHandle source = open_regular_file(from);
  AtomicFileWriter writer(to);
  std::vector<std::byte> chunk(kBufferBytes);
  for (;;) {
    const ssize_t n = ::read(source.get(), chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw io_error("cannot read", from);
    }
    if (n == 0) break;
    writer.write(std::span<const std::byte>(chunk.data(), static_cast<size_t>(n)));
  }
  writer.commit();
}

}  // namespace pq
