#include "host/staging_dir.h"

#include <unistd.h>

#include <random>
#include <stdexcept>
#include <string>

namespace pq {
namespace fs = std::filesystem;
namespace {

fs::path sibling_for(const fs::path& target, const char* tag) {
  std::random_device rd;
  return target.parent_path() /
         ("." + target.filename().string() + tag + std::to_string(getpid()) + "." + std::to_string(rd()));
}

}  // namespace

StagingDir::StagingDir(const fs::path& target) : path_(sibling_for(fs::absolute(target), ".partial.")) {
  fs::create_directories(path_);
}

StagingDir::~StagingDir() {
  std::error_code ec;
  if (!published_) fs::remove_all(path_, ec);
}

void check_output_dir_free(const fs::path& target, bool overwrite) {
  if (fs::exists(target) && !overwrite) {
    throw std::invalid_argument(target.string() + " already exists (pass --force to replace it)");
  }
}

void StagingDir::publish_as(const fs::path& target_in, bool overwrite) {
  const fs::path target = fs::absolute(target_in);
  check_output_dir_free(target, overwrite);
  if (fs::exists(target)) {
    // Move the old directory aside first so the target never holds a mix of old and new files.
    const fs::path old = sibling_for(target, ".old.");
    fs::rename(target, old);
    fs::rename(path_, target);
    fs::remove_all(old);
  } else {
    fs::rename(path_, target);
  }
  published_ = true;
}

}  // namespace pq
