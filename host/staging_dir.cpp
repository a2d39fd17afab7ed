#include "host/staging_dir.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <stdexcept>
#include <string>
#include <system_error>

#include "host/interrupt_cleanup.h"
#include "host/model_dir_files.h"
#include "host/printable.h"
#include "host/stale_files.h"

namespace pq {
namespace fs = std::filesystem;
namespace {

constexpr const char* kPartialTag = ".partial.";
constexpr const char* kOldTag = ".old.";

fs::path sibling_for(const fs::path& target, const char* tag) {
  std::random_device rd;
  return target.parent_path() / ("." + target.filename().string() + tag + std::to_string(getpid()) + "." + std::to_string(rd()));
}

std::string shown(const fs::path& path) { return printable(path.string()); }

[[noreturn]] void refuse(const fs::path& target, const std::string& why) {
  throw std::invalid_argument(shown(target) + " " + why + "; --force only replaces a model directory that portaquant wrote");
}

// Whether `inner` is `outer` or lies inside it (both made absolute and resolved as far as they exist).
bool is_within(const fs::path& inner, const fs::path& outer) {
  const fs::path a = fs::weakly_canonical(fs::absolute(inner));
  const fs::path b = fs::weakly_canonical(fs::absolute(outer));
  auto ai = a.begin();
  for (auto bi = b.begin(); bi != b.end(); ++bi, ++ai) {
    if (bi->empty()) continue;  // a trailing separator
    if (ai == a.end() || *ai != *bi) return false;
  }
  return true;
}

void check_replaceable(const fs::path& target, const std::vector<fs::path>& inputs) {
  const fs::file_status status = fs::symlink_status(target);
  if (fs::is_symlink(status)) refuse(target, "is a symbolic link");
  if (!fs::is_directory(status)) refuse(target, "is not a directory");
  for (const fs::path& input : inputs) {
    if (!input.empty() && is_within(input, target)) refuse(target, "holds the input " + shown(input));
  }
  for (const fs::directory_entry& entry : fs::directory_iterator(target)) {
    if (!is_model_dir_entry(entry.path())) refuse(target, "holds " + quote(entry.path().filename().string()) + ", which is no model file");
  }
}

void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// rename(2) with flags (Linux 3.15+, glibc 2.28+); false when the file system cannot do it.
bool rename_with_flags(const fs::path& from, const fs::path& to, unsigned flags) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags) == 0) return true;
  if (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP) return false;
  throw std::system_error(errno, std::generic_category(), "cannot rename " + shown(from) + " to " + shown(to));
}

}  // namespace

StagingDir::StagingDir(const fs::path& target) : path_(sibling_for(fs::absolute(target), kPartialTag)) {
  const fs::path absolute = fs::absolute(target);
  remove_stale_siblings(absolute, kPartialTag);
  remove_stale_siblings(absolute, kOldTag);
  on_interrupt_ = std::make_unique<RemoveOnInterrupt>(path_);
  fs::create_directories(path_);
}

StagingDir::~StagingDir() {
  std::error_code ec;
  if (!published_) fs::remove_all(path_, ec);
}

void check_output_dir_free(const fs::path& target, bool overwrite, const std::vector<fs::path>& inputs) {
  if (!fs::exists(fs::symlink_status(target))) return;
  if (!overwrite) throw std::invalid_argument(shown(target) + " already exists (pass --force to replace it)");
  check_replaceable(target, inputs);
}

void StagingDir::publish_as(const fs::path& target_in, bool overwrite) {
  const fs::path target = fs::absolute(target_in);
  check_output_dir_free(target, overwrite);
  if (!fs::exists(fs::symlink_status(target))) {
    // NOREPLACE: a directory created there since the check is not silently replaced.
    if (!rename_with_flags(path_, target, RENAME_NOREPLACE)) fs::rename(path_, target);
  } else if (rename_with_flags(path_, target, RENAME_EXCHANGE)) {
    // path_ now holds the old contents; the destructor's remove_all would do, but not on error.
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  } else {
    // No atomic exchange on this file system: the old directory moves aside for an instant.
    const fs::path old = sibling_for(target, kOldTag);
    fs::rename(target, old);
    fs::rename(path_, target);
    fs::remove_all(old);
  }
  published_ = true;
  sync_directory(target.parent_path());
}

}  // namespace pq
