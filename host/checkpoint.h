// Model checkpoints as Hugging Face lays them out: one `model.safetensors`, or shards
// `model-00001-of-00003.safetensors` ... with `model.safetensors.index.json`
// ({"metadata": {"total_size": N}, "weight_map": {"<tensor>": "<shard file>", ...}}).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "host/safetensors.h"

namespace pq {

inline constexpr std::string_view kSingleCheckpointFileName = "model.safetensors";
inline constexpr std::string_view kCheckpointIndexFileName = "model.safetensors.index.json";

// "model-00001-of-00003.safetensors" (five digits or more, as transformers writes them).
bool is_shard_file_name(std::string_view name);

class Checkpoint {
 public:
  // `path` is a .safetensors file, an index .json file, or a directory holding
  // model.safetensors or model.safetensors.index.json (model.safetensors wins when both are
  // there, as in transformers). The index is read and checked at once (including that every
  // shard it names exists); each shard is opened, validated and cross-checked against the
  // index the first time one of its tensors is needed, and then kept open.
  static Checkpoint open(const std::filesystem::path& path);

  Checkpoint(Checkpoint&&) noexcept;
  Checkpoint& operator=(Checkpoint&&) noexcept;
  ~Checkpoint();

  const std::vector<std::string>& names() const;  // sorted
  bool contains(std::string_view name) const;
  // Both open the tensor's shard if needed; an unknown name throws std::out_of_range.
  const TensorInfo& info(std::string_view name) const;
  Tensor load(std::string_view name) const;
  // The shards' "__metadata__" merged (opens every shard; the first shard wins a conflict).
  const std::map<std::string, std::string>& metadata() const;
  // The safetensors files, in shard order.
  std::vector<std::filesystem::path> files() const;
  // The index file, or empty for a single-file checkpoint.
  const std::filesystem::path& index_path() const;
  // Opens every shard, so every cross-check between index and shards has run
  // (a tensor present in two shards is only seen once both are open).
  void verify() const;

 private:
  struct State;  // shared by all methods, which may be called from several threads at once
  explicit Checkpoint(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Writes `tensors` into `dir` (created if missing): `model.safetensors` when the tensors'
// bytes fit in `max_shard_bytes`, else shards `model-0000k-of-0000n.safetensors` plus
// `model.safetensors.index.json` (total_size = the sum of the tensors' bytes). Tensors fill
// shards in the order given; a tensor larger than the limit gets a shard of its own. Every
// shard carries `metadata`; every file is written atomically and the index last.
// Files of an earlier save that this one does not overwrite (a stale index, single file or
// shard `model-*-of-*.safetensors`) are removed, so the directory never describes a mix of
// old and new tensors; other files are left alone.
// `on_bytes` (optional) follows the tensors' bytes as they are written: (done, total).
void save_checkpoint(const std::filesystem::path& dir, const NamedTensors& tensors,
                     const std::map<std::string, std::string>& metadata, uint64_t max_shard_bytes,
                     const std::function<void(uint64_t done, uint64_t total)>& on_bytes = {});

}  // namespace pq
