#include "host/checkpoint.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <iterator>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <system_error>

#include <nlohmann/json.hpp>

#include "host/atomic_file.h"
#include "host/json_fields.h"
#include "host/printable.h"

namespace pq {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

std::string single_quoted(std::string_view text) { return quote(text); }

// Shards live next to the index; an entry that climbs out of that directory is refused.
bool is_safe_relative_path(const std::string& file) {
  const fs::path path(file);
  if (file.empty() || path.is_absolute() || path.has_root_name()) return false;
  return std::none_of(path.begin(), path.end(), [](const fs::path& part) { return part == ".."; });
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string shard_file_name(size_t index, size_t count) {
  char name[64];
  std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", index + 1, count);
  return name;
}

}  // namespace

bool is_shard_file_name(std::string_view name) {
  constexpr std::string_view prefix = "model-";
  constexpr std::string_view suffix = ".safetensors";
  constexpr std::string_view separator = "-of-";
  if (!name.starts_with(prefix) || !name.ends_with(suffix)) return false;
  const std::string_view numbers = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  const size_t split = numbers.find(separator);
  if (split == std::string_view::npos) return false;
  const std::string_view index = numbers.substr(0, split);
  const std::string_view count = numbers.substr(split + separator.size());
  return index.size() >= 5 && count.size() >= 5 && all_digits(index) && all_digits(count);
}

// ---------------------------------------------------------------- reading

struct Checkpoint::State {
  struct Shard {
    fs::path path;
    std::string file_name;  // as the index spells it
    std::optional<SafetensorsFile> file;
  };

  fs::path index_path;  // empty for a single file
  std::vector<std::string> names;
  std::map<std::string, size_t, std::less<>> shard_of_tensor;
  std::vector<Shard> shards;  // never resized after open, so references into it stay valid
  std::optional<std::map<std::string, std::string>> merged_metadata;
  std::mutex mutex;  // guards opening shards and merging metadata

  [[noreturn]] void fail(const std::string& message) const {
    throw FormatError(index_path.string() + ": " + message);
  }
  [[noreturn]] void fail(std::string_view tensor, const std::string& message) const {
    fail("tensor " + single_quoted(tensor) + ": " + message);
  }

  size_t shard_index(std::string_view name) const {
    const auto it = shard_of_tensor.find(name);
    if (it == shard_of_tensor.end()) {
      const fs::path& where = index_path.empty() ? shards.front().path : index_path;
      throw std::out_of_range(where.string() + ": no tensor named " + single_quoted(name));
    }
    return it->second;
  }

  const SafetensorsFile& shard(size_t index) {
    const std::lock_guard lock(mutex);
    return open_shard_locked(index);
  }

  const SafetensorsFile& open_shard_locked(size_t index) {
    Shard& shard = shards[index];
    if (!shard.file) {
      SafetensorsFile file = SafetensorsFile::open(shard.path);
      // Kept only once it agrees with the index, so a bad shard fails on every use.
      if (!index_path.empty()) check_shard_against_index(index, file);
      shard.file.emplace(std::move(file));
    }
    return *shard.file;
  }

  void check_shard_against_index(size_t index, const SafetensorsFile& file) const {
    const std::string& shard_name = shards[index].file_name;
    for (const TensorInfo& tensor : file.tensors()) {
      const auto it = shard_of_tensor.find(tensor.name);
      if (it == shard_of_tensor.end()) {
        fail(tensor.name, "shard " + single_quoted(shard_name) + " holds this tensor but the index does not list it");
      }
      if (it->second != index) {
        fail(tensor.name, "present in two shards: the index maps it to " + single_quoted(shards[it->second].file_name) +
                              " but shard " + single_quoted(shard_name) + " holds it too");
      }
    }
    for (const auto& [name, shard] : shard_of_tensor) {
      if (shard == index && !file.contains(name)) {
        fail(name, "the index maps it to shard " + single_quoted(shard_name) + ", which has no such tensor");
      }
    }
  }

  const std::map<std::string, std::string>& metadata() {
    const std::lock_guard lock(mutex);
    if (!merged_metadata) {
      std::map<std::string, std::string> merged;
      for (size_t i = 0; i < shards.size(); ++i) {
        const auto& shard_metadata = open_shard_locked(i).metadata();
        merged.insert(shard_metadata.begin(), shard_metadata.end());  // insert keeps the first
      }
      merged_metadata = std::move(merged);
    }
    return *merged_metadata;
  }

  static std::unique_ptr<State> for_single_file(const fs::path& path) {
    auto state = std::make_unique<State>();
    state->shards.push_back(Shard{path, path.filename().string(), SafetensorsFile::open(path)});
    for (const TensorInfo& tensor : state->shards.front().file->tensors()) {
      state->shard_of_tensor.emplace(tensor.name, 0);
      state->names.push_back(tensor.name);
    }
    std::sort(state->names.begin(), state->names.end());
    return state;
  }

  static std::unique_ptr<State> for_index(const fs::path& index_path) {
    auto state = std::make_unique<State>();
    state->index_path = index_path;
    const json index = read_json_file(index_path.string());
    state->read_weight_map(JsonFields(index, index_path.string()));
    return state;
  }

  // transformers' index: {"metadata": {"total_size": N, ...}, "weight_map": {tensor: shard}}.
  void read_weight_map(const JsonFields& index) {
    if (index.has("metadata")) index.object("metadata").integer("total_size", 0, std::numeric_limits<int64_t>::max(), 0);
    if (!index.has("weight_map")) index.fail("weight_map", "missing: the index maps tensor names to shard files there");
    const JsonFields weight_map = index.object("weight_map");
    const auto entries = weight_map.members();
    if (entries.empty()) index.fail("weight_map", "empty: the index names no tensor");
    std::map<std::string, std::vector<std::string>> tensors_of_shard;
    for (const auto& [name, file] : entries) {
      if (name == "__metadata__") weight_map.fail(name, "is a name safetensors reserves, not a tensor");
      if (!file->is_string()) weight_map.fail(name, "expected a shard file name (a string)");
      const auto& file_name = file->get_ref<const std::string&>();
      if (!is_safe_relative_path(file_name)) {
        weight_map.fail(name, "shard " + single_quoted(file_name) + " is not a relative path inside the checkpoint directory");
      }
      tensors_of_shard[file_name].push_back(name);
      names.push_back(name);
    }
    const fs::path directory = index_path.parent_path();
    for (const auto& [file_name, tensors] : tensors_of_shard) {
      const fs::path path = directory / file_name;
      std::error_code error;  // a name the file system refuses (too long, ...) is an error of the index
      if (!fs::is_regular_file(path, error)) {
        const bool absent = !error || error == std::errc::no_such_file_or_directory;
        fail(tensors.front(), "the index maps it to shard " + single_quoted(file_name) + ", which " +
                                  (absent ? std::string("does not exist") : "cannot be looked up (" + error.message() + ")"));
      }
      for (const std::string& tensor : tensors) shard_of_tensor.emplace(tensor, shards.size());
      shards.push_back(Shard{path, file_name, std::nullopt});
    }
    std::sort(names.begin(), names.end());
  }
};

Checkpoint::Checkpoint(std::unique_ptr<State> state) : state_(std::move(state)) {}
Checkpoint::Checkpoint(Checkpoint&&) noexcept = default;
Checkpoint& Checkpoint::operator=(Checkpoint&&) noexcept = default;
Checkpoint::~Checkpoint() = default;

Checkpoint Checkpoint::open(const fs::path& path) {
  if (fs::is_directory(path)) {
    const fs::path single = path / kSingleCheckpointFileName;
    const fs::path index = path / kCheckpointIndexFileName;
    if (fs::exists(single)) return Checkpoint(State::for_single_file(single));
    if (fs::exists(index)) return Checkpoint(State::for_index(index));
    throw FormatError(path.string() + ": directory holds neither " + std::string(kSingleCheckpointFileName) +
                      " nor " + std::string(kCheckpointIndexFileName));
  }
  if (path.extension() == ".json") return Checkpoint(State::for_index(path));
  return Checkpoint(State::for_single_file(path));
}

const std::vector<std::string>& Checkpoint::names() const { return state_->names; }

bool Checkpoint::contains(std::string_view name) const { return state_->shard_of_tensor.contains(name); }

const TensorInfo& Checkpoint::info(std::string_view name) const {
  return state_->shard(state_->shard_index(name)).info(name);
}

Tensor Checkpoint::load(std::string_view name) const { return state_->shard(state_->shard_index(name)).load(name); }

const std::map<std::string, std::string>& Checkpoint::metadata() const { return state_->metadata(); }

std::vector<fs::path> Checkpoint::files() const {
  std::vector<fs::path> paths;
  for (const State::Shard& shard : state_->shards) paths.push_back(shard.path);
  return paths;
}

const fs::path& Checkpoint::index_path() const { return state_->index_path; }

void Checkpoint::verify() const {
  for (size_t i = 0; i < state_->shards.size(); ++i) state_->shard(i);
}

// ---------------------------------------------------------------- writing

namespace {

// Consecutive runs of `tensors` whose bytes fit in `max_shard_bytes` (a larger tensor alone).
std::vector<NamedTensors> split_into_shards(const NamedTensors& tensors, uint64_t max_shard_bytes) {
  std::vector<NamedTensors> shards(1);
  uint64_t current_bytes = 0;
  for (const auto& named : tensors) {
    const uint64_t bytes = named.second.nbytes();
    if (!shards.back().empty() && current_bytes + bytes > max_shard_bytes) {
      shards.emplace_back();
      current_bytes = 0;
    }
    shards.back().push_back(named);
    current_bytes += bytes;
  }
  return shards;
}

void check_unique_names(const NamedTensors& tensors) {
  std::set<std::string_view> names;
  for (const auto& named : tensors) {
    if (!names.insert(named.first).second) throw std::invalid_argument("tensor name " + single_quoted(named.first) + " appears twice");
  }
}

// The same text transformers writes (json.dumps(indent=2, sort_keys=True) + "\n").
std::string index_json(const std::vector<NamedTensors>& shards) {
  json index;
  uint64_t total_size = 0;
  index["weight_map"] = json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    for (const auto& [name, tensor] : shards[i]) {
      index["weight_map"][name] = shard_file_name(i, shards.size());
      total_size += tensor.nbytes();
    }
  }
  index["metadata"]["total_size"] = total_size;
  try {
    return index.dump(2, ' ', /*ensure_ascii=*/true) + "\n";
  } catch (const json::exception&) {
    throw std::invalid_argument("a tensor name is not valid UTF-8");
  }
}

void remove_if_present(const fs::path& path) {
  std::error_code ignored;
  fs::remove(path, ignored);
}

void remove_stale_shards(const fs::path& dir, const std::set<std::string>& keep) {
  std::vector<fs::path> stale;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && is_shard_file_name(name) && !keep.contains(name)) stale.push_back(entry.path());
  }
  for (const fs::path& path : stale) remove_if_present(path);
}

}  // namespace

void save_checkpoint(const fs::path& dir, const NamedTensors& tensors, const std::map<std::string, std::string>& metadata,
                     uint64_t max_shard_bytes, const std::function<void(uint64_t done, uint64_t total)>& on_bytes) {
  check_unique_names(tensors);
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.defined()) throw std::invalid_argument("tensor " + single_quoted(name) + " is undefined");
  }
  const std::vector<NamedTensors> shards = split_into_shards(tensors, max_shard_bytes);
  uint64_t total = 0, done = 0;
  for (const auto& named : tensors) total += named.second.nbytes();
  const TensorWritten on_tensor = [&](uint64_t bytes) {
    done += bytes;
    if (on_bytes) on_bytes(done, total);
  };
  fs::create_directories(dir);
  const fs::path index_path = dir / kCheckpointIndexFileName;
  const fs::path single_path = dir / kSingleCheckpointFileName;

  if (shards.size() == 1) {
    save_safetensors(single_path, shards.front(), metadata, on_tensor);
    remove_if_present(index_path);
    remove_stale_shards(dir, {});
    return;
  }
  const std::string index_text = index_json(shards);  // before touching the disk: it validates the names
  // Until the new index is in place the directory has no index at all, never one that
  // describes a mix of old and new shards.
  remove_if_present(index_path);
  std::set<std::string> written;
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string name = shard_file_name(i, shards.size());
    save_safetensors(dir / name, shards[i], metadata, on_tensor);
    written.insert(name);
  }
  remove_if_present(single_path);  // it would take precedence over the index
  write_file_atomically(index_path, index_text);
  remove_stale_shards(dir, written);
}

}  // namespace pq
