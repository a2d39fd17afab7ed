#include "host/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "host/errors.h"

namespace pq {
namespace {

std::system_error io_error(const std::string& what, const std::filesystem::path& path) {
  return std::system_error(errno, std::generic_category(), what + " " + path.string());
}

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

FileHandle::~FileHandle() {
  if (fd_ >= 0) ::close(fd_);
}

FileHandle open_regular_file(const std::filesystem::path& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  FileHandle file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (file.get() < 0) throw io_error("cannot open", path);
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) throw io_error("cannot stat", path);
  if (!S_ISREG(status.st_mode)) {
    throw FormatError(path.string() + ": " + kind_of(status.st_mode) + ", not a regular file");
  }
  const int flags = ::fcntl(file.get(), F_GETFL);
  if (flags < 0 || ::fcntl(file.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) throw io_error("cannot configure", path);
  return file;
}

size_t file_size(const FileHandle& file, const std::filesystem::path& path) {
  struct stat status {};
  if (::fstat(file.get(), &status) != 0) throw io_error("cannot stat", path);
  return static_cast<size_t>(status.st_size);
}

std::string read_regular_file(const std::filesystem::path& path, size_t max_bytes) {
  const FileHandle file = open_regular_file(path);
  const size_t size = file_size(file, path);
  const auto too_large = [&] {
    return FormatError(path.string() + ": larger than " + std::to_string(max_bytes) + " bytes, the limit for this file");
  };
  if (size > max_bytes) throw too_large();
  std::string text;
  text.reserve(size);
  char chunk[65536];
  for (;;) {
    const ssize_t n = ::read(file.get(), chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw io_error("cannot read", path);
    }
    if (n == 0) break;
    text.append(chunk, static_cast<size_t>(n));
    if (text.size() > max_bytes) throw too_large();  // grew while being read
  }
  return text;
}

}  // namespace pq
